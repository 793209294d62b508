// The watch page's viewer count, pushed on the page's session socket (live.js) whenever it
// changes (at most once a second), instead of asking the status endpoint for it.
import { formatNumber, tn } from "./i18n.js";
import { liveSocket } from "./live.js";

const player = document.getElementById("player");
const box = document.getElementById("player-viewers");
const text = document.getElementById("player-viewers-text");
const count = document.getElementById("player-viewers-count");

if (player?.dataset.session && box && text && count) {
  liveSocket(player.dataset.session).on("presence", ({ live, viewers }) => {
    box.hidden = !(live && viewers > 0);
    text.textContent = tn("watch.viewers", viewers);
    count.textContent = formatNumber(viewers);
    // The player wakes at once when the session goes live (player/controls.js).
    player.dispatchEvent(new CustomEvent("stream:presence", { detail: { live, viewers } }));
  });
}
