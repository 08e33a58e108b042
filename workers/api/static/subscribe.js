// feedwatch dashboard: the subscribe form (plain JS, no build step; shares app.js's
// state and helpers). User data is only ever set with textContent / attributes.
"use strict";

function subscribeBody(form) {
  const data = new FormData(form);
  const picked = data.getAll("camera");
  return {
    question: data.get("question"),
    cameras: data.get("all") || !picked.length ? ["*"] : picked,
    every: Number(data.get("every")),
    window: Number(data.get("window")),
    answerer: data.get("answerer"),
  };
}

// The same question on the same cameras, every and window is answered twice (twice the
// work, two cards, two alerts) without a word: name the one there is instead.
function sameQuery(body) {
  const key = (q) => [q.question.trim().toLowerCase(), [...q.cameras].sort().join(","),
    q.every, q.window, q.answerer].join("|");
  const want = key(body);
  return [...state.queries.values()].map((e) => e.query).find((q) => key(q) === want);
}

async function onSubscribe(event) {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("subscribe-error");
  const body = subscribeBody(form);
  const twin = body.question && sameQuery(body);
  if (twin) {
    error.textContent = `already subscribed as ${twin.id} (same cameras, every, window and answerer): see its card below`;
    return;
  }
  try {
    const q = await api("/api/queries", { method: "POST", body: JSON.stringify(body) });
    error.textContent = "";
    form.elements.question.value = "";
    await addQuery(q);
    renderQueries();
  } catch (err) {
    error.textContent = err.message;
  }
}
