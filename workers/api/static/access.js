// What the token may do and whether the API answers. A read token gets the write actions
// (subscribe, unsubscribe, ✓/✗, reset levels) hidden with a note saying why, instead of
// each failing with a 403; an API that stops answering gets a banner saying since when,
// gone once it answers again (the live stream reconnects by itself). Reads /api/token
// and /health. User data is only ever set with textContent.
"use strict";

const AC_TOKEN_KEY = "feedwatch.token";
const AC_HEALTH_MS = 5000;
const acState = { downSince: null };

function acHeaders() {
  const t = localStorage.getItem(AC_TOKEN_KEY) || "";
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function acClock(ms) {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

async function acScopes() {
  const resp = await fetch("/api/token", { headers: acHeaders() });
  const scopes = resp.ok ? (await resp.json()).scopes : [];
  const readOnly = resp.ok && !scopes.includes("write");
  document.body.classList.toggle("read-only", readOnly);
  document.getElementById("access-note").textContent = readOnly
    ? "This token can only read: subscribing, unsubscribing, ✓/✗ and resetting levels " +
      "need a write token (FEEDWATCH_API_WRITE_TOKENS)." : "";
}

async function acHealth() {
  const banner = document.getElementById("offline");
  let up = false;
  try { up = (await fetch("/health", { cache: "no-store" })).ok; } catch (_err) { up = false; }
  if (up) {
    acState.downSince = null;
    banner.hidden = true;
    return;
  }
  acState.downSince = acState.downSince || Date.now();
  banner.hidden = false;
  banner.textContent = `The feedwatch API at ${window.location.host} does not answer since ` +
    `${acClock(acState.downSince)}: what this page shows is from before then. Start it ` +
    "again (feedwatch api, or feedwatch run --serve); the page reconnects by itself.";
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("token-form").addEventListener(
    "submit", () => setTimeout(() => acScopes().catch(() => {}), 0));
  acScopes().catch(() => {});
  setInterval(() => acHealth().catch(() => {}), AC_HEALTH_MS);
});
