// The watch page's player: WHEP playback that keeps itself alive, and its controls.
//
// States: connecting → live; waiting (not started yet, 409) / ended (was live, now not);
// reconnecting (connection failed or frames stopped); missing (404); unsupported (no WebRTC).

import { formatNumber, t, tn } from "./i18n.js";
import {
  HttpError,
  backoffMs,
  closePeer,
  deleteResource,
  postOffer,
  retryAfterSeconds,
  sleep,
  waitForIceGathering,
} from "./rtc.js";

const HEALTH_INTERVAL_MS = 1000; // getStats cadence
const STALL_MS = 4000; // no new decoded frames for this long: reconnect (or ended)
const FIRST_FRAME_TIMEOUT_MS = 12000; // connected but nothing decoded: try again
const STABLE_SESSION_MS = 10000; // a session that lasted this long resets the backoff
const NOT_LIVE_RETRY_S = 2; // when a 409 has no Retry-After
const MISSING_RETRY_MS = 30000;
const STATUS_INTERVAL_MS = 5000;
const VOLUME_STORAGE_KEY = "stream.player.volume";

const STATUS_TEXT = {
  connecting: "watch.status.connecting",
  live: "watch.status.live",
  reconnecting: "watch.status.reconnecting",
  waiting: "watch.status.waiting",
  ended: "watch.status.ended",
  missing: "watch.status.missing",
  unsupported: "watch.status.unsupported",
};

const STATUS_DETAIL = {
  connecting: "watch.detail.connecting",
  reconnecting: "watch.detail.reconnecting",
  waiting: "watch.detail.waiting",
  ended: "watch.detail.ended",
  missing: "watch.detail.missing",
  unsupported: "watch.detail.unsupported",
};

/**
 * Counters that show media is flowing (decoded and received video frames, audio packets), and
 * how far behind live the picture is: half the round trip plus the jitter buffer's delay.
 */
async function mediaCounters(pc) {
  const counters = { decoded: null, received: 0, audio: 0, delayMs: null };
  const report = await pc.getStats();
  let bufferMs = null;
  let halfRttMs = 0;
  report.forEach((stats) => {
    if (stats.type === "candidate-pair" && stats.nominated && stats.currentRoundTripTime) {
      halfRttMs = (stats.currentRoundTripTime * 1000) / 2;
    }
    if (stats.type !== "inbound-rtp") return;
    if (stats.kind === "video") {
      counters.decoded = (counters.decoded ?? 0) + (stats.framesDecoded || 0);
      counters.received += stats.framesReceived || 0;
      if (stats.jitterBufferEmittedCount > 0) {
        bufferMs = (stats.jitterBufferDelay / stats.jitterBufferEmittedCount) * 1000;
      }
    } else if (stats.kind === "audio") {
      counters.audio += stats.packetsReceived || 0;
    }
  });
  if (bufferMs !== null) counters.delayMs = Math.round(bufferMs + halfRttMs);
  return counters;
}

/** WHEP playback of one session into a <video>, reconnecting by itself. */
export class WhepPlayer extends EventTarget {
  constructor({ endpoint, statusUrl, video }) {
    super();
    this.endpoint = endpoint;
    this.statusUrl = statusUrl;
    this.video = video;
    this.state = "idle";
    this.pc = null;
    this.resource = null;
    this.everLive = false;
    this.framesDecoded = 0;
    this.controller = null;
    this.wakeController = null;
  }

  start() {
    if (this.controller) return;
    if (typeof RTCPeerConnection !== "function") {
      this.setState("unsupported");
      return;
    }
    this.controller = new AbortController();
    this.run(this.controller.signal);
  }

  /** Stop playing and release the server's resource (safe during page unload). */
  stop() {
    this.controller?.abort();
    this.controller = null;
    this.teardown();
  }

  /** Try again now rather than after the current wait (the session has gone live). */
  wake() {
    this.wakeController?.abort();
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("statechange", { detail: { state } }));
  }

  async fetchStatus() {
    try {
      const response = await fetch(this.statusUrl, {
        cache: "no-store",
        signal: AbortSignal.timeout(5000),
      });
      return response.ok ? await response.json() : null;
    } catch {
      return null;
    }
  }

  async wait(ms, signal) {
    const wake = new AbortController();
    this.wakeController = wake;
    const signals = [signal, wake.signal];
    await sleep(ms, typeof AbortSignal.any === "function" ? AbortSignal.any(signals) : signal);
    if (this.wakeController === wake) this.wakeController = null;
  }

  async run(signal) {
    let failures = 0;
    while (!signal.aborted) {
      if (this.state !== "waiting" && this.state !== "ended") {
        this.setState(this.everLive ? "reconnecting" : "connecting");
      }
      const started = performance.now();
      let outcome;
      try {
        outcome = await this.session(signal);
      } catch (error) {
        outcome = error;
      }
      if (signal.aborted) break; // stop() has released everything (and may have restarted)
      this.teardown();

      if (outcome instanceof HttpError && outcome.status === 409) {
        // Not live (yet, or any more): wait as told, then offer again once the cheap status
        // endpoint says it is live, rather than building a peer connection every few seconds.
        this.setState(this.everLive ? "ended" : "waiting");
        failures = 0;
        const delay = retryAfterSeconds(outcome.retryAfter, NOT_LIVE_RETRY_S) * 1000;
        do {
          await this.wait(delay, signal);
        } while (!signal.aborted && (await this.fetchStatus())?.live === false);
        continue;
      }
      if (outcome instanceof HttpError && outcome.status === 404) {
        this.setState("missing");
        await this.wait(MISSING_RETRY_MS, signal);
        continue;
      }
      if (outcome === "ended") {
        this.setState("ended");
        failures = 0;
        continue; // the next offer meets a 409 and waits
      }
      if (performance.now() - started > STABLE_SESSION_MS) failures = 0;
      this.setState(this.everLive ? "reconnecting" : "connecting");
      await this.wait(backoffMs(failures), signal);
      failures += 1;
    }
  }

  /** One WHEP session: offer, answer, then watch its health until it ends (returns why). */
  async session(signal) {
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      if (this.video.srcObject !== stream) {
        this.video.srcObject = stream;
        this.video.play().catch(() => {}); // autoplay policy: the page shows a play button
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc);
    if (signal.aborted) return "aborted";
    const { answer, resource } = await postOffer(this.endpoint, pc.localDescription.sdp, {
      signal,
    });
    this.resource = resource;
    if (signal.aborted) return "aborted";
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    return this.monitor(pc, signal);
  }

  monitor(pc, signal) {
    return new Promise((resolve) => {
      const opened = performance.now();
      let lastDecoded = 0;
      let lastAudio = 0;
      let lastProgress = opened;
      let flowing = false;
      let busy = false;
      let finished = false;

      const finish = (outcome) => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        pc.removeEventListener("connectionstatechange", changed);
        signal.removeEventListener("abort", aborted);
        resolve(outcome);
      };
      const aborted = () => finish("aborted");
      const changed = () => {
        if (pc.connectionState === "failed" || pc.connectionState === "closed") finish("failed");
      };

      const tick = async () => {
        if (busy || finished) return;
        busy = true;
        try {
          const counters = await mediaCounters(pc);
          const now = performance.now();
          const paused = this.video.paused;
          const progressed =
            counters.decoded !== null
              ? counters.decoded > lastDecoded || (paused && counters.received > 0 && !flowing)
              : counters.audio > lastAudio;
          lastAudio = counters.audio;
          // Questions are stamped with the stream position the viewer saw (see qa.js).
          if (counters.delayMs !== null) this.video.dataset.liveDelayMs = String(counters.delayMs);
          if (counters.decoded !== null) {
            lastDecoded = Math.max(lastDecoded, counters.decoded);
            this.framesDecoded = lastDecoded;
          }
          if (progressed) {
            lastProgress = now;
            if (!flowing) {
              flowing = true;
              this.everLive = true;
              this.setState("live");
            }
          } else if (paused || document.hidden) {
            lastProgress = now; // a paused or hidden video may legitimately decode nothing
          } else if (!flowing && now - opened > FIRST_FRAME_TIMEOUT_MS) {
            finish("failed");
          } else if (flowing && now - lastProgress > STALL_MS) {
            const status = await this.fetchStatus();
            finish(status && !status.live ? "ended" : "stalled");
          }
        } catch {
          // getStats on a closing connection: the state change handler decides
        } finally {
          busy = false;
        }
      };

      const timer = setInterval(tick, HEALTH_INTERVAL_MS);
      pc.addEventListener("connectionstatechange", changed);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  teardown() {
    const { pc, resource } = this;
    this.pc = null;
    this.resource = null;
    if (resource) deleteResource(resource);
    if (pc) {
      closePeer(pc);
      this.video.srcObject = null;
    }
  }
}

// ---- The watch page's controls ---------------------------------------------------------------

function readVolume() {
  try {
    const stored = Number.parseFloat(localStorage.getItem(VOLUME_STORAGE_KEY) ?? "");
    return Number.isFinite(stored) && stored > 0 && stored <= 1 ? stored : 1;
  } catch {
    return 1;
  }
}

function saveVolume(volume) {
  try {
    localStorage.setItem(VOLUME_STORAGE_KEY, String(volume));
  } catch {
    // storage disabled: the volume just isn't remembered
  }
}

function isTypingTarget(target) {
  if (!(target instanceof Element)) return false;
  if (target instanceof HTMLElement && target.isContentEditable) return true;
  return Boolean(target.closest("textarea, select, input:not([type='range'])"));
}

function initWatchPage(root) {
  const video = root.querySelector("#player-video");
  const byId = (id) => document.getElementById(id);
  const playButton = byId("player-play");
  const muteButton = byId("player-mute");
  const unmuteButton = byId("player-unmute");
  const volume = byId("player-volume");
  const fullscreenButton = byId("player-fullscreen");
  const statusText = byId("player-status-text");
  const statusDetail = byId("player-status-detail");
  const messageTitle = byId("player-message-title");
  const messageDetail = byId("player-message-detail");
  const viewers = byId("player-viewers");
  const viewersText = byId("player-viewers-text");
  const viewersCount = byId("player-viewers-count");

  const player = new WhepPlayer({
    endpoint: root.dataset.endpoint,
    statusUrl: root.dataset.statusUrl,
    video,
  });
  window.streamPlayer = player; // for the end-to-end tests and for debugging
  let offerUnmute = true; // until the viewer first touches the sound controls

  const setLabel = (button, text) => {
    button.querySelector("[data-label]").textContent = text;
    button.title = `${text} (${button.getAttribute("aria-keyshortcuts").toUpperCase()})`;
  };

  const renderState = () => {
    const state = player.state;
    root.dataset.state = state;
    const title = t(STATUS_TEXT[state] ?? STATUS_TEXT.connecting);
    const detail = STATUS_DETAIL[state] ? t(STATUS_DETAIL[state]) : "";
    statusText.textContent = title;
    statusDetail.textContent = detail ? ` ${detail}` : "";
    messageTitle.textContent = title;
    messageDetail.textContent = detail;
    renderAudio();
  };

  const renderAudio = () => {
    root.dataset.muted = String(video.muted);
    setLabel(muteButton, t(video.muted ? "watch.unmute" : "watch.mute"));
    const level = video.muted ? 0 : video.volume;
    volume.value = String(level);
    volume.setAttribute(
      "aria-valuetext",
      t("watch.volume.value", { percent: formatNumber(Math.round(level * 100)) }),
    );
    // The big button is for the muted autoplay; once someone has chosen, the bar is enough.
    unmuteButton.hidden = !(offerUnmute && video.muted && player.state === "live");
  };

  const renderPlayback = () => {
    root.dataset.paused = String(video.paused);
    setLabel(playButton, t(video.paused ? "watch.play" : "watch.pause"));
  };

  const renderFullscreen = () => {
    const active = document.fullscreenElement === root;
    root.dataset.fullscreen = String(active);
    setLabel(fullscreenButton, t(active ? "watch.exit_fullscreen" : "watch.fullscreen"));
  };

  const setMuted = (muted) => {
    offerUnmute = false;
    if (!muted && video.volume === 0) video.volume = 0.5;
    video.muted = muted;
  };

  const toggleMute = () => setMuted(!video.muted);

  const togglePlay = () => {
    if (video.paused) video.play().catch(() => {});
    else video.pause();
  };

  const canFullscreen = Boolean(document.fullscreenEnabled || video.webkitEnterFullscreen);
  const toggleFullscreen = () => {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    } else if (document.fullscreenEnabled) {
      root.requestFullscreen().catch(() => {});
    } else if (video.webkitEnterFullscreen) {
      video.webkitEnterFullscreen(); // iPhone: only the video element itself can go full screen
    }
  };

  video.volume = readVolume();
  fullscreenButton.hidden = !canFullscreen;

  player.addEventListener("statechange", () => {
    renderState();
    if (player.state === "live") refreshStatus();
    else viewers.hidden = true;
  });
  video.addEventListener("volumechange", () => {
    if (!video.muted && video.volume > 0) saveVolume(video.volume);
    renderAudio();
  });
  video.addEventListener("play", renderPlayback);
  video.addEventListener("pause", renderPlayback);
  video.addEventListener("dblclick", toggleFullscreen);
  document.addEventListener("fullscreenchange", renderFullscreen);

  playButton.addEventListener("click", togglePlay);
  muteButton.addEventListener("click", toggleMute);
  fullscreenButton.addEventListener("click", toggleFullscreen);
  unmuteButton.addEventListener("click", () => {
    setMuted(false);
    if (video.paused) video.play().catch(() => {});
    muteButton.focus(); // the big button disappears: keep the focus somewhere sensible
  });
  volume.addEventListener("input", () => {
    const level = Number(volume.value);
    offerUnmute = false;
    if (level > 0) video.volume = level;
    video.muted = level === 0;
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTypingTarget(event.target)) return;
    const actions = { m: toggleMute, f: toggleFullscreen, k: togglePlay };
    const action = actions[event.key.toLowerCase()];
    if (!action) return;
    if (event.key.toLowerCase() === "f" && !canFullscreen) return;
    event.preventDefault();
    action();
  });

  // Viewer count (and a hint to retry at once when the session goes live).
  let refreshing = false;
  async function refreshStatus() {
    if (refreshing) return;
    refreshing = true;
    try {
      const status = await player.fetchStatus();
      if (!status) return;
      viewers.hidden = !(status.live && status.viewers > 0);
      viewersText.textContent = tn("watch.viewers", status.viewers);
      viewersCount.textContent = formatNumber(status.viewers);
      if (status.live && (player.state === "waiting" || player.state === "ended")) player.wake();
    } finally {
      refreshing = false;
    }
  }
  setInterval(() => {
    // While waiting the player polls the status itself (every Retry-After seconds).
    const waiting = player.state === "waiting" || player.state === "ended";
    if (!document.hidden && !waiting) refreshStatus();
  }, STATUS_INTERVAL_MS);

  // Leave the server's resource when the page goes away; resume if it comes back (bfcache).
  window.addEventListener("pagehide", () => player.stop());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) player.start();
  });

  renderState();
  renderPlayback();
  renderFullscreen();
  player.start();
  refreshStatus();
}

const root = document.getElementById("player");
if (root) initWatchPage(root);
