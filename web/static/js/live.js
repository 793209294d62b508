// The page's one socket to its session (/ws/{session}). The chat, the Q&A and polls, and the
// audience (is the session live, how many watch) all ride it: this module opens it, greets it
// with the stored identity and the one resume cursor of the session's log, reconnects with
// backoff and jitter (the server replays what was missed after the cursor), and hands every
// frame to the parts of the page by kind:
//
//   "welcome"   who I am and the chat's modes, after every (re)connect
//   "history"   {reset}: sent before the history's events; reset: forget what is shown
//   "chat"      a stored chat event (msg, mod), history and live alike
//   "qa"        a stored Q&A or poll event (qa, poll)
//   "presence"  {live, viewers}, pushed when it changes
//   "moderation" {pending, merged, declined, removed}: counts only, pushed when they change
//   "identity"  my new name (and token, kept here for the next visit; "welcome" carries the
//               token of an anonymous viewer's first connection, kept the same way)
//   "reply"     an answer no request here waits for (an error without a cid)
//   "status"    {state}: "connecting", "open" (welcomed) or "closed"
//
// Requests (`request(type, params)`) carry a client id and resolve with the answer carrying it.
// The parts subscribe while the page's modules load; the socket opens once they all have.

const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30000;
const REPLY_TIMEOUT_MS = 10000;
const EVENT_KINDS = { msg: "chat", mod: "chat", qa: "qa", poll: "qa" };
const ANSWERS = new Set(["ack", "held", "error", "identity", "qa.ack", "qa.error", "qa.snapshot"]);

/** Where a viewer's signed chat identity and a moderator's token for a session are kept. */
export const TOKEN_KEY = "stream.chat.token";
export const moderatorTokenKey = (session) => `stream.chat.moderator.${session}`;

/** localStorage or sessionStorage, or null where the browser forbids storage. */
export function storage(kind) {
  try {
    return kind === "local" ? window.localStorage : window.sessionStorage;
  } catch {
    return null;
  }
}

/** A client message id: retries of one message carry the same id and are stored once. */
export function newCid() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Order of two log ids ("ms-seq"). */
export function compareIds(a, b) {
  const [am, as] = String(a).split("-").map(Number);
  const [bm, bs] = String(b).split("-").map(Number);
  return am - bm || as - bs;
}

export class LiveSocket extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.wantsModerator = false;
    this.cursor = null; // the newest log id this page has been given
    this.me = null;
    this.state = null;
    this.presence = { live: false, viewers: 0 };
    this.moderation = null; // the last moderation counts, once told
    this.welcomed = false;
    this.started = false;
    this.socket = null;
    this.retryMs = RECONNECT_MIN_MS;
    this.retryTimer = null;
    this.pending = new Map();
    window.addEventListener("online", () => this.retryNow());
  }

  /** Call `handler(detail)` for every message of `kind` (see the list above). */
  on(kind, handler) {
    this.addEventListener(kind, (event) => handler(event.detail));
    return this;
  }

  emit(kind, detail) {
    this.dispatchEvent(new CustomEvent(kind, { detail }));
  }

  get moderator() {
    return this.me?.role === "moderator";
  }

  start() {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  connect() {
    this.retryTimer = null;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${window.location.host}/ws/${encodeURIComponent(this.session)}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.welcomed = false;
    this.emit("status", { state: "connecting" });
    socket.addEventListener("open", () => socket.send(JSON.stringify(this.hello())));
    socket.addEventListener("message", (event) => {
      if (this.socket === socket) this.onFrame(event.data);
    });
    socket.addEventListener("close", () => {
      if (this.socket === socket) this.onClose();
    });
  }

  hello() {
    const hello = { type: "hello" };
    const token = storage("local")?.getItem(TOKEN_KEY);
    if (token) hello.token = token;
    if (this.wantsModerator) {
      const moderatorToken = storage("session")?.getItem(moderatorTokenKey(this.session));
      if (moderatorToken) hello.moderator_token = moderatorToken;
    }
    if (this.cursor) hello.last_id = this.cursor;
    return hello;
  }

  onClose() {
    this.socket = null;
    this.welcomed = false;
    this.failPending();
    this.emit("status", { state: "closed" });
    const delay = Math.round(this.retryMs * (0.5 + Math.random()));
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
  }

  /** Waiting to reconnect: do it now (the browser is back online). */
  retryNow() {
    if (this.retryTimer === null) return;
    window.clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Connect again from a fresh history, without the cursor (after a moderator token was
   * stored, say: what a moderator sees differs). */
  restart() {
    this.cursor = null;
    const old = this.socket;
    this.socket = null;
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    old?.close(1000);
    this.welcomed = false;
    this.failPending();
    this.retryMs = RECONNECT_MIN_MS;
    if (this.started) this.connect();
  }

  /** Send a frame now if the socket is open and welcomed; false if not. */
  send(frame) {
    if (!this.welcomed || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Send `{type, cid, ...params}`; resolves with the answer carrying that cid, or with
   * `{type: "error", code: "offline"}` when the socket is not open or closes first, or
   * `{code: "unavailable"}` when no answer comes in time. Never rejects.
   */
  request(type, params = {}, { cid = newCid() } = {}) {
    return new Promise((resolve) => {
      if (!this.send({ type, cid, ...params })) {
        resolve({ type: "error", code: "offline", cid });
        return;
      }
      const timer = window.setTimeout(() => {
        this.pending.delete(cid);
        resolve({ type: "error", code: "unavailable", cid });
      }, REPLY_TIMEOUT_MS);
      this.pending.set(cid, (frame) => {
        window.clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  failPending() {
    const pending = [...this.pending.entries()];
    this.pending.clear();
    for (const [cid, settle] of pending) settle({ type: "error", code: "offline", cid });
  }

  onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (EVENT_KINDS[frame.type] && frame.id) {
      this.onEvent(frame);
      return;
    }
    switch (frame.type) {
      case "welcome":
        this.welcomed = true;
        this.retryMs = RECONNECT_MIN_MS;
        this.me = frame.you;
        this.state = frame.state;
        // Keep the identity from the first connection, named or not: a reload is the same
        // person (one vote each), not a new one.
        if (frame.token) storage("local")?.setItem(TOKEN_KEY, frame.token);
        this.emit("welcome", frame);
        this.emit("status", { state: "open" });
        break;
      case "history":
        if (frame.reset) this.cursor = null;
        this.emit("history", { reset: frame.reset });
        frame.events.forEach((event) => this.onEvent(event));
        if (frame.at && (!this.cursor || compareIds(frame.at, this.cursor) > 0)) {
          this.cursor = frame.at;
        }
        break;
      case "batch":
        frame.events.forEach((event) => this.onEvent(event));
        break;
      case "presence":
        this.presence = { live: Boolean(frame.live), viewers: Number(frame.viewers) || 0 };
        this.emit("presence", this.presence);
        break;
      case "moderation":
        this.moderation = {
          pending: Number(frame.pending) || 0,
          merged: Number(frame.merged) || 0,
          declined: Number(frame.declined) || 0,
          removed: Number(frame.removed) || 0,
        };
        this.emit("moderation", this.moderation);
        break;
      default:
        if (ANSWERS.has(frame.type)) this.onAnswer(frame);
        break;
    }
  }

  onEvent(event) {
    if (this.cursor && compareIds(event.id, this.cursor) <= 0) return; // had it already
    this.cursor = event.id;
    const kind = EVENT_KINDS[event.type];
    if (kind) this.emit(kind, event);
  }

  onAnswer(frame) {
    if (frame.type === "identity") {
      this.me = frame.you;
      storage("local")?.setItem(TOKEN_KEY, frame.token);
      this.emit("identity", frame);
    }
    const settle = frame.cid && this.pending.get(frame.cid);
    if (settle) {
      this.pending.delete(frame.cid);
      settle(frame);
    } else if (frame.type !== "identity") {
      this.emit("reply", frame);
    }
  }
}

const sockets = new Map();

/** Run `start` once every module of the page has run (they subscribe first). */
function whenLoaded(start) {
  const navigation = window.performance?.getEntriesByType?.("navigation")?.[0];
  if (document.readyState === "complete" || navigation?.domContentLoadedEventStart > 0) {
    queueMicrotask(start);
  } else {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  }
}

/**
 * The page's socket to `session` (one per page, shared by every part that asks).
 * `moderator`: greet with the moderator token stored for the session, if any.
 */
export function liveSocket(session, { moderator = false } = {}) {
  let live = sockets.get(session);
  if (!live) {
    live = new LiveSocket(session);
    sockets.set(session, live);
    whenLoaded(() => live.start());
  }
  if (moderator) live.wantsModerator = true;
  return live;
}
