// Dead letters: what could not be processed, and why (GET /api/deadletters), newest
// first, refreshed every 30 s. User data is only ever set with textContent.
"use strict";

const DL_TOKEN_KEY = "feedwatch.token";
const DL_SHOWN = 20;
const DL_EVERY_MS = 30000;

function dlHeaders() {
  const t = localStorage.getItem(DL_TOKEN_KEY) || "";
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function dlTime(at) {
  return new Date(at * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function dlRow(d) {
  const li = document.createElement("li");
  const head = document.createElement("span");
  head.className = "dl-head";
  const place = d.partition < 0 ? d.topic : `${d.topic}[${d.partition}]@${d.offset}`;
  head.textContent = `${dlTime(d.at)} · ${d.stage} · ${d.camera || "no camera"} · ${place}`;
  const why = document.createElement("span");
  why.className = "dl-why";
  why.textContent = `${d.error_type}: ${d.message}`;
  li.append(head, why);
  return li;
}

async function loadDeadLetters() {
  const list = document.getElementById("deadletters");
  const counts = document.getElementById("deadletters-counts");
  const error = document.getElementById("deadletters-error");
  if (!list) return;
  try {
    const resp = await fetch(`/api/deadletters?limit=${DL_SHOWN}`, { headers: dlHeaders() });
    if (!resp.ok) throw new Error(`dead letters: HTTP ${resp.status}`);
    const page = await resp.json();
    error.textContent = "";
    const stages = Object.entries(page.by_stage).map(([s, n]) => `${n} ${s}`);
    counts.textContent = stages.length ? `by stage: ${stages.join(", ")}` : "none kept";
    list.replaceChildren(...page.dead_letters.map(dlRow));
  } catch (exc) {
    error.textContent = String(exc.message || exc);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  // a saved token reads them at once (app.js stores it on the same submit)
  document.getElementById("token-form").addEventListener(
    "submit", () => setTimeout(loadDeadLetters, 0));
  loadDeadLetters();
  setInterval(loadDeadLetters, DL_EVERY_MS);
});
