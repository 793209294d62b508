// WHEP playback that keeps itself alive.
//
// States: connecting → live; waiting (not started yet, 409) / ended (was live, now not);
// reconnecting (connection failed or frames stopped); missing (404); unsupported (no WebRTC).

import {
  HttpError,
  backoffMs,
  closePeer,
  deleteResource,
  postOffer,
  retryAfterSeconds,
  sleep,
  waitForIceGathering,
} from "../rtc.js";
import { fetchStatus } from "../status.js";
import { mediaCounters } from "./counters.js";

const HEALTH_INTERVAL_MS = 1000; // getStats cadence
const STALL_MS = 4000; // no new decoded frames for this long: reconnect (or ended)
const FIRST_FRAME_TIMEOUT_MS = 12000; // connected but nothing decoded: try again
const STABLE_SESSION_MS = 10000; // a session that lasted this long resets the backoff
const NOT_LIVE_RETRY_S = 2; // when a 409 has no Retry-After
const MISSING_RETRY_MS = 30000;

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
    this.presence = null; // {live, viewers} pushed on the page's session socket, if it has one
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

  fetchStatus() {
    return fetchStatus(this.statusUrl);
  }

  /** Live or not: what the page's session socket last pushed, else the status endpoint. */
  async currentStatus() {
    return this.presence ?? (await this.fetchStatus());
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
        } while (!signal.aborted && (await this.currentStatus())?.live === false);
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
            const status = await this.currentStatus();
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
