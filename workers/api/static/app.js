// feedwatch dashboard: plain JS, no build step. User data is only ever set with
// textContent / attributes, never parsed as HTML.
"use strict";

const TOKEN_KEY = "feedwatch.token";
const TIMELINE_MAX = 60;
const IMAGES_MAX = 300;
const state = { queries: new Map(), cameras: [], lastEventId: null, stream: null };
const images = new Map(); // evidence url -> object URL (evidence never changes)

// ---------------------------------------------------------------- helpers

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key === "style") Object.assign(node.style, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function token() { return localStorage.getItem(TOKEN_KEY) || ""; }

function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

function fmtTime(t) {
  if (t === null || t === undefined) return "–";
  if (t < 1e9) return `t=${t.toFixed(1)} s`; // a file source: seconds from its start
  return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function describeError(body, status) {
  if (body && Array.isArray(body.detail)) {
    return body.detail
      .map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${String(d.msg).replace(/^Value error, /, "")}`)
      .join("; ");
  }
  if (body && typeof body.detail === "string") return `${status}: ${body.detail}`;
  return `request failed (${status})`;
}

async function api(path, options = {}) {
  const headers = authHeaders(options.body ? { "Content-Type": "application/json" } : {});
  const resp = await fetch(path, { ...options, headers }).catch(() => {
    throw new Error("the feedwatch API does not answer: is it running? Try again once it is");
  });
  if (resp.status === 204) return null;
  const body = await resp.json().catch(() => null);
  if (!resp.ok) throw new Error(describeError(body, resp.status));
  return body;
}

function showBanner(message) {
  document.getElementById("banner").textContent = message || "";
}

async function evidenceSrc(url) {
  if (images.has(url)) return images.get(url);
  const resp = await fetch(url, { headers: authHeaders() });
  if (!resp.ok) throw new Error(`evidence ${resp.status}`);
  const objectUrl = URL.createObjectURL(await resp.blob());
  images.set(url, objectUrl);
  if (images.size > IMAGES_MAX) { // forget the oldest keyframes
    const [oldUrl, oldObject] = images.entries().next().value;
    images.delete(oldUrl);
    URL.revokeObjectURL(oldObject);
  }
  return objectUrl;
}

// ---------------------------------------------------------------- queries

function queryMeta(q) {
  const cams = q.cameras.includes("*") ? "all cameras" : q.cameras.join(", ");
  return `${cams} · every ${q.every} s over ${q.window} s · ${q.answerer} · id ${q.id}`;
}

function createCard(q) {
  const card = document.getElementById("query-card").content.firstElementChild.cloneNode(true);
  card.dataset.queryId = q.id;
  card.querySelector(".question").textContent = q.question;
  card.querySelector(".meta").textContent = queryMeta(q);
  card.querySelector(".unsubscribe").addEventListener("click", () => unsubscribe(q.id));
  card.querySelector(".feedback .right").addEventListener("click", () => sendFeedback(q.id, true));
  card.querySelector(".feedback .wrong").addEventListener("click", () => sendFeedback(q.id, false));
  return card;
}

// A verdict on the latest answer: stored, and that question's decisions on that camera follow it.
async function sendFeedback(queryId, correct) {
  const entry = state.queries.get(queryId);
  const latest = entry && entry.answers[0];
  if (!latest) return;
  const status = entry.card.querySelector(".feedback-state");
  try {
    await api(`/api/answers/${latest.id}/feedback`, { method: "POST", body: JSON.stringify({ correct }) });
    entry.verdicts = { ...(entry.verdicts || {}), [latest.id]: correct };
    status.textContent = correct ? "marked right" : "marked wrong";
  } catch (err) {
    status.textContent = `feedback failed: ${err.message}`;
  }
}

function renderLatest(entry) {
  const card = entry.card;
  const latest = entry.answers[0];
  const badge = card.querySelector(".badge");
  if (!latest) {
    badge.className = "badge none";
    badge.textContent = "waiting";
    card.querySelector(".answer-text").textContent = "no answer yet";
    card.querySelector(".answer-meta").textContent = "";
    return;
  }
  const verdict = latest.matched === null ? "answer" : latest.matched ? "match" : "no match";
  badge.className = `badge ${latest.matched === null ? "none" : latest.matched ? "yes" : "no"}`;
  badge.textContent = verdict;
  card.querySelector(".answer-text").textContent = latest.text;
  const verdict0 = (entry.verdicts || {})[latest.id];
  card.querySelector(".feedback-state").textContent =
    verdict0 === undefined ? "" : verdict0 ? "marked right" : "marked wrong";
  const score = latest.score === null ? "" : ` · score ${latest.score.toFixed(3)}`;
  const stage = latest.stages && latest.stages.decided_by;
  const decided = stage ? ` · decided by ${stage === "vlm" ? "the VLM" : "CLIP"}` : "";
  card.querySelector(".answer-meta").textContent =
    `${latest.camera} · window ending ${fmtTime(latest.window_end)}${score}${decided} · ${latest.visual_tokens} tokens`;
}

function renderTimeline(entry) {
  const bar = entry.card.querySelector(".timeline");
  const answers = entry.answers;
  bar.replaceChildren();
  if (!answers.length) return;
  const t0 = Math.min(...answers.map((a) => a.window_start));
  const t1 = Math.max(...answers.map((a) => a.window_end));
  const span = Math.max(t1 - t0, 1e-6);
  for (const a of answers) {
    const cls = a.matched === null ? "none" : a.matched ? "yes" : "no";
    bar.append(el("span", {
      class: `win ${cls}`,
      title: `${fmtTime(a.window_start)} – ${fmtTime(a.window_end)} · ${a.camera} · ${a.text}`,
      style: { left: `${((a.window_start - t0) / span) * 100}%`, width: `${Math.max(((a.window_end - a.window_start) / span) * 100, 0.5)}%` },
    }));
  }
  entry.card.querySelector(".t0").textContent = fmtTime(t0);
  entry.card.querySelector(".t1").textContent = fmtTime(t1);
}

function renderEvidence(entry) {
  const box = entry.card.querySelector(".evidence");
  const latest = entry.answers[0];
  box.replaceChildren();
  if (!latest) return;
  for (const ev of latest.evidence) {
    const [x0, y0, x1, y1] = ev.box;
    const img = el("img", { alt: `keyframe at ${fmtTime(ev.t)}`, class: "keyframe" });
    const roi = el("span", {
      class: "roi",
      style: { left: `${x0 * 100}%`, top: `${y0 * 100}%`, width: `${(x1 - x0) * 100}%`, height: `${(y1 - y0) * 100}%` },
    });
    box.append(el("figure", {}, el("div", { class: "frame" }, img, roi), el("figcaption", { text: fmtTime(ev.t) })));
    evidenceSrc(ev.url).then((src) => { img.src = src; }).catch(() => { img.alt = "evidence unavailable"; });
  }
}

function renderEntry(entry) {
  renderLatest(entry);
  renderTimeline(entry);
  renderEvidence(entry);
}

function renderQueries() {
  const box = document.getElementById("queries");
  box.replaceChildren();
  if (!state.queries.size) box.append(el("p", { class: "muted", text: "no questions yet: subscribe one above" }));
  for (const entry of state.queries.values()) box.append(entry.card);
}

async function addQuery(q) {
  const entry = { query: q, answers: [], card: createCard(q) };
  state.queries.set(q.id, entry);
  const page = await api(`/api/answers?query_id=${encodeURIComponent(q.id)}&limit=${TIMELINE_MAX}`);
  entry.answers = page.items;
  renderEntry(entry);
}

async function loadQueries() {
  const queries = await api("/api/queries");
  state.queries.clear();
  await Promise.all(queries.map(addQuery));
  renderQueries();
}

function onAnswer(answer) {
  const entry = state.queries.get(answer.query_id);
  if (!entry) { refreshQueriesSoon(); return; }
  if (entry.answers.some((a) => a.id === answer.id)) return;
  entry.answers.unshift(answer);
  entry.answers.sort((a, b) => b.window_end - a.window_end || b.id - a.id);
  entry.answers.length = Math.min(entry.answers.length, TIMELINE_MAX);
  renderEntry(entry);
}

let refreshTimer = null;
function refreshQueriesSoon() {
  // An answer for a question subscribed elsewhere (CLI, another browser): reload once.
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; loadQueries().catch(() => {}); }, 1000);
}

async function unsubscribe(id) {
  try {
    await api(`/api/queries/${encodeURIComponent(id)}`, { method: "DELETE" });
    state.queries.delete(id);
    renderQueries();
    showBanner("");
  } catch (err) {
    showBanner(`unsubscribe failed: ${err.message}`);
  }
}

// ---------------------------------------------------------------- start

async function start() {
  if (state.stream) state.stream.abort();
  try {
    await loadCameras();
    await loadQueries();
    showBanner("");
  } catch (err) {
    showBanner(`${err.message} — enter a valid API token above`);
    return;
  }
  streamForever();
}

document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("token");
  input.value = token();
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN_KEY, input.value.trim());
    start();
  });
  document.getElementById("subscribe").addEventListener("submit", onSubscribe);
  document.querySelector("input[name=all]").addEventListener("change", (event) => {
    if (event.target.checked) document.querySelectorAll("input[name=camera]").forEach((c) => { c.checked = false; });
  });
  document.getElementById("camera-choices").addEventListener("change", (event) => {
    if (event.target.checked) document.querySelector("input[name=all]").checked = false;
  });
  setInterval(() => loadCameras().catch(() => {}), 10000);
  start();
});
