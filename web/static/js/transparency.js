// Transparent moderation: how many questions wait for approval, were merged or declined, and
// how many chat messages were removed. Counts only, pushed on the page's one session socket
// (live.js) when they change; the texts and their authors never reach this page.
import { formatNumber } from "./i18n.js";
import { liveSocket } from "./live.js";

const KINDS = ["pending", "merged", "declined", "removed"];

for (const box of document.querySelectorAll("[data-moderation-counts]")) {
  liveSocket(box.dataset.moderationCounts).on("moderation", (counts) => {
    for (const kind of KINDS) {
      const cell = box.querySelector(`[data-count="${kind}"]`);
      if (cell) cell.textContent = formatNumber(counts[kind] || 0);
    }
    box.hidden = false;
  });
}
