// Live Q&A state over the session's socket (/ws/{session}): the snapshot from `qa.sync`, then
// the `qa`/`poll` events after it. Shared by the watch page panel, the phone page, the stage
// screen and the moderator console. Emits "change" whenever what a page shows may differ.
import {
  compareIds,
  moderatorTokenKey,
  newCid,
  openSessionSocket,
  storage,
  TOKEN_KEY,
} from "./live-util.js";

export { moderatorTokenKey };

const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30000;
const REPLY_TIMEOUT_MS = 10000;


export class QALive extends EventTarget {
  constructor(session, { moderator = false } = {}) {
    super();
    this.session = session;
    this.wantsModerator = moderator;
    this.questions = new Map();
    this.polls = new Map();
    this.voted = new Set();
    this.answers = {};
    this.stage = null;
    this.premod = true;
    this.me = null;
    this.connected = false;
    this.pending = new Map();
    this.buffer = null;
    this.retryMs = RECONNECT_MIN_MS;
    this.socket = null;
    this.connect();
  }

  get moderator() {
    return this.me?.role === "moderator";
  }

  connect() {
    const socket = openSessionSocket(this.session, { moderator: this.wantsModerator });
    this.socket = socket;
    socket.addEventListener("message", (event) => this.onFrame(event.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.connected = false;
      this.emit();
      const delay = this.retryMs * (0.5 + Math.random());
      this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
      window.setTimeout(() => this.connect(), delay);
    });
  }

  /** Connect again (after a moderator token was stored, say). */
  reconnect() {
    const old = this.socket;
    this.socket = null;
    old?.close(1000);
    this.retryMs = RECONNECT_MIN_MS;
    this.connect();
  }

  /** Send `{type, ...params}` with a fresh cid; resolves with the reply frame. */
  request(type, params = {}) {
    const cid = newCid();
    return new Promise((resolve) => {
      if (this.socket?.readyState !== WebSocket.OPEN) {
        resolve({ type: "qa.error", code: "unavailable" });
        return;
      }
      const timer = window.setTimeout(() => {
        this.pending.delete(cid);
        resolve({ type: "qa.error", code: "unavailable" });
      }, REPLY_TIMEOUT_MS);
      this.pending.set(cid, (frame) => {
        window.clearTimeout(timer);
        resolve(frame);
      });
      this.socket.send(JSON.stringify({ type, cid, ...params }));
    });
  }

  /** Choose a display name (shared with the chat: the same signed token). */
  rename(name) {
    return new Promise((resolve) => {
      this.nameWaiter = resolve;
      this.socket?.send(JSON.stringify({ type: "name", name }));
    });
  }

  onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    switch (frame.type) {
      case "welcome":
        this.retryMs = RECONNECT_MIN_MS;
        this.me = frame.you;
        this.buffer = [];
        this.socket.send(JSON.stringify({ type: "qa.sync", cid: "sync" }));
        break;
      case "qa.snapshot":
        this.applySnapshot(frame);
        break;
      case "history":
      case "batch":
        frame.events.forEach((event) => this.onEvent(event));
        break;
      case "qa":
      case "poll":
        this.onEvent(frame);
        break;
      case "identity":
        this.me = frame.you;
        storage("local")?.setItem(TOKEN_KEY, frame.token);
        this.nameWaiter?.(frame);
        this.nameWaiter = null;
        this.emit();
        break;
      case "error":
        if (this.nameWaiter && !frame.cid) {
          this.nameWaiter(frame);
          this.nameWaiter = null;
        }
        this.settle(frame);
        break;
      case "qa.ack":
      case "qa.error":
        this.settle(frame);
        break;
      default:
        break;
    }
  }

  settle(frame) {
    const waiter = frame.cid && this.pending.get(frame.cid);
    if (!waiter) return;
    this.pending.delete(frame.cid);
    waiter(frame);
  }

  onEvent(event) {
    if (event.type !== "qa" && event.type !== "poll") return;
    if (this.buffer) {
      this.buffer.push(event);
      return;
    }
    if (this.at && compareIds(event.id, this.at) <= 0) return;
    this.apply(event);
    this.emit(event);
  }

  applySnapshot(frame) {
    this.questions = new Map(frame.questions.map((q) => [q.id, q]));
    this.polls = new Map(frame.polls.map((p) => [p.id, p]));
    this.voted = new Set(frame.voted);
    this.answers = frame.answers || {};
    this.stage = frame.stage;
    this.premod = frame.premod;
    this.me = frame.me || this.me;
    this.at = frame.at;
    this.connected = true;
    const buffered = this.buffer || [];
    this.buffer = null;
    for (const event of buffered) {
      if (compareIds(event.id, this.at) > 0) this.apply(event);
    }
    this.emit();
  }

  apply(event) {
    this.at = event.id;
    if (event.type === "poll") {
      if (event.action === "results") {
        const poll = this.polls.get(event.poll);
        if (poll) this.polls.set(event.poll, { ...poll, counts: event.counts, voters: event.voters });
      } else if (event.poll && (this.moderator || event.poll.state !== "draft")) {
        this.polls.set(event.poll.id, event.poll);
      }
      return;
    }
    if (event.action === "votes") {
      const question = this.questions.get(event.q);
      if (question) this.questions.set(event.q, { ...question, votes: event.votes });
      return;
    }
    if (event.action === "premod") this.premod = event.on;
    if (Object.hasOwn(event, "stage")) this.stage = event.stage;
    for (const key of ["q", "from"]) {
      const question = event[key];
      if (question && typeof question === "object") {
        const known = this.questions.get(question.id);
        // The asker keeps the text of their own waiting question.
        if (known?.mine) {
          this.questions.set(question.id, { ...known, ...question, mine: true, text: question.text ?? known.text });
          if (question.replied && !known.answer) this.refreshMine();
        } else {
          this.questions.set(question.id, question);
        }
      }
    }
  }

  /** A private answer to one of my questions: fetch it with a fresh snapshot. */
  refreshMine() {
    window.setTimeout(() => {
      if (this.socket?.readyState !== WebSocket.OPEN) return;
      this.buffer = [];
      this.socket.send(JSON.stringify({ type: "qa.sync", cid: "sync" }));
    }, 0);
  }

  /** Remember a question I just asked, so my page shows it while it waits. */
  remember(id, text, state) {
    const known = this.questions.get(id) || { id, state };
    this.questions.set(id, { ...known, mine: true, text, state: known.state || state });
    this.emit();
  }

  emit(event = null) {
    this.dispatchEvent(new CustomEvent("change", { detail: event }));
  }

  /** Counts the audience sees: waiting, hidden and merged questions. */
  counts() {
    const counts = { pending: 0, hidden: 0, merged: 0, visible: 0, votes: 0 };
    for (const q of this.questions.values()) {
      if (q.state === "approved" || q.state === "answered") {
        counts.visible += 1;
        counts.votes += Number(q.votes) || 0;
      } else if (q.state === "pending") counts.pending += 1;
      else if (q.state === "merged") counts.merged += 1;
      else counts.hidden += 1;
    }
    return counts;
  }

  /** Visible questions, by votes (then oldest first) or newest first. */
  visible(order = "votes") {
    const list = [...this.questions.values()].filter(
      (q) => q.state === "approved" || q.state === "answered",
    );
    if (order === "newest") return list.sort((a, b) => b.ts - a.ts);
    return list.sort((a, b) => b.votes - a.votes || a.ts - b.ts);
  }
}
