// Why each answer is yes or no: per question card and camera, the tracker's absent level,
// the levels it turns and stays yes at, and one line on the newest verdict; a reset
// button forgets a camera's levels (after it was moved). Reads /api/queries/{id}/state.
// User data is only ever set with textContent / attributes.
"use strict";

const TR_TOKEN_KEY = "feedwatch.token";
const TR_REFRESH_MS = 5000;

function trHeaders() {
  const t = localStorage.getItem(TR_TOKEN_KEY) || "";
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function trNode(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function trLevel(value) {
  return value === null || value === undefined ? "—" : value.toFixed(3);
}

async function trReset(queryId, camera, card) {
  const path = `/api/queries/${encodeURIComponent(queryId)}/state?camera=${encodeURIComponent(camera)}`;
  const resp = await fetch(path, { method: "DELETE", headers: trHeaders() });
  const note = card.querySelector("section.tracker .tr-note");
  if (note) note.textContent = resp.ok ? `${camera}: levels reset` : `reset refused (${resp.status})`;
  trRender(card).catch(() => {});
}

function trCamera(queryId, t, card) {
  const row = trNode("div", `tr-camera ${t.status}`);
  row.dataset.camera = t.camera;
  const head = trNode("div", "tr-head");
  head.append(
    trNode("strong", "", t.camera),
    trNode("span", `tr-status ${t.status}`, t.status),
    trNode("span", "muted", `absent level ${trLevel(t.absent_level)} · spread ${trLevel(t.spread)}` +
      ` · turns yes at ${trLevel(t.turns_yes_at)} · stays yes at ${trLevel(t.stays_yes_at)}` +
      ` · ${t.absent_windows}/${t.windows} windows absent · ${t.corrections} corrections`),
  );
  const reset = trNode("button", "tr-reset", "reset levels");
  reset.type = "button";
  reset.title = "Forget what this camera's tracker learned (after the camera was moved)";
  reset.addEventListener("click", () => trReset(queryId, t.camera, card));
  head.append(reset);
  row.append(head, trNode("div", "tr-why", t.why));
  return row;
}

async function trRender(card) {
  const queryId = card.dataset.queryId;
  const resp = await fetch(`/api/queries/${encodeURIComponent(queryId)}/state`, { headers: trHeaders() });
  if (!resp.ok) return;
  const body = await resp.json();
  let section = card.querySelector("section.tracker");
  if (!section) {
    section = trNode("section", "tracker");
    const anchor = card.querySelector("section.overtime");
    if (anchor) card.insertBefore(section, anchor); else card.append(section);
  }
  const note = section.querySelector(".tr-note") || trNode("div", "tr-note muted");
  const title = trNode("h4", "tr-title muted", `why yes or no (sensitivity ${body.sensitivity})`);
  section.replaceChildren(title, ...body.trackers.map((t) => trCamera(queryId, t, card)), note);
}

// Like the answers over time: only cards on screen are fetched, none while the tab is hidden.
onScreenSection(trRender, (card) => Boolean(card.querySelector("section.tracker")), TR_REFRESH_MS);
