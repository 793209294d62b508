// The player's controls: state and message, play/pause, sound, volume, full screen, keyboard
// shortcuts (M, F, K) and the viewer count.

import { formatNumber, t, tn } from "../i18n.js";

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

/** Wire the controls inside `root` (the .player element) to `player`, a WhepPlayer. */
export function initControls(root, player) {
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
  const pushed = root.dataset.audience === "socket"; // the count comes on the session socket
  const viewersText = byId("player-viewers-text");
  const viewersCount = byId("player-viewers-count");

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
    if (player.state !== "live") viewers.hidden = true;
    else if (!pushed) refreshStatus();
    else if (player.presence) viewers.hidden = !(player.presence.viewers > 0);
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

  // Viewer count (and a hint to retry at once when the session goes live): pushed on the page's
  // session socket where there is one (audience.js), else asked of the status endpoint.
  root.addEventListener("stream:presence", (event) => {
    player.presence = event.detail;
    const waiting = player.state === "waiting" || player.state === "ended";
    if (event.detail?.live && waiting) player.wake();
  });
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
  if (!pushed) {
    setInterval(() => {
      // While waiting the player polls the status itself (every Retry-After seconds).
      const waiting = player.state === "waiting" || player.state === "ended";
      if (!document.hidden && !waiting) refreshStatus();
    }, STATUS_INTERVAL_MS);
  }

  // Leave the server's resource when the page goes away; resume if it comes back (bfcache).
  window.addEventListener("pagehide", () => player.stop());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) player.start();
  });

  renderState();
  renderPlayback();
  renderFullscreen();
  player.start();
  if (!pushed) refreshStatus();
}
