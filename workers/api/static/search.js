// Search over stored video: a text box, a grid of moments, a viewer with the box.
"use strict";

const SEARCH_TOKEN_KEY = "feedwatch.token";

function searchHeaders() {
  const t = localStorage.getItem(SEARCH_TOKEN_KEY) || "";
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function momentTime(t) {
  if (t < 1e9) return `t=${t.toFixed(1)} s`;
  return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

async function thumbnailUrl(path) {
  const resp = await fetch(path, { headers: searchHeaders() });
  if (!resp.ok) throw new Error(`thumbnail ${resp.status}`);
  return URL.createObjectURL(await resp.blob());
}

function boxOverlay(box) {
  const div = document.createElement("div");
  div.className = "moment-box";
  if (!box) { div.hidden = true; return div; }
  const [x0, y0, x1, y1] = box;
  Object.assign(div.style, {
    left: `${x0 * 100}%`, top: `${y0 * 100}%`,
    width: `${(x1 - x0) * 100}%`, height: `${(y1 - y0) * 100}%`,
  });
  return div;
}

function framed(src, box, className) {
  const wrap = document.createElement("div");
  wrap.className = className;
  const img = document.createElement("img");
  img.src = src;
  img.alt = "frame";
  wrap.append(img, boxOverlay(box));
  return wrap;
}

function showMoment(item, src) {
  const viewer = document.getElementById("moment-viewer");
  const body = viewer.querySelector(".viewer-body");
  body.replaceChildren(framed(src, item.box, "viewer-frame"));
  const caption = document.createElement("p");
  caption.textContent = `${item.camera} · ${momentTime(item.t)} · score ${item.score.toFixed(3)}` +
    ` · ${item.frames} frames from ${momentTime(item.start)} to ${momentTime(item.end)}`;
  body.append(caption);
  viewer.showModal();
}

async function renderResults(items) {
  const grid = document.getElementById("search-results");
  grid.replaceChildren();
  if (!items.length) {
    grid.textContent = "no moments found";
    return;
  }
  for (const item of items) {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "moment";
    const label = document.createElement("span");
    label.textContent = `${item.camera} · ${momentTime(item.t)} · ${item.score.toFixed(3)}`;
    grid.append(card);
    try {
      const src = await thumbnailUrl(item.thumbnail);
      card.append(framed(src, item.box, "moment-frame"), label);
      card.addEventListener("click", () => showMoment(item, src));
    } catch (err) {
      card.append(label);
    }
  }
}

async function runSearch(event) {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("search-error");
  error.textContent = "";
  // the API takes at most data-max characters (QUESTION_MAX): say so, never cut the text
  const length = [...form.q.value].length;
  const max = Number(form.q.dataset.max);
  if (length > max) {
    error.textContent = `the search text is ${length} characters; at most ${max} are allowed: shorten it`;
    return;
  }
  const params = new URLSearchParams({ q: form.q.value, limit: form.limit.value || "12" });
  if (form.camera.value.trim()) params.append("camera", form.camera.value.trim());
  const resp = await fetch(`/api/search?${params}`, { headers: searchHeaders() });
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    error.textContent = body && typeof body.detail === "string" ? body.detail : `search failed (${resp.status})`;
    return;
  }
  await renderResults(body.items);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("search-form").addEventListener("submit", runSearch);
  document.getElementById("viewer-close").addEventListener("click", () => {
    document.getElementById("moment-viewer").close();
  });
});
