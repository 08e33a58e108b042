// feedwatch dashboard: the live answer stream (plain JS, no build step; shares app.js's
// state and helpers). User data is only ever set with textContent / attributes.
"use strict";


function setLive(on) {
  const badge = document.getElementById("live");
  badge.className = on ? "live on" : "live off";
  badge.textContent = on ? "live" : "offline";
}

function handleBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const [field, ...rest] = line.split(":");
    const value = rest.join(":").replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") state.lastEventId = value;
  }
  if (event === "answer" && data.length) onAnswer(JSON.parse(data.join("\n")));
}

async function readStream(signal) {
  const headers = authHeaders(state.lastEventId ? { "Last-Event-ID": state.lastEventId } : {});
  const resp = await fetch("/api/answers/stream", { headers, signal });
  if (!resp.ok) throw new Error(`stream ${resp.status}`);
  setLive(true);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      handleBlock(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
  }
}

async function streamForever() {
  const controller = new AbortController();
  state.stream = controller;
  while (!controller.signal.aborted) {
    try { await readStream(controller.signal); } catch (_err) { /* reconnect below */ }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
