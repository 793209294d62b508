// One WHIP publication of a MediaStream: offer, answer, bitrate cap, track swaps, DELETE.
//
// The publish key only ever travels in the Authorization header of these requests.

import { closePeer, deleteResource, postOffer, waitForIceGathering } from "../rtc.js";
import { StudioError } from "./errors.js";

const CONNECT_TIMEOUT_MS = 15000; // offer answered → ICE/DTLS connected

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

export class WhipSession {
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
