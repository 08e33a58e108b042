// Answers over time on each question card, per camera: a 24-hour strip of matched time
// (5-minute cells), a 7-day bar chart of matched minutes and the runs underneath, each
// linked to its first answer's evidence and to the incidents that overlap it. Reads
// /api/answers/summary and /api/answers/runs (the rollups). User data is only ever set
// with textContent / attributes.
"use strict";

const OT_TOKEN_KEY = "feedwatch.token";
const OT_REFRESH_MS = 15000;
const OT_RUNS = 8;
const OT_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function otHeaders() {
  const t = localStorage.getItem(OT_TOKEN_KEY) || "";
  return t ? { Authorization: `Bearer ${t}` } : {};
}

async function otGet(path) {
  const resp = await fetch(path, { headers: otHeaders() });
  if (!resp.ok) throw new Error(`${path.split("?")[0]}: ${resp.status}`);
  return resp.json();
}

function otNode(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function otClock(seconds) {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}h${String(m).padStart(2, "0")}m${rest}s` : `${m}m${rest}s`;
}

// The browser's own zone (days are its days), named, since the rest of the page shows UTC;
// the end of a run keeps its seconds, or a 20 s run read "06:16:44 – 06:16".
function otTime(t, withDate = true) {
  if (t < 1e9) return `t=${t.toFixed(0)} s`; // a file source: seconds from its start
  const d = new Date(t * 1000);
  const clock = { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" };
  const opts = withDate ? { month: "short", day: "numeric", ...clock } : clock;
  return d.toLocaleString(undefined, { ...opts, timeZone: OT_TZ });
}

function otQuery(params) {
  return Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
}

async function otCameras(queryId) {
  const q = await otGet(`/api/queries/${encodeURIComponent(queryId)}`);
  if (!q.cameras.includes("*")) return q.cameras;
  return (await otGet("/api/cameras")).map((c) => c.id);
}

function otStrip(summary) {
  const strip = otNode("div", "ot-strip");
  strip.setAttribute("role", "img");
  strip.setAttribute("aria-label", `matched time over 24 hours: ${otClock(summary.matched_s)}`);
  for (const b of summary.buckets) {
    const share = b.matched_s / (b.end - b.start);
    const cell = otNode("span", b.windows ? "cell" : "cell empty");
    if (share > 0) cell.style.opacity = String(0.25 + 0.75 * share);
    if (share > 0) cell.classList.add("hit");
    cell.title = `${otTime(b.start)} · ${otClock(b.matched_s)} matched · ${b.windows} windows`;
    strip.append(cell);
  }
  const axis = otNode("div", "ot-axis muted");
  if (summary.buckets.length) {
    axis.append(otNode("span", "", otTime(summary.buckets[0].start)),
      otNode("span", "", otTime(summary.buckets[summary.buckets.length - 1].end)));
  }
  return [strip, axis];
}

function otWeek(summary) {
  const chart = otNode("div", "ot-week");
  chart.setAttribute("role", "img");
  chart.setAttribute("aria-label", "matched minutes per day over 7 days");
  const top = Math.max(60, ...summary.buckets.map((b) => b.matched_s));
  for (const b of summary.buckets) {
    const bar = otNode("div", "bar");
    const fill = otNode("span", "fill");
    fill.style.height = `${(b.matched_s / top) * 100}%`;
    bar.title = `${b.local.slice(0, 10)}: ${(b.matched_s / 60).toFixed(1)} matched minutes`;
    bar.append(otNode("span", "value", (b.matched_s / 60).toFixed(1)), fill,
      otNode("span", "day", b.start < 1e9 ? `day ${Math.floor(b.start / 86400)}` : b.local.slice(5, 10)));
    chart.append(bar);
  }
  return chart;
}

async function otEvidence(detail, answerId) {
  const frames = detail.querySelector(".ot-frames");
  frames.replaceChildren(otNode("span", "muted", "loading evidence…"));
  const answer = await otGet(`/api/answers/${answerId}`);
  frames.replaceChildren();
  if (!answer.evidence.length) frames.append(otNode("span", "muted", "no evidence stored"));
  for (const ev of answer.evidence) {
    const resp = await fetch(ev.url, { headers: otHeaders() });
    if (!resp.ok) continue;
    const img = otNode("img", "ot-keyframe");
    img.alt = `keyframe at ${otTime(ev.t)}`;
    img.src = URL.createObjectURL(await resp.blob());
    const fig = otNode("figure");
    fig.append(img, otNode("figcaption", "muted", otTime(ev.t)));
    frames.append(fig);
  }
}

async function otIncident(detail, id) {
  const all = await otGet("/api/incidents?limit=1000");
  const inc = all.find((i) => i.id === id);
  detail.querySelector(".ot-note").replaceChildren(otNode("span", "ot-incident-detail", inc
    ? `incident ${inc.id} (rule ${inc.rule_id}): ${inc.state}, from ${otTime(inc.started_at)}`
      + (inc.closed_at ? ` to ${otTime(inc.closed_at)}` : "")
    : `incident ${id} is no longer stored`));
  if (inc) document.dispatchEvent(new CustomEvent("feedwatch:incident", { detail: id }));
}

function otRuns(page) {
  const list = otNode("ul", "ot-runs");
  const detail = otNode("div", "ot-detail");
  detail.append(otNode("div", "ot-frames"), otNode("div", "ot-note"));
  if (!page.items.length) list.append(otNode("li", "muted", "no runs in this period"));
  for (const r of page.items) {
    const item = otNode("li", r.open ? "run open" : "run");
    const peak = r.peak_score === null ? "" : ` · peak ${r.peak_score.toFixed(3)}`;
    const flags = (r.backfilled ? " · backfilled" : "") + (r.open ? " · ongoing" : "");
    item.append(otNode("span", "when", `${otTime(r.start)} – ${otTime(r.end, false)}`),
      otNode("span", "", ` ${otClock(r.duration_s)} (${otClock(r.matched_s)} matched)${peak}${flags}`));
    if (r.first_answer_id !== null) {
      const btn = otNode("button", "ot-link evidence-link", "evidence");
      btn.type = "button";
      btn.addEventListener("click", () => otEvidence(detail, r.first_answer_id).catch((e) => {
        detail.querySelector(".ot-note").textContent = e.message;
      }));
      item.append(btn);
    }
    for (const id of r.incident_ids) {
      const btn = otNode("button", "ot-link incident", `incident ${id.slice(0, 8)}`);
      btn.type = "button";
      btn.addEventListener("click", () => otIncident(detail, id).catch((e) => {
        detail.querySelector(".ot-note").textContent = e.message;
      }));
      item.append(btn);
    }
    list.append(item);
  }
  return [list, detail];
}

async function otCamera(queryId, camera) {
  const base = { query_id: queryId, camera };
  const [day, week, runs] = await Promise.all([
    otGet(`/api/answers/summary?${otQuery({ ...base, since: "24h", bucket: "5m", tz: OT_TZ })}`),
    otGet(`/api/answers/summary?${otQuery({ ...base, since: "7d", bucket: "1d", tz: OT_TZ })}`),
    otGet(`/api/answers/runs?${otQuery({ ...base, since: "24h", limit: OT_RUNS })}`),
  ]);
  const box = otNode("div", "ot-camera");
  box.dataset.camera = camera;
  box.append(otNode("h4", "", `${camera} · last 24 h: ${otClock(day.matched_s)} matched, ${day.runs} runs`));
  const charts = otNode("div", "ot-charts");
  const dayBox = otNode("div", "ot-day");
  dayBox.append(...otStrip(day));
  charts.append(dayBox, otWeek(week));
  box.append(charts, ...otRuns(runs));
  return box;
}

async function otRender(card) {
  const queryId = card.dataset.queryId;
  let section = card.querySelector("section.overtime");
  if (!section) {
    section = otNode("section", "overtime");
    section.append(otNode("h4", "ot-title muted", "answers over time"));
    card.append(section);
  }
  const cameras = await otCameras(queryId);
  const boxes = await Promise.all(cameras.map((c) => otCamera(queryId, c)));
  section.replaceChildren(otNode("h4", "ot-title muted", "answers over time"), ...boxes);
  section.dataset.loaded = "true";
}

// Drawn and refreshed only while the card is on screen (app.js: onScreenSection).
onScreenSection(otRender, (card) => Boolean(card.querySelector("section.overtime[data-loaded]")),
  OT_REFRESH_MS);
