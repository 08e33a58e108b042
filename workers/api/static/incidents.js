// Incidents: the newest incidents with their snapshot; one opened shows its clip in a
// <video> player (or a download link where this browser cannot play the clip's codec,
// e.g. HEVC in Chromium), what was cut, and the answers timeline of its query and camera
// over the incident's span. Reads /api/incidents, /api/incidents/{id}/clips (signed,
// same-origin links: a <video> cannot send the token, and the CSP allows 'self' media
// only) and /api/answers. User data is only ever set with textContent / attributes.
"use strict";

const INC_TOKEN_KEY = "feedwatch.token";
const INC_REFRESH_MS = 10000;
const INC_LIST = 20;
const INC_ANSWERS = 500;
const INC_CONTEXT_S = 5; // timeline around an incident without a clip
const INC_MIME = {
  h264: 'video/mp4; codecs="avc1.42E01E"',
  hevc: 'video/mp4; codecs="hvc1.1.6.L93.B0"',
  av1: 'video/mp4; codecs="av01.0.05M.08"',
  vp9: 'video/mp4; codecs="vp09.00.10.08"',
};
const incState = { selected: null, clipKey: "", links: new Map() };

function incHeaders() {
  const t = localStorage.getItem(INC_TOKEN_KEY) || "";
  return t ? { Authorization: `Bearer ${t}` } : {};
}

async function incGet(path) {
  const resp = await fetch(path, { headers: incHeaders() });
  if (!resp.ok) throw new Error(`${path.split("?")[0]}: ${resp.status}`);
  return resp.json();
}

function incNode(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function incTime(t) {
  if (t === null || t === undefined) return "–";
  if (t < 1e9) return `t=${t.toFixed(1)} s`; // a file source: seconds from its start
  return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

// A signed link as a same-origin path: the public URL may name another host.
function incLocal(url) {
  const u = new URL(url, window.location.href);
  return `${u.pathname}${u.search}`;
}

// The clips listing with its signed links, kept while the incident does not change.
async function incLinks(inc) {
  const key = `${inc.id}@${inc.updated_at}`;
  const cached = incState.links.get(inc.id);
  if (cached && cached.key === key && Date.now() - cached.at < 60000) return cached.body;
  const body = await incGet(`/api/incidents/${encodeURIComponent(inc.id)}/clips`);
  incState.links.set(inc.id, { key, at: Date.now(), body });
  return body;
}

function incBest(clips) {
  for (const phase of ["close", "open"]) {
    const c = clips.find((x) => x.phase === phase && x.state === "ready");
    if (c) return c;
  }
  return clips.find((x) => x.phase === "close") || clips.find((x) => x.phase === "open") || null;
}

function incPlayable(codec) {
  const mime = INC_MIME[codec];
  return Boolean(mime) && document.createElement("video").canPlayType(mime) !== "";
}

function incClipNote(clip) {
  if (!clip) return "no clip cut yet";
  if (clip.state === "expired") return "no clip: the segments had expired before it was cut";
  if (clip.state === "skipped") return "no opening clip (the incident closed first)";
  if (clip.state === "failed") return `clip failed: ${clip.error || "unknown error"}`;
  return `${clip.codec} · ${clip.duration.toFixed(1)} s · ${(clip.bytes / 1024).toFixed(0)} KiB` +
    ` · from ${incTime(clip.start)} · event at +${clip.event_at.toFixed(1)} s (${clip.phase} clip)`;
}

function incDownload(href, codec) {
  const a = incNode("a", "inc-download", `download the clip (${codec || "mp4"})`);
  a.href = href;
  a.setAttribute("download", "");
  return a;
}

function incUnplayable(box, href, codec) {
  box.replaceChildren(incNode("p", "inc-cannot muted",
    `this browser cannot play ${codec || "this"} video`), incDownload(href, codec));
}

// Without a link key the API hands out no signed links (clip_url, snapshot_url are null):
// say so, and offer the clip through the token-checked route instead of a "/null" player.
function incNoLinks(box, inc, clip) {
  const get = incNode("button", "inc-download", `download the clip (${clip.codec || "mp4"})`);
  get.type = "button";
  get.addEventListener("click", async () => {
    const resp = await fetch(`/api/incidents/${encodeURIComponent(inc.id)}/clip`, { headers: incHeaders() });
    if (!resp.ok) { incNote(`clip: ${resp.status}`); return; }
    const a = incNode("a");
    a.href = URL.createObjectURL(await resp.blob());
    a.download = `incident-${inc.id}.mp4`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  });
  box.replaceChildren(incNode("p", "inc-no-links muted", "the clip cannot play here: this API " +
    "serves no signed links (start it with FEEDWATCH_LINK_KEY or FEEDWATCH_SECRETS_KEY set)"), get);
}

function incPlayer(box, links, clip) {
  const href = incLocal(links.clip_url);
  if (!incPlayable(clip.codec)) { incUnplayable(box, href, clip.codec); return; }
  const video = incNode("video", "inc-video");
  video.controls = true;
  video.muted = true; // clips carry no audio; muted lets play() start without a gesture
  video.preload = "auto";
  video.dataset.codec = clip.codec;
  video.dataset.duration = String(clip.duration);
  video.addEventListener("error", () => incUnplayable(box, href, clip.codec));
  video.addEventListener("timeupdate", () => incPlayhead(clip.start + video.currentTime));
  video.src = href;
  const jump = incNode("button", "inc-jump", "jump to the event");
  jump.type = "button";
  jump.addEventListener("click", () => { video.currentTime = clip.event_at; });
  box.replaceChildren(video, incNode("div", "inc-actions"));
  box.lastChild.append(jump, incDownload(href, clip.codec));
}

function incSpan(inc, clip) {
  if (clip && clip.state === "ready") return [clip.start, clip.start + clip.duration];
  const end = inc.closed_at === null ? inc.last_hit_at : inc.closed_at;
  return [inc.started_at - INC_CONTEXT_S, end + INC_CONTEXT_S];
}

function incPlayhead(t) {
  const bar = document.querySelector("#incident-view .inc-timeline");
  if (!bar) return;
  const [t0, t1] = [Number(bar.dataset.t0), Number(bar.dataset.t1)];
  const head = bar.querySelector(".inc-head");
  head.hidden = false;
  head.style.left = `${Math.min(Math.max((t - t0) / (t1 - t0), 0), 1) * 100}%`;
}

function incPct(t, t0, t1) {
  return `${Math.min(Math.max((t - t0) / (t1 - t0), 0), 1) * 100}%`;
}

function incStrip(inc, answers, t0, t1) {
  const bar = incNode("div", "inc-timeline");
  bar.dataset.t0 = String(t0);
  bar.dataset.t1 = String(t1);
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", `${answers.length} answers from ${incTime(t0)} to ${incTime(t1)}`);
  const end = inc.closed_at === null ? inc.last_hit_at : inc.closed_at;
  const band = incNode("span", "inc-band");
  band.style.left = incPct(inc.started_at, t0, t1);
  band.style.width = `calc(${incPct(end, t0, t1)} - ${incPct(inc.started_at, t0, t1)})`;
  band.title = `incident: ${incTime(inc.started_at)} – ${incTime(end)}`;
  bar.append(band);
  answers.forEach((a, i) => { // each answer owns the time since the previous window's end
    const step = i > 0 ? a.window_end - answers[i - 1].window_end
      : (answers.length > 1 ? answers[1].window_end - a.window_end : 1);
    const from = Math.max(a.window_start, a.window_end - Math.max(step, 0.1));
    const cls = a.matched === null ? "none" : a.matched ? "yes" : "no";
    const win = incNode("span", `win ${cls}`);
    win.style.left = incPct(from, t0, t1);
    win.style.width = `calc(${incPct(a.window_end, t0, t1)} - ${incPct(from, t0, t1)})`;
    win.title = `window ${incTime(a.window_start)} – ${incTime(a.window_end)} · ${a.text}`;
    bar.append(win);
  });
  const head = incNode("span", "inc-head");
  head.hidden = true;
  bar.append(head);
  return bar;
}

function incAnswerList(answers) {
  const list = incNode("ol", "inc-answers");
  for (const a of answers) {
    const cls = a.matched === null ? "none" : a.matched ? "yes" : "no";
    const score = a.score === null ? "" : ` · score ${a.score.toFixed(3)}`;
    const item = incNode("li", `inc-answer ${cls}`);
    item.append(incNode("span", "when", incTime(a.window_end)),
      incNode("span", `badge ${cls}`, a.matched === null ? "answer" : a.matched ? "yes" : "no"),
      incNode("span", "text", a.text), incNode("span", "muted", score));
    list.append(item);
  }
  if (!answers.length) list.append(incNode("li", "muted", "no answers stored over this span"));
  return list;
}

async function incTimeline(box, inc, clip) {
  const [t0, t1] = incSpan(inc, clip);
  const params = new URLSearchParams({ query_id: inc.query_id, camera: inc.camera_id,
    since: String(t0), until: String(t1), limit: String(INC_ANSWERS) });
  const page = await incGet(`/api/answers?${params}`);
  const answers = page.items.slice().sort((a, b) => a.window_end - b.window_end || a.id - b.id);
  const axis = incNode("div", "inc-axis muted");
  axis.append(incNode("span", "", incTime(t0)), incNode("span", "", incTime(t1)));
  box.replaceChildren(incNode("h4", "muted", `answers from ${incTime(t0)} to ${incTime(t1)}`),
    incStrip(inc, answers, Math.min(t0, t1 - 1e-6), t1), axis, incAnswerList(answers));
}

function incHeader(inc) {
  const end = inc.closed_at === null ? "still open" : `closed ${incTime(inc.closed_at)}`;
  const head = incNode("header", "inc-head-line");
  head.append(incNode("h3", "inc-question", inc.question),
    incNode("span", `inc-state ${inc.state}`, inc.state),
    incNode("span", "muted", `${inc.camera_id} · started ${incTime(inc.started_at)} · opened ` +
      `${incTime(inc.opened_at)} · ${end} · rule ${inc.rule_id} · ${inc.id}`));
  return head;
}

async function incOpen(inc) {
  const view = document.getElementById("incident-view");
  const links = await incLinks(inc);
  const clip = incBest(links.clips);
  const key = `${inc.id}|${clip ? `${clip.phase}:${clip.state}:${clip.bytes}` : "-"}`;
  const fresh = incState.selected !== inc.id;
  incState.selected = inc.id;
  view.hidden = false;
  view.dataset.incidentId = inc.id;
  if (fresh || key !== incState.clipKey) {
    const player = incNode("div", "inc-player");
    const snap = incNode("img", "inc-snapshot");
    snap.alt = `snapshot of incident ${inc.id}`;
    snap.hidden = !links.snapshot_url;
    if (links.snapshot_url) snap.src = incLocal(links.snapshot_url);
    snap.addEventListener("error", () => { snap.hidden = true; });
    const media = incNode("div", "inc-media");
    media.append(player, snap);
    view.replaceChildren(incHeader(inc), media, incNode("p", "inc-clip-note muted",
      incClipNote(clip)), incNode("div", "inc-answers-box"));
    if (clip && clip.state === "ready") {
      if (links.clip_url) incPlayer(player, links, clip); else incNoLinks(player, inc, clip);
    }
    incState.clipKey = key;
  }
  await incTimeline(view.querySelector(".inc-answers-box"), inc, clip);
}

function incItem(inc) {
  const item = incNode("li", `incident ${inc.state}`);
  item.dataset.incidentId = inc.id;
  const btn = incNode("button", "inc-open");
  btn.type = "button";
  const thumb = incNode("img", "inc-thumb");
  thumb.alt = "";
  thumb.hidden = true;
  thumb.addEventListener("load", () => { thumb.hidden = false; });
  btn.append(thumb, incNode("span", "inc-q", inc.question),
    incNode("span", `inc-state ${inc.state}`, inc.state),
    incNode("span", "muted", `${inc.camera_id} · ${incTime(inc.started_at)}`));
  btn.addEventListener("click", () => incOpen(inc).catch((e) => incNote(e.message)));
  incLinks(inc).then((l) => { if (l.snapshot_url) thumb.src = incLocal(l.snapshot_url); }).catch(() => {});
  item.append(btn);
  return item;
}

function incNote(message) {
  document.getElementById("incidents-error").textContent = message || "";
}

async function incRefresh() {
  const incidents = await incGet(`/api/incidents?limit=${INC_LIST}`);
  const list = document.getElementById("incidents");
  list.replaceChildren(...incidents.map(incItem));
  if (!incidents.length) list.append(incNode("li", "muted", "no incidents"));
  const open = incidents.find((i) => i.id === incState.selected);
  if (open) await incOpen(open);
  incNote("");
}

async function incShow(id) {
  const incidents = await incGet("/api/incidents?limit=1000");
  const inc = incidents.find((i) => i.id === id);
  if (!inc) { incNote(`incident ${id} is no longer stored`); return; }
  await incOpen(inc);
  document.getElementById("incident-view").scrollIntoView({ block: "nearest" });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("token-form");
  form.addEventListener("submit", () => setTimeout(() => incRefresh().catch((e) => incNote(e.message)), 0));
  document.addEventListener("feedwatch:incident", (e) => incShow(e.detail).catch((err) => incNote(err.message)));
  incRefresh().catch(() => {});
  setInterval(() => incRefresh().catch(() => {}), INC_REFRESH_MS);
});
