// The moderator console's Q&A tab: the queue (pending / approved / done), the stage, polls and
// export, with keyboard shortcuts. Every action names the question's revision it was taken on;
// if another moderator changed it first the server refuses and the reason is announced.

import { formatTime, t, tn } from "./i18n.js";
import { pollResults } from "./poll-view.js";
import { countsText } from "./qa.js";
import { moderatorTokenKey, QALive } from "./qa-live.js";

const root = document.querySelector("[data-qa-moderate]");
const $ = (name) => root.querySelector(`[data-qa-mod-${name}]`);

const ACTIONS = {
  pending: ["approve", "reject", "edit", "merge", "reply"],
  approved: ["stage", "answer", "dismiss", "edit", "merge", "reply"],
  answered: ["reopen", "stage", "dismiss", "edit", "reply"],
  rejected: ["reopen"],
  dismissed: ["reopen", "reply"],
  merged: [],
};
const KEYS = { a: "approve", r: "reject", s: "stage", d: "answer", h: "dismiss", o: "reopen", e: "edit", m: "merge", p: "reply" };
const FORM_ACTIONS = new Set(["edit", "merge", "reply"]);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatPosition(ms) {
  if (ms === null || ms === undefined) return "";
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

class QAConsole {
  constructor() {
    this.session = root.dataset.qaModerate;
    this.live = new QALive(this.session, { moderator: true });
    this.current = null;
    this.form = null; // {id, action}
    this.scheduled = false;
    this.setupTabs();
    this.live.addEventListener("change", () => this.schedule());
    $("premod").addEventListener("change", (event) =>
      this.act("qa.mod", { action: "premod", on: event.target.checked }),
    );
    $("unstage").addEventListener("click", () => this.act("qa.mod", { action: "unstage" }));
    $("lists").addEventListener("click", (event) => this.onClick(event));
    $("lists").addEventListener("submit", (event) => this.onForm(event));
    $("lists").addEventListener("keydown", (event) => this.onKey(event));
    $("lists").addEventListener("focusin", (event) => {
      const item = event.target.closest("[data-id]");
      if (item) this.current = item.dataset.id;
    });
    $("poll-form").addEventListener("submit", (event) => this.onCreatePoll(event));
    $("poll-form").elements.kind.addEventListener("change", () => this.renderPollForm());
    this.renderPollForm();
    $("polls").addEventListener("click", (event) => {
      const hide = event.target.closest("button[data-poll-hide]");
      if (hide) {
        this.act("poll.mod", { action: "hide", poll: hide.dataset.poll, word: hide.dataset.pollHide });
        return;
      }
      const button = event.target.closest("button[data-poll-action]");
      if (!button) return;
      const poll = this.live.polls.get(button.dataset.poll);
      if (!poll) return;
      const action = button.dataset.pollAction;
      this.act("poll.mod", action === "clear" ? { action, poll: poll.id } : { action, poll: poll.id, v: poll.v });
    });
    for (const button of root.querySelectorAll("[data-qa-mod-export]")) {
      button.addEventListener("click", () => this.download(button.dataset.qaModExport));
    }
    // Logging in happens on the chat tab; the page's one socket then starts over as a
    // moderator's, and the Q&A follows with a fresh snapshot.
  }

  setupTabs() {
    const tabs = [...document.querySelectorAll("[data-mod-tabs] [role=tab]")];
    const select = (tab) => {
      for (const other of tabs) {
        const chosen = other === tab;
        other.setAttribute("aria-selected", String(chosen));
        other.tabIndex = chosen ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
      }
      tab.focus();
    };
    for (const [index, tab] of tabs.entries()) {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (step) select(tabs[(index + step + tabs.length) % tabs.length]);
      });
    }
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    window.requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  announce(text) {
    $("result").textContent = text;
  }

  async act(type, params) {
    const reply = await this.live.request(type, params);
    if (reply.type === "qa.ack") {
      this.announce(t("qa.mod.done_action"));
    } else {
      const key = `qa.error.${reply.code}`;
      const known = t(key) !== key ? t(key) : t("qa.error.default");
      this.announce(reply.detail ? `${known} (${reply.detail})` : known);
    }
    return reply;
  }

  question(id) {
    return this.live.questions.get(id);
  }

  run(action, id) {
    const question = this.question(id);
    if (!question || !(ACTIONS[question.state] || []).includes(action)) return;
    if (FORM_ACTIONS.has(action)) {
      this.form = { id, action };
      this.render();
      root.querySelector(`[data-id="${CSS.escape(id)}"] form [name=value]`)?.focus();
      return;
    }
    this.act("qa.mod", { action, q: id, v: question.v });
  }

  onClick(event) {
    const button = event.target.closest("button[data-action]");
    const item = button?.closest("[data-id]");
    if (!button || !item) return;
    if (button.dataset.action === "cancel") {
      this.form = null;
      this.render();
      item.focus();
      return;
    }
    this.run(button.dataset.action, item.dataset.id);
  }

  onForm(event) {
    event.preventDefault();
    const form = event.target;
    const item = form.closest("[data-id]");
    const question = this.question(item.dataset.id);
    if (!question || !this.form) return;
    const value = form.elements.value.value;
    const params = { action: this.form.action, q: question.id, v: question.v };
    if (this.form.action === "merge") {
      const target = this.question(value);
      if (!target) return;
      Object.assign(params, { into: target.id, into_v: target.v });
    } else {
      params.text = value;
    }
    this.form = null;
    this.act("qa.mod", params).then(() => {
      this.render();
      root.querySelector(`[data-id="${CSS.escape(question.id)}"]`)?.focus();
    });
  }

  onKey(event) {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const item = event.target.closest("[data-id]");
    const key = event.key.toLowerCase();
    if (key === "j" || key === "k" || event.key === "ArrowDown" || event.key === "ArrowUp") {
      const items = [...root.querySelectorAll("[data-qa-mod-list] > [data-id]")];
      const index = items.indexOf(item);
      const step = key === "j" || event.key === "ArrowDown" ? 1 : -1;
      const next = items[Math.min(Math.max(index + step, 0), items.length - 1)];
      if (next) {
        event.preventDefault();
        next.focus();
      }
      return;
    }
    if (key === "u") {
      event.preventDefault();
      this.act("qa.mod", { action: "unstage" });
      return;
    }
    if (item && KEYS[key]) {
      event.preventDefault();
      this.run(KEYS[key], item.dataset.id);
    }
  }

  /** Options are written for choice polls only (a rating's are 1 to 5, a cloud has none). */
  renderPollForm() {
    const form = $("poll-form");
    const choices = ["single", "multiple"].includes(form.elements.kind.value);
    $("poll-options").hidden = !choices;
    form.elements.options.required = choices;
    form.elements.options.disabled = !choices;
  }

  async onCreatePoll(event) {
    event.preventDefault();
    const form = event.target;
    const kind = form.elements.kind.value;
    const params = { question: form.elements.question.value, kind };
    if (kind === "single" || kind === "multiple") {
      params.options = form.elements.options.value.split("\n").map((o) => o.trim()).filter(Boolean);
    }
    const reply = await this.act("poll.create", params);
    if (reply.type === "qa.ack") {
      form.reset();
      this.renderPollForm();
    }
  }

  async download(what) {
    let token = null;
    try {
      token = window.sessionStorage.getItem(moderatorTokenKey(this.session));
    } catch {
      token = null;
    }
    if (!token) return;
    const response = await fetch(`/api/qa/${this.session}/${what}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) {
      this.announce(t("qa.error.default"));
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const link = element("a");
    link.href = url;
    link.download = `${this.session}-${what}`;
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  render() {
    const live = this.live;
    const moderator = live.moderator;
    $("login").hidden = moderator;
    $("tools").hidden = !moderator;
    $("lists").hidden = !moderator;
    $("side").hidden = !moderator;
    if (!moderator) return;
    const premod = $("premod");
    if (document.activeElement !== premod) premod.checked = live.premod;
    const sources = { room: 0, remote: 0 };
    for (const q of live.questions.values()) if (q.state !== "merged") sources[q.source === "room" ? "room" : "remote"] += 1;
    $("counts").textContent = `${countsText(live.counts())} · ${t("qa.mod.sources", sources)}`;
    const focusedId = root.contains(document.activeElement)
      ? document.activeElement.closest?.("[data-id]")?.dataset.id
      : null;
    const inForm = document.activeElement?.closest?.("form[data-qa-form]");
    if (inForm) return; // don't pull a half-typed edit away; the next change re-renders
    const all = [...live.questions.values()];
    const groups = {
      pending: all.filter((q) => q.state === "pending").sort((a, b) => a.ts - b.ts),
      approved: all
        .filter((q) => q.state === "approved")
        .sort((a, b) => (b.id === live.stage) - (a.id === live.stage) || b.votes - a.votes || a.ts - b.ts),
      done: all.filter((q) => !["pending", "approved"].includes(q.state)).sort((a, b) => b.ts - a.ts),
    };
    for (const [name, questions] of Object.entries(groups)) {
      root.querySelector(`[data-qa-mod-list="${name}"]`).replaceChildren(...questions.map((q) => this.item(q)));
    }
    if (focusedId) root.querySelector(`[data-qa-mod-list] [data-id="${CSS.escape(focusedId)}"]`)?.focus();
    this.renderPolls();
  }

  item(question) {
    const item = element("li", "moderate-qa__item");
    item.dataset.id = question.id;
    item.tabIndex = 0;
    if (question.id === this.live.stage) item.classList.add("moderate-qa__item--stage");
    const text = element("p", "qa__text", question.text || "");
    const meta = element("p", "qa__meta");
    const parts = [
      `${question.name || t("qa.no_name")}${question.anon ? ` (${t("qa.anonymous_to_viewers")})` : ""}`,
      t(`qa.source.${question.source}`),
      tn("qa.votes", Number(question.votes) || 0),
      t(`qa.state.${question.state}`),
    ];
    if (Number(question.ts) > 0) parts.push(formatTime(Number(question.ts)));
    if (question.pos !== null && question.pos !== undefined) parts.push(t("qa.mod.position", { time: formatPosition(question.pos) }));
    if (question.askers?.length > 1) parts.push(tn("qa.askers", question.askers.length));
    if (question.id === this.live.stage) parts.push(t("qa.on_stage"));
    if (question.into) parts.push(t("qa.mod.merged_into", { id: question.into }));
    if (question.by) parts.push(t("qa.mod.by", { name: question.by }));
    meta.textContent = parts.join(" · ");
    const label = element("span", "visually-hidden", `${question.id}: `);
    text.prepend(label);
    item.append(text, meta);
    if (question.answer) item.append(element("p", "qa__answer", `${t("qa.private_answer")}: ${question.answer}`));
    const bar = element("div", "moderate-qa__controls");
    for (const action of ACTIONS[question.state] || []) {
      const button = element("button", "qa__control", t(`qa.mod.${action}`));
      button.type = "button";
      button.dataset.action = action;
      bar.append(button);
    }
    item.append(bar);
    if (this.form?.id === question.id) item.append(this.inlineForm(question));
    return item;
  }

  inlineForm(question) {
    const form = element("form", "qa__form");
    form.dataset.qaForm = this.form.action;
    const id = `qa-form-${question.id}`;
    const label = element("label", "qa__label", t(`qa.mod.${this.form.action}`));
    label.htmlFor = id;
    let field;
    if (this.form.action === "merge") {
      field = element("select", "qa__input");
      for (const other of this.live.questions.values()) {
        if (other.id === question.id || !["pending", "approved", "answered"].includes(other.state)) continue;
        const option = element("option", "", `${other.id}: ${other.text}`);
        option.value = other.id;
        field.append(option);
      }
    } else {
      field = element("textarea", "qa__input");
      field.rows = 2;
      field.value = this.form.action === "edit" ? question.text : question.answer || "";
      field.maxLength = this.form.action === "edit" ? 300 : 1000;
      field.required = true;
    }
    field.id = id;
    field.name = "value";
    const save = element("button", "qa__button", t("qa.mod.save"));
    save.type = "submit";
    const cancel = element("button", "qa__control", t("qa.mod.cancel"));
    cancel.type = "button";
    cancel.dataset.action = "cancel";
    form.append(label, field, save, cancel);
    return form;
  }

  renderPolls() {
    const container = $("polls");
    const focused = container.contains(document.activeElement) ? document.activeElement : null;
    const polls = [...this.live.polls.values()].sort((a, b) => b.created - a.created);
    container.replaceChildren(
      ...polls.map((poll) => {
        const section = element("section", "qa__poll");
        section.dataset.pollId = poll.id;
        section.dataset.pollKind = poll.kind;
        section.append(element("h3", "qa__subtitle", poll.question));
        const meta = [t(`qa.mod.poll_${poll.kind}`), t(`qa.poll.state.${poll.state}`)];
        const onScreen = poll.id === this.live.screen;
        if (onScreen) meta.push(t("qa.poll.on_screen"));
        section.append(element("p", "qa__meta", meta.join(" · ")));
        section.append(pollResults(poll, null, { hide: poll.kind === "words" }));
        const bar = element("div", "moderate-qa__controls");
        const actions = [poll.state === "open" ? "close" : "open"];
        if (onScreen) actions.push("clear");
        for (const action of actions) {
          const button = element("button", "qa__control", t(`qa.poll.${action}`));
          button.type = "button";
          button.dataset.pollAction = action;
          button.dataset.poll = poll.id;
          bar.append(button);
        }
        section.append(bar);
        return section;
      }),
    );
    // Keep the keyboard where it was (a hide or clear button re-rendered away).
    if (focused?.dataset) {
      const { poll, pollAction, pollHide } = focused.dataset;
      const selector = pollHide
        ? `button[data-poll="${CSS.escape(poll)}"][data-poll-hide="${CSS.escape(pollHide)}"]`
        : pollAction
          ? `button[data-poll="${CSS.escape(poll)}"][data-poll-action]`
          : null;
      if (selector) (container.querySelector(selector) || container.querySelector(`[data-poll-id="${CSS.escape(poll)}"] button`))?.focus();
    }
  }
}

if (root) new QAConsole();
