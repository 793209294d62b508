// The player on the watch page and the embed: WHEP playback (./player/whep.js) and its
// controls (./player/controls.js).

import { hlsFallback } from "./hls-fallback.js";
import { initControls } from "./player/controls.js";
import { WhepPlayer } from "./player/whep.js";

const root = document.getElementById("player");
if (root) {
  const player = new WhepPlayer({
    endpoint: root.dataset.endpoint,
    statusUrl: root.dataset.statusUrl,
    video: root.querySelector("#player-video"),
  });
  window.streamPlayer = player; // for the end-to-end tests and for debugging
  initControls(root, player);
  window.streamHls = hlsFallback(player, root); // HLS when WebRTC cannot connect
}
