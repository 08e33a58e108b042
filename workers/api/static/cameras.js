// feedwatch dashboard: the cameras and their live status (plain JS, no build step; shares app.js's
// state and helpers). User data is only ever set with textContent / attributes.
"use strict";


function streamText(stream) {
  if (!stream) return "";
  const parts = [stream.codec];
  if (stream.width && stream.height) parts.push(`${stream.width}×${stream.height}`);
  if (stream.fps) parts.push(`${stream.fps.toFixed(1)} fps`);
  if (stream.gop_s) parts.push(`GOP ${stream.gop_s.toFixed(1)} s`);
  return parts.join(" · ");
}

function cameraSeen(cam) {
  if (cam.last_segment_at !== null) return `last segment ${fmtTime(cam.last_segment_at)}`;
  if (cam.last_answer_at !== null) return `last answer ${fmtTime(cam.last_answer_at)}`;
  return "no video seen yet";
}

function renderCameras() {
  const list = document.getElementById("cameras");
  const choices = document.getElementById("camera-choices");
  const picked = new Set([...choices.querySelectorAll("input:checked")].map((c) => c.value));
  list.replaceChildren();
  choices.replaceChildren();
  if (!state.cameras.length) list.append(el("li", { class: "muted", text: "no cameras yet" }));
  for (const cam of state.cameras) {
    list.append(el("li", { class: `camera ${cam.status}`, title: cam.detail || cam.status },
      el("span", { class: "dot" }),
      el("span", { class: "cam-id", text: cam.id }),
      el("span", { class: "cam-status", text: cam.status }),
      el("span", { class: "cam-stream muted", text: streamText(cam.stream) }),
      el("span", { class: "muted", text: cameraSeen(cam) })));
    const box = el("input", { type: "checkbox", name: "camera", value: cam.id });
    box.checked = picked.has(cam.id); // a refresh keeps what the user ticked
    choices.append(el("label", { class: "check" }, box, ` ${cam.id}`));
  }
}

async function loadCameras() {
  state.cameras = await api("/api/cameras");
  renderCameras();
}
