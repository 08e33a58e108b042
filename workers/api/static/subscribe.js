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

// The API takes at most data-max characters (QUESTION_MAX): a longer question is refused
// here, saying both numbers, instead of being cut mid-word by a maxlength.
function questionTooLong(input) {
  const max = Number(input.dataset.max);
  const length = [...input.value].length; // characters, as the API counts them
  return length > max ? `the question is ${length} characters; at most ${max} are allowed: shorten it` : "";
}

function onQuestionInput(event) {
  const input = event.target;
  const note = document.getElementById("question-length");
  const refusal = questionTooLong(input);
  note.textContent = refusal || ([...input.value].length > Number(input.dataset.max) * 0.8
    ? `${[...input.value].length} of ${input.dataset.max} characters` : "");
  note.classList.toggle("error", Boolean(refusal));
  input.setCustomValidity(refusal);
}

async function onSubscribe(event) {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("subscribe-error");
  const refusal = questionTooLong(form.elements.question);
  if (refusal) {
    error.textContent = refusal;
    form.elements.question.focus();
    return;
  }
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
    document.getElementById("question-length").textContent = "";
    await addQuery(q);
    renderQueries();
  } catch (err) {
    error.textContent = err.message;
  }
}
