// HLS when WebRTC cannot play: the watch page's player calls `hlsFallback(player, root)`.
//
// If the WHEP player has not gone live within FALLBACK_AFTER_MS while the session is live (or
// the browser has no WebRTC at all), the same <video> plays the session's live HLS
// (/hls/{id}/index.m3u8): natively where the browser plays HLS (Safari), else with the vendored
// hls.js over Media Source Extensions. The page says so, and offers to try WebRTC again.
// HLS carries H.264 only: for a publisher that sends VP8 (a browser that did not negotiate
// H.264) there is no HLS, and the page says that instead.

import { t } from "./i18n.js";

const FALLBACK_AFTER_MS = 6000;
const HLS_JS = "/static/vendor/hls.light.min.mjs";
const HLS_TYPE = "application/vnd.apple.mpegurl";
const HLS_VIDEO_CODECS = ["H264"];

/** `/whep/{id}` → `/hls/{id}/index.m3u8`. */
export function hlsUrlFor(endpoint) {
  const match = /\/whep\/([^/?#]+)/.exec(endpoint || "");
  return match ? `/hls/${match[1]}/index.m3u8` : null;
}

/** Plays one HLS playlist in a <video>; `stop()` gives the element back. */
export class HlsPlayback {
  constructor(video, url) {
    this.video = video;
    this.url = url;
    this.hls = null;
  }

  static nativelySupported(video) {
    return video.canPlayType(HLS_TYPE) !== "";
  }

  async start() {
    if (HlsPlayback.nativelySupported(this.video)) {
      this.video.src = this.url;
    } else {
      const { default: Hls } = await import(HLS_JS);
      if (!Hls.isSupported()) throw new Error("no Media Source Extensions");
      // No worker: the page's CSP admits scripts from this origin only (no blob: workers).
      this.hls = new Hls({ enableWorker: false, lowLatencyMode: false });
      this.hls.loadSource(this.url);
      this.hls.attachMedia(this.video);
    }
    this.video.play().catch(() => {}); // autoplay policy: the player's own controls offer play
  }

  stop() {
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute("src");
    this.video.load();
  }
}

function notice(root, onRetry, message = "player.hls.notice", button = "player.hls.retry") {
  const box = document.createElement("p");
  box.className = "player__notice";
  box.id = "player-hls-notice";
  box.setAttribute("role", "status");
  const text = document.createElement("span");
  text.textContent = `${t(message)} `;
  const retry = document.createElement("button");
  retry.type = "button";
  retry.className = "button button--quiet";
  retry.textContent = t(button);
  retry.addEventListener("click", onRetry);
  box.append(text, retry);
  root.after(box);
  return box;
}

/** Watch `player` (a WhepPlayer) and switch to HLS when WebRTC does not get going. */
export function hlsFallback(player, root, { afterMs = FALLBACK_AFTER_MS } = {}) {
  const url = hlsUrlFor(player.endpoint);
  if (!url) return null;
  let playback = null;
  let box = null;
  let timer = null;

  const useHls = async () => {
    if (playback || player.state === "live") return;
    const status = await player.currentStatus().catch(() => null);
    if (status && status.live === false) return arm(); // not live: nothing to fall back to
    // The codec is in the status JSON only (the session socket's presence has no codec).
    const detail = await player.fetchStatus().catch(() => null);
    if (detail && detail.video && !HLS_VIDEO_CODECS.includes(detail.video)) {
      // WebRTC is all there is: the player keeps trying; the button hides this and waits.
      const dismiss = () => {
        box?.remove();
        box = null;
        arm();
      };
      if (!box) box = notice(root, dismiss, "player.hls.unavailable", "player.hls.dismiss");
      return;
    }
    player.stop();
    root.dataset.transport = "hls";
    playback = new HlsPlayback(player.video, url);
    box = notice(root, retryWebRtc);
    try {
      await playback.start();
    } catch {
      retryWebRtc();
    }
  };

  const retryWebRtc = () => {
    playback?.stop();
    playback = null;
    box?.remove();
    box = null;
    delete root.dataset.transport;
    player.start();
    arm();
  };

  function arm() {
    clearTimeout(timer);
    timer = setTimeout(useHls, afterMs);
  }

  player.addEventListener("statechange", (event) => {
    const { state } = event.detail;
    if (state === "unsupported") useHls();
    else if (state === "live") clearTimeout(timer);
    else if (state === "reconnecting" && !playback) arm();
  });
  if (player.state === "unsupported") useHls();
  else arm();
  return { useHls, retryWebRtc };
}
