// feedwatch dashboard: a question card, one row per camera the question watches (plain JS,
// no build step; shares app.js's state and helpers). Each row is that camera's latest
// answer, its keyframes with the RoI box, its own timeline bar and its "why" link. A card
// is fetched once, in one request for all its cameras, when it first comes on screen; the
// live stream keeps it current after that. User data is only ever set with textContent.
"use strict";

const PER_CAMERA = 20; // windows on a row's timeline
const ROWS_SHOWN = 6; // rows shown besides the cameras answering yes, until "show all"

function verdictClass(a) { return a.matched === null ? "none" : a.matched ? "yes" : "no"; }

function createRow(entry, camera) {
  const row = document.getElementById("camera-row").content.firstElementChild.cloneNode(true);
  row.dataset.camera = camera;
  row.querySelector(".row-camera").textContent = camera;
  const cam = { camera, answers: [], verdicts: {}, row };
  row.querySelector(".feedback .right").addEventListener("click", () => sendFeedback(entry, cam, true));
  row.querySelector(".feedback .wrong").addEventListener("click", () => sendFeedback(entry, cam, false));
  row.querySelector(".why").addEventListener("click", (event) => { event.preventDefault(); showWhy(entry, camera); });
  return cam;
}

// The "why" link: this camera's line of the card's tracker section (tracker.js).
function showWhy(entry, camera) {
  const line = [...entry.card.querySelectorAll("section.tracker .tr-camera")]
    .find((node) => node.dataset.camera === camera);
  const note = entry.card.querySelector(".rows-note");
  if (!line) { note.textContent = `${camera}: no learned levels yet (they come with its first clip answers)`; return; }
  note.textContent = "";
  line.classList.add("tr-focus");
  line.scrollIntoView({ block: "center" });
  setTimeout(() => line.classList.remove("tr-focus"), 2000);
}

// A verdict on this camera's latest answer: stored, and the question's decisions on it follow.
async function sendFeedback(entry, cam, correct) {
  const latest = cam.answers[0];
  if (!latest) return;
  const status = cam.row.querySelector(".feedback-state");
  try {
    await api(`/api/answers/${latest.id}/feedback`, { method: "POST", body: JSON.stringify({ correct }) });
    cam.verdicts[latest.id] = correct;
    status.textContent = correct ? "marked right" : "marked wrong";
  } catch (err) {
    status.textContent = `feedback failed: ${err.message}`;
  }
}

function renderLatest(cam) {
  const row = cam.row;
  const latest = cam.answers[0];
  const badge = row.querySelector(".badge");
  row.classList.toggle("has-answer", Boolean(latest));
  if (!latest) {
    badge.className = "badge none";
    badge.textContent = "waiting";
    row.querySelector(".answer-text").textContent = "no answer yet";
    row.querySelector(".answer-meta").textContent = "";
    return;
  }
  badge.className = `badge ${verdictClass(latest)}`;
  badge.textContent = latest.matched === null ? "answer" : latest.matched ? "match" : "no match";
  row.querySelector(".answer-text").textContent = latest.text;
  const verdict = cam.verdicts[latest.id];
  row.querySelector(".feedback-state").textContent =
    verdict === undefined ? "" : verdict ? "marked right" : "marked wrong";
  const score = latest.score === null ? "" : ` · score ${latest.score.toFixed(3)}`;
  const stage = latest.stages && latest.stages.decided_by;
  const decided = stage ? ` · decided by ${stage === "vlm" ? "the VLM" : "CLIP"}` : "";
  row.querySelector(".answer-meta").textContent =
    `window ending ${fmtTime(latest.window_end)}${score}${decided} · ${latest.visual_tokens} tokens`;
}

function renderTimeline(cam) {
  const bar = cam.row.querySelector(".timeline");
  const answers = cam.answers;
  bar.replaceChildren();
  if (!answers.length) return;
  const t0 = Math.min(...answers.map((a) => a.window_start));
  const t1 = Math.max(...answers.map((a) => a.window_end));
  const span = Math.max(t1 - t0, 1e-6);
  for (const a of answers) {
    bar.append(el("span", {
      class: `win ${verdictClass(a)}`,
      title: `${fmtTime(a.window_start)} – ${fmtTime(a.window_end)} · ${a.camera} · ${a.text}`,
      style: { left: `${((a.window_start - t0) / span) * 100}%`, width: `${Math.max(((a.window_end - a.window_start) / span) * 100, 0.5)}%` },
    }));
  }
  cam.row.querySelector(".t0").textContent = fmtTime(t0);
  cam.row.querySelector(".t1").textContent = fmtTime(t1);
}

function renderEvidence(cam) {
  const box = cam.row.querySelector(".evidence");
  const latest = cam.answers[0];
  box.replaceChildren();
  if (!latest) return;
  for (const ev of latest.evidence) {
    const [x0, y0, x1, y1] = ev.box;
    const img = el("img", { alt: `${cam.camera} keyframe at ${fmtTime(ev.t)}`, class: "keyframe" });
    const roi = el("span", {
      class: "roi",
      style: { left: `${x0 * 100}%`, top: `${y0 * 100}%`, width: `${(x1 - x0) * 100}%`, height: `${(y1 - y0) * 100}%` },
    });
    box.append(el("figure", {}, el("div", { class: "frame" }, img, roi), el("figcaption", { text: fmtTime(ev.t) })));
    evidenceSrc(ev.url).then((src) => { img.src = src; }).catch(() => { img.alt = "evidence unavailable"; });
  }
}

function renderRow(cam) {
  renderLatest(cam);
  renderTimeline(cam);
  renderEvidence(cam);
}

// Rows in a stable order: the cameras whose latest answer is yes first, then the rest,
// each group in the question's camera order. Yes rows always show; of the others, enough
// to fill ROWS_SHOWN, the rest behind "show all N cameras".
function layoutRows(entry) {
  const cams = [...entry.cams.values()];
  const yes = cams.filter((c) => c.answers[0] && c.answers[0].matched === true);
  const ordered = [...yes, ...cams.filter((c) => !yes.includes(c))];
  const shown = entry.showAll ? ordered.length : Math.max(ROWS_SHOWN, yes.length);
  const box = entry.card.querySelector(".rows");
  box.replaceChildren(...ordered.map((c) => c.row));
  ordered.forEach((c, i) => { c.row.hidden = i >= shown; });
  const more = entry.card.querySelector(".show-all");
  more.hidden = ordered.length <= Math.max(ROWS_SHOWN, yes.length);
  more.textContent = entry.showAll ? "show fewer cameras" : `show all ${ordered.length} cameras`;
  const summary = entry.card.querySelector(".rows-summary");
  summary.textContent = cams.length > 1 ? `${yes.length} of ${cams.length} cameras yes now` : "";
}

function cameraOf(entry, camera) {
  if (!entry.cams.has(camera)) entry.cams.set(camera, createRow(entry, camera));
  return entry.cams.get(camera);
}

async function loadCard(entry) {
  if (entry.loading) return entry.loading;
  entry.loading = (async () => {
    const id = encodeURIComponent(entry.query.id);
    const body = await api(`/api/queries/${id}/cameras?per_camera=${PER_CAMERA}`);
    for (const c of body.cameras) {
      const cam = cameraOf(entry, c.camera);
      const known = new Set(c.answers.map((a) => a.id));
      cam.answers = [...c.answers, ...cam.answers.filter((a) => !known.has(a.id))]; // + streamed meanwhile
      sortAnswers(cam);
      renderRow(cam);
    }
    entry.loaded = true;
    layoutRows(entry);
  })();
  entry.loading.catch(() => { entry.loading = null; }); // a failed load is tried again when seen
  return entry.loading;
}

function sortAnswers(cam) {
  cam.answers.sort((a, b) => b.window_end - a.window_end || b.id - a.id);
  cam.answers.length = Math.min(cam.answers.length, PER_CAMERA);
}

function onAnswer(answer) {
  const entry = state.queries.get(answer.query_id);
  if (!entry) { refreshQueriesSoon(); return; }
  if (!entry.loading) return; // not on screen yet: its first load brings this answer
  const cam = cameraOf(entry, answer.camera);
  if (cam.answers.some((a) => a.id === answer.id)) return;
  cam.answers.unshift(answer);
  sortAnswers(cam);
  renderRow(cam);
  if (entry.loaded) layoutRows(entry);
}

const cardSeen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (!e.isIntersecting) continue;
    const entry = state.queries.get(e.target.dataset.queryId);
    if (entry && entry.card === e.target && !entry.loaded) loadCard(entry).catch(() => {});
  }
}, { rootMargin: "300px 0px" });

function watchCard(entry) {
  entry.card.querySelector(".show-all").addEventListener("click", () => {
    entry.showAll = !entry.showAll;
    layoutRows(entry);
  });
  cardSeen.observe(entry.card);
}
