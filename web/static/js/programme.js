// The programme: a live badge and viewer count on each session, refreshed now and then.

import { tn } from "./i18n.js";

const REFRESH_MS = 15000;

async function refresh(card) {
  const id = card.dataset.session;
  try {
    const response = await fetch(`/api/sessions/${encodeURIComponent(id)}/status`, {
      cache: "no-store",
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return;
    const status = await response.json();
    card.dataset.live = String(Boolean(status.live));
    card.querySelector("[data-live-badge]").hidden = !status.live;
    const viewers = card.querySelector("[data-viewers]");
    viewers.hidden = !status.live;
    viewers.textContent = tn("programme.viewers", status.viewers);
  } catch {
    // keep what is shown; the next round tries again
  }
}

function refreshAll() {
  if (document.hidden) return;
  document.querySelectorAll(".session-card[data-session]").forEach(refresh);
}

refreshAll();
setInterval(refreshAll, REFRESH_MS);
document.addEventListener("visibilitychange", refreshAll);
