// The studio: publish the browser's camera and microphone to a session over WHIP.
//
// The publish key only ever travels in the Authorization header of WHIP requests. It is never
// put in a URL, never logged, and kept in sessionStorage (this tab only) if the arranger asks.

import { formatNumber, t } from "./i18n.js";
import {
  HttpError,
  backoffMs,
  closePeer,
  deleteResource,
  postOffer,
  sleep,
  waitForIceGathering,
} from "./rtc.js";

const RESOLUTIONS = {
  1080: { width: 1920, height: 1080, maxBitrate: 4_500_000 },
  720: { width: 1280, height: 720, maxBitrate: 2_500_000 },
  360: { width: 640, height: 360, maxBitrate: 800_000 },
};
const FRAME_RATE = 30;
const STATS_INTERVAL_MS = 1000;
const CONNECT_TIMEOUT_MS = 15000; // offer answered → ICE/DTLS connected
const DISCONNECTED_GRACE_MS = 6000; // "disconnected" that lasts this long counts as lost
const MAX_RECONNECT_ATTEMPTS = 6;
const METER_ARIA_INTERVAL_MS = 500;

const STATE_LABEL = {
  idle: "studio.state.idle",
  starting: "studio.state.starting",
  connecting: "studio.state.connecting",
  live: "studio.state.live",
  reconnecting: "studio.state.reconnecting",
  error: "studio.state.error",
};

const CONNECTION_LABEL = {
  new: "studio.connection.new",
  connecting: "studio.connection.connecting",
  connected: "studio.connection.connected",
  disconnected: "studio.connection.disconnected",
  failed: "studio.connection.failed",
  closed: "studio.connection.closed",
};

const LIMITATION_LABEL = {
  bandwidth: "studio.stats.limited.bandwidth",
  cpu: "studio.stats.limited.cpu",
};

const HTTP_ERROR = {
  401: "studio.error.unauthorized",
  403: "studio.error.forbidden",
  404: "studio.error.not_found",
  409: "studio.error.conflict",
};

const MEDIA_ERROR = {
  NotAllowedError: "studio.error.permission",
  SecurityError: "studio.error.permission",
  NotFoundError: "studio.error.no_device",
  OverconstrainedError: "studio.error.no_device",
  NotReadableError: "studio.error.device_busy",
  AbortError: "studio.error.device_busy",
};

/** A failure with a UI message of its own (and optionally the server's detail). */
class StudioError extends Error {
  constructor(messageKey, detail = "") {
    super(messageKey);
    this.name = "StudioError";
    this.messageKey = messageKey;
    this.detail = detail;
  }
}

function studioError(error) {
  if (error instanceof StudioError) return error;
  if (error instanceof HttpError) {
    return new StudioError(HTTP_ERROR[error.status] ?? "studio.error.server", error.detail);
  }
  if (error && MEDIA_ERROR[error.name]) return new StudioError(MEDIA_ERROR[error.name]);
  if (error instanceof TypeError || error?.name === "TimeoutError") {
    return new StudioError("studio.error.network");
  }
  return new StudioError("studio.error.server");
}

/** Order a transceiver's codecs so H.264 (constrained baseline, mode 1 first) is chosen. */
function preferH264(transceiver) {
  if (typeof transceiver.setCodecPreferences !== "function") return;
  const rank = (codec) => {
    if (codec.mimeType.toLowerCase() !== "video/h264") return 3;
    const fmtp = codec.sdpFmtpLine || "";
    if (!fmtp.includes("packetization-mode=1")) return 2;
    return fmtp.includes("profile-level-id=42e01f") ? 0 : 1;
  };
  // Browsers differ on whether a send-only transceiver takes sender or receiver capabilities.
  for (const source of [globalThis.RTCRtpSender, globalThis.RTCRtpReceiver]) {
    const codecs = source?.getCapabilities?.("video")?.codecs;
    if (!codecs?.some((codec) => rank(codec) < 3)) continue;
    try {
      transceiver.setCodecPreferences([...codecs].sort((a, b) => rank(a) - rank(b)));
      return;
    } catch {
      // try the other capability list; failing both, the browser's own order stands
    }
  }
}

/** One WHIP publication of a MediaStream. */
class WhipSession {
  constructor(endpoint, key) {
    this.endpoint = endpoint;
    this.key = key;
    this.pc = null;
    this.resource = null;
  }

  headers() {
    return { Authorization: `Bearer ${this.key}` };
  }

  async publish(stream, maxBitrate) {
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
    this.pc = pc;
    for (const track of stream.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      if (track.kind === "video") preferH264(transceiver);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc);
    const { answer, resource } = await postOffer(this.endpoint, pc.localDescription.sdp, {
      headers: this.headers(),
    });
    this.resource = resource;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    await this.setMaxBitrate(maxBitrate);
  }

  /** Resolve when ICE and DTLS are up; reject if they fail or take too long. */
  connected(timeoutMs = CONNECT_TIMEOUT_MS) {
    const pc = this.pc;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pc.connectionState === "connected") done(null);
        else if (pc.connectionState === "failed" || pc.connectionState === "closed") {
          done(new StudioError("studio.error.connection"));
        }
      };
      const done = (error) => {
        clearTimeout(timer);
        pc.removeEventListener("connectionstatechange", check);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => done(new StudioError("studio.error.connection")), timeoutMs);
      pc.addEventListener("connectionstatechange", check);
      check();
    });
  }

  /** The sender of the transceiver for `kind` (its track may have been replaced or stopped). */
  sender(kind) {
    const transceiver = this.pc
      ?.getTransceivers()
      .find((candidate) => candidate.receiver.track?.kind === kind);
    return transceiver?.sender ?? null;
  }

  async replaceTrack(kind, track) {
    await this.sender(kind)?.replaceTrack(track);
  }

  async setMaxBitrate(maxBitrate) {
    const sender = this.sender("video");
    if (!sender) return;
    try {
      const parameters = sender.getParameters();
      if (!parameters.encodings?.length) parameters.encodings = [{}];
      parameters.encodings[0].maxBitrate = maxBitrate;
      await sender.setParameters(parameters);
    } catch {
      // the browser's own rate control stays in charge
    }
  }

  /** End the publication: DELETE the resource (survives page unload) and close the peer. */
  close() {
    const { pc, resource } = this;
    this.pc = null;
    this.resource = null;
    const deleted = deleteResource(resource, this.headers());
    closePeer(pc);
    return deleted;
  }
}

function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const parts = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  return parts.map((part) => String(part).padStart(2, "0")).join(":");
}

function formatBitrate(bitsPerSecond) {
  if (bitsPerSecond >= 1_000_000) {
    const value = formatNumber(bitsPerSecond / 1_000_000, { maximumFractionDigits: 1 });
    return t("studio.stats.mbps", { value });
  }
  return t("studio.stats.kbps", { value: formatNumber(Math.round(bitsPerSecond / 1000)) });
}

function initStudio(root) {
  const byId = (id) => document.getElementById(id);
  const form = byId("studio-form");
  const keyInput = byId("studio-key");
  const keyToggle = byId("studio-key-toggle");
  const keyError = byId("studio-key-error");
  const remember = byId("studio-remember");
  const cameraSelect = byId("studio-camera");
  const micSelect = byId("studio-microphone");
  const resolutionSelect = byId("studio-resolution");
  const preview = byId("studio-preview");
  const placeholder = byId("studio-placeholder");
  const cameraOnButton = byId("studio-camera-on");
  const onAir = byId("studio-onair");
  const onAirClock = byId("studio-onair-clock");
  const stateLabel = byId("studio-state-label");
  const errorBox = byId("studio-error");
  const errorMessage = byId("studio-error-message");
  const errorDetail = byId("studio-error-detail");
  const goLiveButton = byId("studio-go-live");
  const stopButton = byId("studio-stop");
  const meterBar = byId("studio-meter-bar");
  const meterFill = byId("studio-meter-fill");
  const stat = {
    elapsed: byId("stat-elapsed"),
    bitrate: byId("stat-bitrate"),
    video: byId("stat-video"),
    connection: byId("stat-connection"),
  };

  const endpoint = root.dataset.endpoint;
  const storageKey = `stream.studio.key.${root.dataset.session}`;
  byId("studio-whip-url").textContent = new URL(endpoint, document.baseURI).href;

  let state = "idle";
  let stream = null;
  let session = null;
  let liveSince = null;
  let stopController = null;
  let statsTimer = null;
  let lastSample = null;
  let disconnectedTimer = null;

  // -- state and messages ------------------------------------------------------------------

  function setState(next) {
    state = next;
    root.dataset.state = next;
    stateLabel.textContent = t(STATE_LABEL[next]);
    const busy = next === "starting" || next === "connecting";
    const broadcasting = busy || next === "live" || next === "reconnecting";
    goLiveButton.disabled = broadcasting;
    stopButton.disabled = !broadcasting || next === "starting";
    keyInput.readOnly = broadcasting;
    onAir.hidden = !(next === "live" || next === "reconnecting");
    if (!broadcasting) {
      stopStats();
      liveSince = null;
      renderStats(null);
    }
  }

  function showError(error) {
    const failure = studioError(error);
    errorMessage.textContent = t(failure.messageKey);
    errorDetail.textContent = failure.detail ? t("studio.error.detail", { detail: failure.detail }) : "";
    errorDetail.hidden = !failure.detail;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorMessage.textContent = "";
    errorDetail.textContent = "";
  }

  // -- the key -----------------------------------------------------------------------------

  try {
    const stored = sessionStorage.getItem(storageKey);
    if (stored) {
      keyInput.value = stored;
      remember.checked = true;
    }
  } catch {
    // storage disabled
  }

  function rememberKey(key) {
    try {
      if (remember.checked && key) sessionStorage.setItem(storageKey, key);
      else sessionStorage.removeItem(storageKey);
    } catch {
      // storage disabled: nothing remembered
    }
  }

  remember.addEventListener("change", () => rememberKey(keyInput.value.trim()));

  keyToggle.addEventListener("click", () => {
    const show = keyInput.type === "password";
    keyInput.type = show ? "text" : "password";
    keyToggle.setAttribute("aria-pressed", String(show));
    keyToggle.textContent = t(show ? "studio.key.hide" : "studio.key.show");
  });

  keyInput.addEventListener("input", () => {
    keyInput.removeAttribute("aria-invalid");
    keyError.hidden = true;
    if (remember.checked) rememberKey(keyInput.value.trim());
  });

  // -- camera and microphone ---------------------------------------------------------------

  const resolution = () => RESOLUTIONS[resolutionSelect.value] ?? RESOLUTIONS[720];

  function videoConstraints() {
    const { width, height } = resolution();
    const constraints = {
      width: { ideal: width },
      height: { ideal: height },
      frameRate: { ideal: FRAME_RATE, max: FRAME_RATE },
    };
    if (cameraSelect.value) constraints.deviceId = { exact: cameraSelect.value };
    return constraints;
  }

  function audioConstraints() {
    const constraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (micSelect.value) constraints.deviceId = { exact: micSelect.value };
    return constraints;
  }

  function fillDevices(select, devices, fallbackKey, selectedId) {
    const options = devices.map(
      (device, index) =>
        new Option(
          device.label || t(fallbackKey, { n: index + 1 }),
          device.deviceId,
          false,
          device.deviceId === selectedId,
        ),
    );
    if (!options.length) options.push(new Option(t("studio.devices.none"), ""));
    select.replaceChildren(...options);
    select.disabled = devices.length === 0;
  }

  async function refreshDevices() {
    if (!stream) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (kind) => stream.getTracks().find((track) => track.kind === kind)?.getSettings().deviceId;
    fillDevices(
      cameraSelect,
      devices.filter((device) => device.kind === "videoinput" && device.deviceId),
      "studio.devices.camera_n",
      current("video"),
    );
    fillDevices(
      micSelect,
      devices.filter((device) => device.kind === "audioinput" && device.deviceId),
      "studio.devices.microphone_n",
      current("audio"),
    );
  }

  let pendingMedia = null;

  /** The camera and microphone stream, asking for them once even if asked twice at once. */
  function startMedia() {
    pendingMedia ??= acquireMedia().catch((error) => {
      pendingMedia = null;
      throw error;
    });
    return pendingMedia;
  }

  async function acquireMedia() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new StudioError(window.isSecureContext ? "studio.error.unsupported" : "studio.error.insecure");
    }
    const acquired = await navigator.mediaDevices.getUserMedia({
      video: videoConstraints(),
      audio: audioConstraints(),
    });
    stream = acquired;
    preview.srcObject = stream;
    preview.play().catch(() => {});
    placeholder.hidden = true;
    startMeter();
    await refreshDevices();
    return stream;
  }

  /** Swap one kind's track (another device) in the preview and, when live, in the sender. */
  async function switchTrack(kind) {
    if (!stream) return;
    const constraints = kind === "video" ? { video: videoConstraints() } : { audio: audioConstraints() };
    const old = stream.getTracks().find((track) => track.kind === kind);
    old?.stop(); // some devices cannot be opened twice
    try {
      const [track] = (await navigator.mediaDevices.getUserMedia(constraints)).getTracks();
      if (old) stream.removeTrack(old);
      stream.addTrack(track);
      await session?.replaceTrack(kind, track);
      if (kind === "audio") startMeter();
    } catch (error) {
      showError(error);
    }
  }

  cameraSelect.addEventListener("change", () => switchTrack("video"));
  micSelect.addEventListener("change", () => switchTrack("audio"));
  resolutionSelect.addEventListener("change", async () => {
    const track = stream?.getVideoTracks()[0];
    if (!track) return;
    const { width, height, maxBitrate } = resolution();
    try {
      await track.applyConstraints({ width: { ideal: width }, height: { ideal: height } });
    } catch {
      await switchTrack("video");
    }
    await session?.setMaxBitrate(maxBitrate);
  });
  navigator.mediaDevices?.addEventListener?.("devicechange", () => {
    refreshDevices().catch(() => {});
  });

  cameraOnButton.addEventListener("click", async () => {
    clearError();
    try {
      await startMedia();
    } catch (error) {
      showError(error);
    }
  });

  // -- microphone level --------------------------------------------------------------------

  let audioContext = null;
  let analyser = null;
  let meterSource = null;
  let meterRunning = false;
  let meterAriaAt = 0;

  function startMeter() {
    const track = stream?.getAudioTracks()[0];
    if (!track || typeof AudioContext !== "function") return;
    try {
      audioContext ??= new AudioContext();
      analyser ??= audioContext.createAnalyser();
      analyser.fftSize = 1024;
      meterSource?.disconnect();
      meterSource = audioContext.createMediaStreamSource(new MediaStream([track]));
      meterSource.connect(analyser);
      if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
    } catch {
      return; // no meter is better than no studio
    }
    if (!meterRunning) {
      meterRunning = true;
      requestAnimationFrame(drawMeter);
    }
  }

  const samples = new Float32Array(1024);
  function drawMeter(now) {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    const rms = Math.sqrt(sum / samples.length);
    const level = Math.min(1, Math.max(0, (20 * Math.log10(rms || 1e-8) + 60) / 60));
    meterFill.style.transform = `scaleX(${level.toFixed(3)})`; // CSSOM: allowed under CSP
    if (now - meterAriaAt > METER_ARIA_INTERVAL_MS) {
      meterAriaAt = now;
      meterBar.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    }
    requestAnimationFrame(drawMeter);
  }

  // An AudioContext made before any click starts suspended.
  document.addEventListener("pointerdown", () => audioContext?.resume().catch(() => {}), {
    once: true,
  });

  // -- going live --------------------------------------------------------------------------

  function watchConnection(current) {
    current.pc.addEventListener("connectionstatechange", () => {
      if (session !== current || state !== "live") return;
      const connection = current.pc?.connectionState;
      clearTimeout(disconnectedTimer);
      if (connection === "failed" || connection === "closed") {
        reconnect();
      } else if (connection === "disconnected") {
        disconnectedTimer = setTimeout(() => {
          if (session === current && current.pc?.connectionState === "disconnected") reconnect();
        }, DISCONNECTED_GRACE_MS);
      }
    });
  }

  async function connect(key, signal) {
    const next = new WhipSession(endpoint, key);
    session = next;
    try {
      await next.publish(stream, resolution().maxBitrate);
      await next.connected();
    } catch (error) {
      if (session === next) session = null;
      next.close();
      throw error;
    }
    if (session !== next || signal.aborted) {
      next.close(); // stopped while connecting
      throw new DOMException("stopped", "AbortError");
    }
    watchConnection(next);
  }

  async function goLive() {
    if (state !== "idle" && state !== "error") return;
    const key = keyInput.value.trim();
    if (!key) {
      keyInput.setAttribute("aria-invalid", "true");
      keyError.hidden = false;
      keyInput.focus();
      return;
    }
    clearError();
    rememberKey(key);
    stopController = new AbortController();
    const signal = stopController.signal;
    try {
      if (!stream) {
        setState("starting");
        await startMedia();
      }
      if (signal.aborted) return;
      setState("connecting");
      await connect(key, signal);
      liveSince = Date.now();
      setState("live");
      startStats();
    } catch (error) {
      if (signal.aborted) return;
      showError(error);
      setState("error");
    }
  }

  async function reconnect() {
    const signal = stopController?.signal;
    if (!signal || signal.aborted || state === "reconnecting") return;
    setState("reconnecting");
    const key = session?.key ?? keyInput.value.trim();
    session?.close();
    session = null;
    for (let attempt = 0; attempt < MAX_RECONNECT_ATTEMPTS; attempt += 1) {
      await sleep(backoffMs(attempt), signal);
      if (signal.aborted) return;
      try {
        await connect(key, signal);
        setState("live");
        return;
      } catch (error) {
        if (signal.aborted) return;
        // A 409 is usually our own dropped publication not yet reaped: keep trying.
        if (error instanceof HttpError && error.status !== 409 && error.status < 500) {
          showError(error);
          setState("error");
          return;
        }
      }
    }
    showError(new StudioError("studio.error.lost"));
    setState("error");
  }

  function stopBroadcast() {
    stopController?.abort();
    stopController = null;
    clearTimeout(disconnectedTimer);
    stopStats();
    const ending = session;
    session = null;
    setState("idle");
    return ending?.close();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    goLive();
  });
  stopButton.addEventListener("click", () => {
    stopBroadcast();
    goLiveButton.focus();
  });

  // -- statistics --------------------------------------------------------------------------

  function startStats() {
    stopStats();
    lastSample = null;
    statsTimer = setInterval(sampleStats, STATS_INTERVAL_MS);
    sampleStats();
  }

  function stopStats() {
    clearInterval(statsTimer);
    statsTimer = null;
  }

  async function sampleStats() {
    const pc = session?.pc;
    if (!pc) {
      renderStats({ connection: state === "reconnecting" ? "connecting" : null });
      return;
    }
    let bytes = 0;
    let video = null;
    try {
      const report = await pc.getStats();
      report.forEach((entry) => {
        if (entry.type !== "outbound-rtp") return;
        bytes += entry.bytesSent || 0;
        if (entry.kind === "video") video = entry;
      });
    } catch {
      return;
    }
    const now = performance.now();
    let bitrate = null;
    if (lastSample && lastSample.pc === pc && now > lastSample.at) {
      bitrate = ((bytes - lastSample.bytes) * 8 * 1000) / (now - lastSample.at);
    }
    lastSample = { pc, bytes, at: now };
    renderStats({ connection: pc.connectionState, bitrate, video });
  }

  function renderStats(sample) {
    const dash = "–";
    stat.elapsed.textContent = liveSince ? formatDuration(Date.now() - liveSince) : dash;
    onAirClock.textContent = liveSince ? formatDuration(Date.now() - liveSince) : "00:00:00";
    if (!sample) {
      stat.bitrate.textContent = dash;
      stat.video.textContent = dash;
      stat.connection.textContent = dash;
      return;
    }
    stat.connection.textContent = sample.connection ? t(CONNECTION_LABEL[sample.connection]) : dash;
    if (sample.bitrate !== null && sample.bitrate !== undefined) {
      stat.bitrate.textContent = formatBitrate(Math.max(0, sample.bitrate));
    }
    const video = sample.video;
    if (video?.frameWidth) {
      const frame = t("studio.stats.frame", {
        width: video.frameWidth,
        height: video.frameHeight,
        fps: formatNumber(Math.round(video.framesPerSecond || 0)),
      });
      const limit = LIMITATION_LABEL[video.qualityLimitationReason];
      const note = document.createElement("span");
      note.className = "stats__note";
      note.textContent = limit ? t(limit) : "";
      stat.video.replaceChildren(frame, ...(limit ? [note] : []));
    }
  }

  // -- page lifetime -----------------------------------------------------------------------

  window.addEventListener("beforeunload", (event) => {
    if (state === "live" || state === "reconnecting" || state === "connecting") {
      event.preventDefault(); // ask before ending a broadcast by closing the tab
      event.returnValue = "";
    }
  });
  window.addEventListener("pagehide", () => {
    stopBroadcast();
    for (const track of stream?.getTracks() ?? []) track.stop();
  });

  // -- start -------------------------------------------------------------------------------

  setState("idle");
  if (typeof RTCPeerConnection !== "function" || !navigator.mediaDevices?.getUserMedia) {
    showError(
      new StudioError(window.isSecureContext ? "studio.error.unsupported" : "studio.error.insecure"),
    );
    goLiveButton.disabled = true;
    cameraOnButton.disabled = true;
    return;
  }
  // With permission already given, show the preview straight away; otherwise wait for a click.
  Promise.all(
    ["camera", "microphone"].map((name) =>
      navigator.permissions?.query({ name }).then(
        (result) => result.state,
        () => "unknown",
      ),
    ),
  ).then((states) => {
    if (states.every((permission) => permission === "granted") && !stream) {
      startMedia().catch(() => {});
    }
  });
}

const root = document.getElementById("studio");
if (root) initStudio(root);
