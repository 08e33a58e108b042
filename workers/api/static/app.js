// feedwatch dashboard: plain JS, no build step. User data is only ever set with
// textContent / attributes, never parsed as HTML.
"use strict";

const TOKEN_KEY = "feedwatch.token";
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
  return card;
}

function renderQueries() {
  const box = document.getElementById("queries");
  box.replaceChildren();
  if (!state.queries.size) box.append(el("p", { class: "muted", text: "no questions yet: subscribe one above" }));
  for (const entry of state.queries.values()) box.append(entry.card);
}

// A card's rows come from one request (card.js): made now for a new subscription, else
// when the card first comes on screen (a page of many questions fetches only those seen).
async function addQuery(q, now = true) {
  const entry = { query: q, cams: new Map(), card: createCard(q), loaded: false, loading: null, showAll: false };
  state.queries.set(q.id, entry);
  for (const camera of q.cameras.filter((c) => c !== "*")) cameraOf(entry, camera);
  layoutRows(entry);
  watchCard(entry);
  if (now) await loadCard(entry);
}

async function loadQueries() {
  const queries = await api("/api/queries");
  state.queries.clear();
  await Promise.all(queries.map((q) => addQuery(q, false)));
  renderQueries();
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

// A card section drawn only while its card is on screen (or near it), refreshed every
// `everyMs` while it is, and never while the tab is hidden: each camera of a card costs
// requests, so refreshing every card kept a page of 30 cameras x 10 questions at ~90
// requests a second. `drawn(card)` says whether the section was drawn once already.
function onScreenSection(render, drawn, everyMs) {
  const shown = new Set();
  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) { shown.delete(e.target); continue; }
      shown.add(e.target);
      if (!drawn(e.target)) render(e.target).catch(() => {});
    }
  }, { rootMargin: "300px 0px" });
  document.addEventListener("DOMContentLoaded", () => {
    const queries = document.getElementById("queries");
    new MutationObserver(() => {
      for (const card of queries.querySelectorAll("article.card[data-query-id]")) seen.observe(card);
    }).observe(queries, { childList: true });
    setInterval(() => {
      if (document.hidden) return;
      for (const card of shown) {
        if (card.isConnected) render(card).catch(() => {}); else shown.delete(card);
      }
    }, everyMs);
  });
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
  document.querySelector("#subscribe input[name=question]").addEventListener("input", onQuestionInput);
  document.querySelector("input[name=all]").addEventListener("change", (event) => {
    if (event.target.checked) document.querySelectorAll("input[name=camera]").forEach((c) => { c.checked = false; });
  });
  document.getElementById("camera-choices").addEventListener("change", (event) => {
    if (event.target.checked) document.querySelector("input[name=all]").checked = false;
  });
  setInterval(() => loadCameras().catch(() => {}), 10000);
  start();
});
