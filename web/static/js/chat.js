// The chat beside a session, rendered as text only; one part of the page's session socket
// (live.js), which resumes from the last id the page saw and replays what it missed.
//
// Every string that came from a person goes into the page through `textContent` or a text node;
// links are built as elements with a checked http(s) URL. Nothing is ever parsed as HTML.
// Unacknowledged messages are resent with their client id (the server stores each once).
import { formatTime } from "./i18n.js";
import { liveSocket, moderatorTokenKey, newCid } from "./live.js";

export { moderatorTokenKey };

const MAX_RENDERED = 500;
const RESEND_MS = 1000;
const TIMEOUT_SECONDS = 300;
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/giu;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}'"»”’]+$/u;


const chats = new Map();

/** The chat started for `root` (a `[data-chat-session]` element), if any. */
export function chatFor(root) {
  return chats.get(root);
}

function readStrings(root) {
  const element = root.querySelector("[data-chat-strings]");
  try {
    return JSON.parse(element?.textContent || "{}");
  } catch {
    return {};
  }
}

/** `text` as nodes: plain text, and links for http(s) URLs (checked, opened safely). */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let candidate = match[0];
    const trailing = candidate.match(TRAILING_PUNCTUATION);
    if (trailing) candidate = candidate.slice(0, -trailing[0].length);
    let url = null;
    try {
      url = new URL(candidate);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
    fragment.append(document.createTextNode(text.slice(last, match.index)));
    const link = document.createElement("a");
    link.href = url.href;
    link.textContent = candidate;
    link.rel = "noopener noreferrer nofollow ugc";
    link.target = "_blank";
    link.className = "chat__link";
    fragment.append(link);
    last = match.index + candidate.length;
  }
  fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

export class Chat extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.session = root.dataset.chatSession;
    this.strings = readStrings(root);
    this.list = root.querySelector("[data-chat-messages]");
    this.status = root.querySelector("[data-chat-status]");
    this.notice = root.querySelector("[data-chat-notice]");
    this.pinned = root.querySelector("[data-chat-pinned]");
    this.pinnedBody = root.querySelector("[data-chat-pinned-body]");
    this.nameForm = root.querySelector("[data-chat-name-form]");
    this.compose = root.querySelector("[data-chat-compose]");
    this.meLine = root.querySelector("[data-chat-me]");
    this.me = null;
    this.state = {};
    // The latest events, for scripts that start after the history arrived (the console).
    this.recent = [];
    this.outbox = new Map();
    this.nameForm?.addEventListener("submit", (event) => this.onName(event));
    this.compose?.addEventListener("submit", (event) => this.onCompose(event));
    this.list.addEventListener("click", (event) => this.onListClick(event));
    // A moderator's stored token is offered wherever the chat is shown.
    this.live = liveSocket(this.session, { moderator: true });
    this.live
      .on("welcome", (frame) => this.onWelcome(frame))
      .on("history", ({ reset }) => this.onHistory(reset))
      .on("chat", (event) => this.apply(event))
      .on("identity", (frame) => this.onIdentity(frame))
      .on("reply", (frame) => this.onReply(frame))
      .on("status", ({ state }) => {
        if (state === "closed") this.setStatus(this.text("status.reconnecting"));
      });
  }

  text(key, params = {}) {
    const template = this.strings[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.hasOwn(params, name) ? String(params[name]) : whole,
    );
  }

  get moderator() {
    return this.me?.role === "moderator";
  }

  /** Connect again from the recent history (after a moderator token was entered, say). */
  reconnect() {
    this.live.restart();
  }

  send(frame) {
    return this.live.send(frame);
  }

  /** A moderation action (`{action, target, ...}`); the reply arrives as a `chat:reply` event. */
  moderate(params) {
    this.live.request("mod", params).then((reply) => this.onReply(reply));
    return this.live.welcomed;
  }

  /** Send (or resend) a message of the outbox under its client id. */
  post(cid, text) {
    this.live.request("send", { text }, { cid }).then((reply) => this.onReply(reply));
  }

  onHistory(reset) {
    if (reset) {
      this.clearList();
      this.recent = [];
    }
    this.dispatchEvent(new CustomEvent("chat:history", { detail: { reset } }));
    queueMicrotask(() => this.emptyHint()); // after the history's events
  }

  onWelcome(frame) {
    this.me = frame.you;
    this.state = frame.state;
    this.root.classList.toggle("chat--moderator", this.moderator);
    this.setPinned(frame.state.pinned);
    this.showForms();
    this.describeState();
    for (const [cid, text] of this.outbox) this.post(cid, text);
    this.dispatchEvent(new CustomEvent("chat:welcome", { detail: frame }));
  }

  /** A new name, chosen here or in another part of the page (the Q&A form). */
  onIdentity(frame) {
    this.me = frame.you;
    this.showForms();
  }

  showForms() {
    const named = Boolean(this.me?.name);
    if (this.nameForm) this.nameForm.hidden = named;
    if (this.compose) this.compose.hidden = !named;
    if (this.meLine) this.meLine.textContent = named ? this.me.name : "";
  }

  onName(event) {
    event.preventDefault();
    const input = this.nameForm.querySelector("input");
    if (!input.value.trim()) return;
    this.live.request("name", { name: input.value }).then((reply) => {
      if (reply.type === "identity") this.compose?.querySelector("input")?.focus();
      else this.onReply(reply);
    });
  }

  onCompose(event) {
    event.preventDefault();
    const input = this.compose.querySelector("input");
    const text = input.value.trim();
    if (!text) return;
    const cid = newCid();
    this.outbox.set(cid, text);
    this.post(cid, text);
    input.value = "";
  }

  onReply(frame) {
    const text = frame.cid ? this.outbox.get(frame.cid) : undefined;
    if (frame.type === "error" && frame.code === "offline") {
      // Not sent, or the socket closed before the answer: the outbox is sent on reconnect.
      if (text === undefined) this.showNotice(this.text("status.reconnecting"));
      return;
    }
    if (frame.type === "error" && frame.code === "unavailable" && text !== undefined) {
      window.setTimeout(() => {
        if (this.outbox.has(frame.cid)) this.post(frame.cid, text);
      }, RESEND_MS);
      this.showNotice(this.text("error.unavailable"));
      return;
    }
    if (frame.cid) this.outbox.delete(frame.cid);
    if (frame.type === "held") {
      this.showNotice(this.text("you_held"));
    } else if (frame.type === "error") {
      const seconds = Math.ceil(frame.retry_after ?? 0);
      const key = `error.${frame.code}`;
      this.showNotice(this.text(Object.hasOwn(this.strings, key) ? key : "error.default", { seconds }));
      const input = this.compose?.querySelector("input");
      if (text !== undefined && input && !input.value) input.value = text;
    } else {
      this.showNotice("");
    }
    this.dispatchEvent(new CustomEvent("chat:reply", { detail: frame }));
  }

  apply(event) {
    if (event.type === "msg") {
      if (!event.held || this.moderator) this.addMessage(event);
    } else if (event.type === "mod") {
      this.applyModeration(event);
    }
    this.recent.push(event);
    if (this.recent.length > MAX_RENDERED) this.recent.shift();
    this.dispatchEvent(new CustomEvent("chat:event", { detail: event }));
  }

  applyModeration(event) {
    switch (event.action) {
      case "delete":
        this.markGone(event.target, "deleted");
        if (this.state.pinned?.id === event.target) this.setPinned(null);
        break;
      case "reject":
        this.markGone(event.target, "deleted");
        break;
      case "approve":
        this.list.querySelector(`[data-id="${CSS.escape(event.target)}"]`)?.remove();
        break;
      case "pin":
        this.setPinned(event.msg);
        break;
      case "unpin":
        this.setPinned(null);
        break;
      case "clear":
        this.clearList();
        this.setPinned(null);
        if (this.moderator) this.addNote(this.text("cleared"));
        break;
      case "slow":
        this.state.slow = event.seconds;
        break;
      case "hold":
      case "registered_only":
      case "enabled":
        this.state[event.action] = event.on;
        break;
      case "words":
        this.state.words = event.words;
        break;
      default:
        break;
    }
    this.describeState();
  }

  describeState() {
    const parts = [];
    if (this.state.enabled === false) parts.push(this.text("status.off"));
    if (this.state.slow > 0) parts.push(this.text("status.slow", { seconds: this.state.slow }));
    if (this.state.hold) parts.push(this.text("status.hold"));
    if (this.state.registered_only) parts.push(this.text("status.registered_only"));
    this.setStatus(parts.join(" · "));
    this.dispatchEvent(new CustomEvent("chat:state", { detail: this.state }));
  }

  setStatus(text) {
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  showNotice(text) {
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  clearList() {
    this.list.replaceChildren();
  }

  emptyHint() {
    if (!this.list.children.length) this.addNote(this.text("empty"), "chat__note--empty");
  }

  addNote(text, extra = "") {
    const item = document.createElement("li");
    item.className = `chat__note ${extra}`.trim();
    item.textContent = text;
    this.list.append(item);
  }

  renderMessage(event, { controls = true, tag = "li" } = {}) {
    const item = document.createElement(tag);
    item.className = "chat__message";
    item.dataset.id = event.id;
    const head = document.createElement("p");
    head.className = "chat__head";
    const name = document.createElement("span");
    name.className = "chat__name";
    name.textContent = String(event.name ?? "");
    head.append(name);
    // A badge says who is who: moderators, and people with an account (a name only they use);
    // a guest has none.
    const badgeKey = { moderator: "moderator", registered: "registered" }[event.role];
    if (badgeKey) {
      const badge = document.createElement("span");
      badge.className = `chat__badge chat__badge--${badgeKey}`;
      badge.textContent = this.text(badgeKey);
      head.append(" ", badge);
    }
    const millis = Number(event.ts) || Number(String(event.id).split("-")[0]);
    if (Number.isFinite(millis)) {
      const time = document.createElement("time");
      time.className = "chat__time";
      time.dateTime = new Date(millis).toISOString();
      time.textContent = formatTime(millis);
      head.append(" ", time);
    }
    const body = document.createElement("p");
    body.className = "chat__text";
    body.append(linkify(String(event.text ?? "")));
    item.append(head, body);
    if (event.held) {
      item.classList.add("chat__message--held");
      const label = document.createElement("p");
      label.className = "chat__held";
      label.textContent = this.text("held");
      item.append(label);
    }
    if (controls && this.moderator) item.append(this.controls(event));
    return item;
  }

  controls(event) {
    const bar = document.createElement("div");
    bar.className = "chat__controls";
    const actions = event.held ? ["approve", "reject"] : ["delete", "pin", "timeout", "ban"];
    for (const action of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chat__control";
      button.dataset.action = action;
      button.textContent = this.text(`action.${action}`);
      bar.append(button);
    }
    return bar;
  }

  onListClick(event) {
    const button = event.target.closest("button[data-action]");
    const item = button?.closest("[data-id]");
    if (!button || !item || !this.moderator) return;
    const params = { action: button.dataset.action, target: item.dataset.id };
    if (params.action === "timeout") params.seconds = TIMEOUT_SECONDS;
    this.moderate(params);
  }

  addMessage(event) {
    if (this.list.querySelector(`[data-id="${CSS.escape(event.id)}"]`)) return;
    this.list.querySelector(".chat__note--empty")?.remove();
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(this.renderMessage(event));
    while (this.list.children.length > MAX_RENDERED) this.list.firstElementChild.remove();
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  markGone(id, key) {
    const item = this.list.querySelector(`[data-id="${CSS.escape(id)}"]`);
    if (!item) return;
    if (!this.moderator) {
      item.remove();
      return;
    }
    item.classList.add("chat__message--gone");
    item.querySelector(".chat__controls")?.remove();
    const label = document.createElement("p");
    label.className = "chat__held";
    label.textContent = this.text(key);
    item.append(label);
  }

  setPinned(message) {
    this.state.pinned = message || null;
    this.pinned.hidden = !message;
    this.pinnedBody.replaceChildren();
    if (message) this.pinnedBody.append(this.renderMessage(message, { controls: false, tag: "div" }));
    if (message && this.moderator) {
      const unpin = document.createElement("button");
      unpin.type = "button";
      unpin.className = "chat__control";
      unpin.textContent = this.text("action.unpin");
      unpin.addEventListener("click", () => this.moderate({ action: "unpin" }));
      this.pinnedBody.append(unpin);
    }
  }
}

for (const root of document.querySelectorAll("[data-chat-session]")) {
  if (!chats.has(root)) chats.set(root, new Chat(root));
}
