// The moderator console (/moderate/{session}): log in with a moderator token, change the chat's
// modes, review held messages, and read the moderation log. The chat itself is chat.js; this
// script acts through it on the page's one session socket (live.js). Text from people is only
// ever set with `textContent`.

import { chatFor } from "./chat.js";
import { formatTime, t } from "./i18n.js";
import { moderatorTokenKey } from "./live.js";

const MAX_LOG = 200;

const root = document.querySelector("[data-moderate]");
// A moderator link (/moderate/{id}#token=…): keep its token for this tab, drop it from the URL.
const linkToken = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (root && linkToken) {
  try {
    window.sessionStorage.setItem(moderatorTokenKey(root.dataset.moderate), linkToken);
  } catch {
    /* storage unavailable: the key can still be typed in */
  }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
}
const chat = root && chatFor(root.querySelector("[data-chat-session]"));

function readStrings() {
  try {
    return JSON.parse(root.querySelector("[data-moderate-strings]")?.textContent || "{}");
  } catch {
    return {};
  }
}

const strings = root ? readStrings() : {};

function text(key, params = {}) {
  const template = strings[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

function panel(name) {
  return root.querySelector(`[data-mod-${name}]`);
}

class Console {
  constructor() {
    this.session = root.dataset.moderate;
    this.login = panel("login");
    this.loginError = panel("login-error");
    this.settings = panel("settings");
    this.queuePanel = panel("queue-panel");
    this.queue = panel("queue");
    this.queueEmpty = panel("queue-empty");
    this.logPanel = panel("log-panel");
    this.log = panel("log");
    this.result = panel("result");
    this.triedToken = Boolean(linkToken);

    // A moderator link has no account: the header says so, and logging out forgets its key.
    this.linkUser = document.querySelector("[data-link-user]");
    this.linkUser
      ?.querySelector("[data-link-logout]")
      ?.addEventListener("click", () => this.onLinkLogout());
    panel("login-form").addEventListener("submit", (event) => this.onLogin(event));
    for (const input of root.querySelectorAll("[data-mod-switch]")) {
      input.addEventListener("change", () =>
        this.act({ action: input.dataset.modSwitch, on: input.checked }),
      );
    }
    panel("slow-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const seconds = Number.parseInt(event.target.elements.seconds.value, 10) || 0;
      this.act({ action: "slow", seconds });
    });
    panel("words-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const words = event.target.elements.words.value
        .split("\n")
        .map((word) => word.trim())
        .filter(Boolean);
      this.act({ action: "words", words });
    });
    panel("clear").addEventListener("click", () => {
      if (window.confirm(text("clear.confirm"))) this.act({ action: "clear" });
    });
    this.queue.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      const item = button?.closest("[data-id]");
      if (button && item) this.act({ action: button.dataset.action, target: item.dataset.id });
    });

    chat.addEventListener("chat:welcome", (event) => this.onWelcome(event.detail));
    chat.addEventListener("chat:history", (event) => {
      if (event.detail.reset) this.reset();
    });
    chat.addEventListener("chat:event", (event) => this.onEvent(event.detail));
    chat.addEventListener("chat:state", (event) => this.showState(event.detail));
    chat.addEventListener("chat:reply", (event) => this.onReply(event.detail));
    if (chat.me) this.onWelcome({ you: chat.me, state: chat.state });
    chat.recent.forEach((event) => this.onEvent(event));
  }

  act(params) {
    this.result.textContent = "";
    chat.moderate(params);
  }

  onLogin(event) {
    event.preventDefault();
    const token = event.target.elements.token.value.trim();
    if (!token) return;
    try {
      window.sessionStorage.setItem(moderatorTokenKey(this.session), token);
    } catch {
      return;
    }
    event.target.elements.token.value = "";
    this.triedToken = true;
    chat.reconnect();
  }

  onLinkLogout() {
    try {
      window.sessionStorage.removeItem(moderatorTokenKey(this.session));
    } catch {
      /* storage unavailable: nothing to forget */
    }
    this.triedToken = false;
    this.linkUser.hidden = true;
    chat.reconnect();
  }

  showLinkUser(frame) {
    if (!this.linkUser) return;
    let viaLink = false;
    try {
      viaLink = Boolean(window.sessionStorage.getItem(moderatorTokenKey(this.session)));
    } catch {
      viaLink = false;
    }
    const shown = viaLink && frame.you?.role === "moderator";
    this.linkUser.hidden = !shown;
    if (shown) {
      const name = frame.you.name || "";
      this.linkUser.querySelector("[data-link-user-text]").textContent = t("header.link_user", {
        name,
      });
    }
  }

  onWelcome(frame) {
    const moderator = frame.you?.role === "moderator";
    this.showLinkUser(frame);
    this.login.hidden = moderator;
    this.settings.hidden = !moderator;
    this.queuePanel.hidden = !moderator;
    this.logPanel.hidden = !moderator;
    this.loginError.hidden = moderator || !this.triedToken;
    if (!moderator && this.triedToken) {
      try {
        window.sessionStorage.removeItem(moderatorTokenKey(this.session));
      } catch {
        /* storage unavailable: nothing to forget */
      }
    }
    this.showState(frame.state || {});
  }

  showState(state) {
    for (const input of root.querySelectorAll("[data-mod-switch]")) {
      const value = state[input.dataset.modSwitch];
      input.checked = input.dataset.modSwitch === "enabled" ? value !== false : Boolean(value);
    }
    const slow = panel("slow-form").elements.seconds;
    if (document.activeElement !== slow) slow.value = String(state.slow ?? 0);
    const words = panel("words-form").elements.words;
    if (Array.isArray(state.words) && document.activeElement !== words) {
      words.value = state.words.join("\n");
    }
  }

  reset() {
    this.queue.replaceChildren();
    this.log.replaceChildren();
    this.updateQueue();
  }

  onEvent(event) {
    if (event.type === "msg" && event.held) {
      this.enqueue(event);
    } else if (event.type === "mod") {
      if (event.action === "approve" || event.action === "reject") {
        this.queue.querySelector(`[data-id="${CSS.escape(event.target)}"]`)?.remove();
        this.updateQueue();
      }
      if (event.by) this.addLog(event);
    }
  }

  enqueue(event) {
    if (this.queue.querySelector(`[data-id="${CSS.escape(event.id)}"]`)) return;
    const item = document.createElement("li");
    item.dataset.id = event.id;
    const who = document.createElement("strong");
    who.textContent = String(event.name ?? "");
    const body = document.createElement("p");
    body.className = "chat__text";
    body.textContent = String(event.text ?? "");
    const bar = document.createElement("div");
    bar.className = "chat__controls";
    for (const action of ["approve", "reject"]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chat__control";
      button.dataset.action = action;
      button.textContent = text(action);
      bar.append(button);
    }
    item.append(who, body, bar);
    this.queue.append(item);
    this.updateQueue();
  }

  updateQueue() {
    this.queueEmpty.hidden = this.queue.children.length > 0;
  }

  addLog(event) {
    const millis = Number(String(event.id).split("-")[0]);
    const what = text(`action.${event.action}`, {
      seconds: event.seconds ?? "",
      name: event.name || event.user || "",
      on: event.on ? text("on") : text("off"),
    });
    const { name, label } = event.by;
    const who = label && label !== name ? `${name} (${label})` : name || label;
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = new Date(millis).toISOString();
    time.textContent = formatTime(millis, { seconds: true });
    item.append(time, " ", document.createTextNode(text("log.line", { who, what })));
    this.log.prepend(item);
    while (this.log.children.length > MAX_LOG) this.log.lastElementChild.remove();
  }

  onReply(frame) {
    if (!frame.action && frame.type !== "error") return;
    this.result.textContent = frame.type === "ack" ? text("saved") : "";
  }
}

if (root && chat) new Console();
