// Going live, staying live, stopping: the WHIP session's lifecycle as a small state machine
// (idle → starting → connecting → live ⇄ reconnecting; error), with reconnection on loss.

import { HttpError, backoffMs, sleep } from "../rtc.js";
import { StudioError } from "./errors.js";
import { WhipSession } from "./whip.js";

const DISCONNECTED_GRACE_MS = 6000; // "disconnected" that lasts this long counts as lost
const MAX_RECONNECT_ATTEMPTS = 6;

/**
 * `media` is the Devices; `hooks.onState(state)` runs on every change of state and
 * `hooks.onError(error)` when a broadcast could not start or was lost.
 */
export class Broadcast {
  constructor(endpoint, media, hooks) {
    this.endpoint = endpoint;
    this.media = media;
    this.hooks = hooks;
    this.state = "idle";
    this.session = null;
    this.key = "";
    this.stopController = null;
    this.disconnectedTimer = null;
  }

  setState(next) {
    this.state = next;
    this.hooks.onState(next);
  }

  watchConnection(current) {
    current.pc.addEventListener("connectionstatechange", () => {
      if (this.session !== current || this.state !== "live") return;
      const connection = current.pc?.connectionState;
      clearTimeout(this.disconnectedTimer);
      if (connection === "failed" || connection === "closed") {
        this.reconnect();
      } else if (connection === "disconnected") {
        this.disconnectedTimer = setTimeout(() => {
          if (this.session === current && current.pc?.connectionState === "disconnected") {
            this.reconnect();
          }
        }, DISCONNECTED_GRACE_MS);
      }
    });
  }

  async connect(key, signal) {
    const next = new WhipSession(this.endpoint, key);
    this.session = next;
    try {
      await next.publish(this.media.stream, this.media.resolution().maxBitrate);
      await next.connected();
    } catch (error) {
      if (this.session === next) this.session = null;
      next.close();
      throw error;
    }
    if (this.session !== next || signal.aborted) {
      next.close(); // stopped while connecting
      throw new DOMException("stopped", "AbortError");
    }
    this.watchConnection(next);
  }

  /** Publish with `key`: the camera first if it is not on yet. */
  async goLive(key) {
    if (this.state !== "idle" && this.state !== "error") return;
    this.key = key;
    this.stopController = new AbortController();
    const signal = this.stopController.signal;
    try {
      if (!this.media.stream) {
        this.setState("starting");
        await this.media.start();
      }
      if (signal.aborted) return;
      this.setState("connecting");
      await this.connect(key, signal);
      this.setState("live");
    } catch (error) {
      if (signal.aborted) return;
      this.hooks.onError(error);
      this.setState("error");
    }
  }

  async reconnect() {
    const signal = this.stopController?.signal;
    if (!signal || signal.aborted || this.state === "reconnecting") return;
    this.setState("reconnecting");
    const key = this.session?.key ?? this.key;
    this.session?.close();
    this.session = null;
    for (let attempt = 0; attempt < MAX_RECONNECT_ATTEMPTS; attempt += 1) {
      await sleep(backoffMs(attempt), signal);
      if (signal.aborted) return;
      try {
        await this.connect(key, signal);
        this.setState("live");
        return;
      } catch (error) {
        if (signal.aborted) return;
        // A 409 is usually our own dropped publication not yet reaped: keep trying.
        if (error instanceof HttpError && error.status !== 409 && error.status < 500) {
          this.hooks.onError(error);
          this.setState("error");
          return;
        }
      }
    }
    this.hooks.onError(new StudioError("studio.error.lost"));
    this.setState("error");
  }

  /** End the broadcast; resolves when the server was told (if it could be). */
  stop() {
    this.stopController?.abort();
    this.stopController = null;
    clearTimeout(this.disconnectedTimer);
    const ending = this.session;
    this.session = null;
    this.setState("idle");
    return ending?.close();
  }
}
