// Camera and microphone: asking for them, the preview, the device and resolution pickers, and
// swapping a track when another device is chosen.

import { t } from "../i18n.js";
import { unsupportedError } from "./errors.js";

const RESOLUTIONS = {
  1080: { width: 1920, height: 1080, maxBitrate: 4_500_000 },
  720: { width: 1280, height: 720, maxBitrate: 2_500_000 },
  360: { width: 640, height: 360, maxBitrate: 800_000 },
};
const FRAME_RATE = 30;

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

/**
 * The local media. `hooks.onTrack(kind, track)` runs after a track was swapped,
 * `hooks.onAudio()` whenever there is a new microphone track, `hooks.onMaxBitrate(bps)` after
 * the resolution changed and `hooks.onError(error)` when a swap failed.
 */
export class Devices {
  constructor({ preview, placeholder, cameraSelect, micSelect, resolutionSelect }, hooks) {
    this.preview = preview;
    this.placeholder = placeholder;
    this.cameraSelect = cameraSelect;
    this.micSelect = micSelect;
    this.resolutionSelect = resolutionSelect;
    this.hooks = hooks;
    this.stream = null;
    this.pending = null;

    cameraSelect.addEventListener("change", () => this.switchTrack("video"));
    micSelect.addEventListener("change", () => this.switchTrack("audio"));
    resolutionSelect.addEventListener("change", () => this.changeResolution());
    navigator.mediaDevices?.addEventListener?.("devicechange", () => {
      this.refresh().catch(() => {});
    });
  }

  resolution() {
    return RESOLUTIONS[this.resolutionSelect.value] ?? RESOLUTIONS[720];
  }

  audioTrack() {
    return this.stream?.getAudioTracks()[0] ?? null;
  }

  videoConstraints() {
    const { width, height } = this.resolution();
    const constraints = {
      width: { ideal: width },
      height: { ideal: height },
      frameRate: { ideal: FRAME_RATE, max: FRAME_RATE },
    };
    if (this.cameraSelect.value) constraints.deviceId = { exact: this.cameraSelect.value };
    return constraints;
  }

  audioConstraints() {
    const constraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (this.micSelect.value) constraints.deviceId = { exact: this.micSelect.value };
    return constraints;
  }

  async refresh() {
    const stream = this.stream;
    if (!stream) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (kind) =>
      stream.getTracks().find((track) => track.kind === kind)?.getSettings().deviceId;
    fillDevices(
      this.cameraSelect,
      devices.filter((device) => device.kind === "videoinput" && device.deviceId),
      "studio.devices.camera_n",
      current("video"),
    );
    fillDevices(
      this.micSelect,
      devices.filter((device) => device.kind === "audioinput" && device.deviceId),
      "studio.devices.microphone_n",
      current("audio"),
    );
  }

  /** The camera and microphone stream, asking for them once even if asked twice at once. */
  start() {
    this.pending ??= this.acquire().catch((error) => {
      this.pending = null;
      throw error;
    });
    return this.pending;
  }

  async acquire() {
    if (!navigator.mediaDevices?.getUserMedia) throw unsupportedError();
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: this.videoConstraints(),
      audio: this.audioConstraints(),
    });
    this.preview.srcObject = this.stream;
    this.preview.play().catch(() => {});
    this.placeholder.hidden = true;
    this.hooks.onAudio();
    await this.refresh();
    return this.stream;
  }

  /** Swap one kind's track (another device) in the preview and, when live, in the sender. */
  async switchTrack(kind) {
    const stream = this.stream;
    if (!stream) return;
    const constraints =
      kind === "video" ? { video: this.videoConstraints() } : { audio: this.audioConstraints() };
    const old = stream.getTracks().find((track) => track.kind === kind);
    old?.stop(); // some devices cannot be opened twice
    try {
      const [track] = (await navigator.mediaDevices.getUserMedia(constraints)).getTracks();
      if (old) stream.removeTrack(old);
      stream.addTrack(track);
      await this.hooks.onTrack(kind, track);
      if (kind === "audio") this.hooks.onAudio();
    } catch (error) {
      this.hooks.onError(error);
    }
  }

  async changeResolution() {
    const track = this.stream?.getVideoTracks()[0];
    if (!track) return;
    const { width, height, maxBitrate } = this.resolution();
    try {
      await track.applyConstraints({ width: { ideal: width }, height: { ideal: height } });
    } catch {
      await this.switchTrack("video");
    }
    await this.hooks.onMaxBitrate(maxBitrate);
  }

  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
  }
}
