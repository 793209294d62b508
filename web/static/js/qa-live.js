// Live Q&A state, one part of the page's session socket (live.js): the snapshot from `qa.sync`
// after a fresh history, then the `qa`/`poll` events after it (a reconnect replays the ones
// missed). Shared by the watch page panel, the phone page, the stage screen and the moderator
// console. Emits "change" whenever what a page shows may differ.
import { compareIds, liveSocket, moderatorTokenKey } from "./live.js";

export { moderatorTokenKey };

const SYNC_RETRY_MS = 2000;

export class QALive extends EventTarget {
  constructor(session, { moderator = false } = {}) {
    super();
    this.session = session;
    this.questions = new Map();
    this.polls = new Map();
    this.voted = new Set();
    this.answers = {};
    this.stage = null;
    // The closed poll whose result is on screen until a moderator clears it.
    this.screen = null;
    this.premod = true;
    this.me = null;
    this.connected = false;
    this.synced = false;
    this.buffer = null;
    this.live = liveSocket(session, { moderator });
    this.live
      .on("welcome", (frame) => {
        this.me = frame.you;
      })
      .on("history", ({ reset }) => {
        // A fresh history carries no Q&A: start from a snapshot. A replay carries what
        // was missed, applied on top of what is shown.
        if (reset || !this.synced || this.buffer) {
          this.sync();
        } else {
          this.connected = true;
          this.emit();
        }
      })
      .on("qa", (event) => this.onEvent(event))
      .on("identity", (frame) => {
        this.me = frame.you;
        this.emit();
      })
      .on("status", ({ state }) => {
        if (state !== "closed") return;
        this.connected = false;
        this.emit();
      });
  }

  get moderator() {
    return this.me?.role === "moderator";
  }

  /** Connect again (after a moderator token was stored, say). */
  reconnect() {
    this.live.restart();
  }

  /** Send `{type, ...params}` with a fresh cid; resolves with the reply frame. */
  async request(type, params = {}) {
    const reply = await this.live.request(type, params);
    return reply.code === "offline" ? { ...reply, type: "qa.error", code: "unavailable" } : reply;
  }

  /** Choose a display name (shared with the chat: the same signed token). */
  rename(name) {
    return this.live.request("name", { name });
  }

  /** Ask for the whole state; events until it arrives are kept and applied after it. */
  async sync() {
    this.buffer = [];
    const reply = await this.live.request("qa.sync");
    if (reply.type === "qa.snapshot") {
      this.applySnapshot(reply);
    } else if (reply.code !== "offline") {
      window.setTimeout(() => {
        if (this.buffer && this.live.welcomed) this.sync();
      }, SYNC_RETRY_MS);
    }
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
    this.synced = true;
    this.questions = new Map(frame.questions.map((q) => [q.id, q]));
    this.polls = new Map(frame.polls.map((p) => [p.id, p]));
    this.voted = new Set(frame.voted);
    this.answers = frame.answers || {};
    this.stage = frame.stage;
    this.screen = frame.screen ?? null;
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
        const results = {};
        for (const key of ["counts", "words", "voters"]) if (Object.hasOwn(event, key)) results[key] = event[key];
        if (poll) this.polls.set(event.poll, { ...poll, ...results });
      } else if (event.action === "clear") {
        this.screen = event.screen ?? null;
      } else if (event.poll && typeof event.poll === "object") {
        if (this.moderator || event.poll.state !== "draft") this.polls.set(event.poll.id, event.poll);
        if (Object.hasOwn(event, "screen")) this.screen = event.screen;
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
      if (this.live.welcomed) this.sync();
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
