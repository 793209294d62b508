// The programme: a live badge and viewer count on each session, refreshed now and then.

import { tn } from "./i18n.js";
import { fetchStatus, statusUrl } from "./status.js";

const REFRESH_MS = 15000;

async function refresh(card) {
  const status = await fetchStatus(statusUrl(card.dataset.session));
  if (!status) return; // keep what is shown; the next round tries again
  card.dataset.live = String(Boolean(status.live));
  card.querySelector("[data-live-badge]").hidden = !status.live;
  const viewers = card.querySelector("[data-viewers]");
  viewers.hidden = !status.live;
  viewers.textContent = tn("programme.viewers", status.viewers);
}

function refreshAll() {
  if (document.hidden) return;
  document.querySelectorAll(".session-card[data-session]").forEach(refresh);
}

refreshAll();
setInterval(refreshAll, REFRESH_MS);
document.addEventListener("visibilitychange", refreshAll);
