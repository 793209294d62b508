// The audience's Q&A panel (watch page and the phone page /q/{session}): ask (optionally
// anonymously), see approved questions by votes or newest, upvote once or withdraw, answer
// polls. Text from people is only ever set with `textContent`. After the session
// (`data-qa-ended`) the panel is read-only: the questions (answered ones too) and poll results.

import { formatTime, t, tn } from "./i18n.js";
import { formAnswer, pollForm, pollResults } from "./poll-view.js";
import { QALive } from "./qa-live.js";

export { pollResults };

const DELAY_KEY = "stream.player.delay_ms";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** How far behind live the player on this page is (player.js may publish it), in ms. */
function liveDelayMs() {
  const player = document.querySelector("[data-live-delay-ms]");
  const value = Number(player?.dataset.liveDelayMs ?? window.sessionStorage?.getItem(DELAY_KEY));
  return Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), 600000) : 0;
}

export function countsText(counts) {
  const parts = [tn("qa.counts.visible", counts.visible)];
  if (counts.pending) parts.push(tn("qa.counts.pending", counts.pending));
  if (counts.hidden) parts.push(tn("qa.counts.hidden", counts.hidden));
  if (counts.merged) parts.push(tn("qa.counts.merged", counts.merged));
  return parts.join(" · ");
}

class Panel {
  constructor(root) {
    this.root = root;
    this.source = root.dataset.qaSource === "room" ? "room" : "remote";
    this.ended = root.hasAttribute("data-qa-ended");
    this.order = "votes";
    this.live = new QALive(root.dataset.qaSession);
    this.$ = (name) => root.querySelector(`[data-qa-${name}]`);
    this.list = this.$("list");
    this.form = this.$("ask");
    this.notice = this.$("notice");
    this.form?.addEventListener("submit", (event) => this.onAsk(event));
    this.form?.elements.anon?.addEventListener("change", () => this.renderForm());
    this.list.addEventListener("click", (event) => this.onVote(event));
    this.$("polls").addEventListener("submit", (event) => this.onPoll(event));
    for (const button of root.querySelectorAll("[data-qa-sort]")) {
      button.addEventListener("click", () => {
        this.order = button.dataset.qaSort;
        for (const other of root.querySelectorAll("[data-qa-sort]")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        this.render();
      });
    }
    this.scheduled = false;
    this.live.addEventListener("change", () => this.schedule());
  }

  /** Render at most once a frame (a busy session sends many vote counts a second). */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    window.requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  say(text) {
    if (!this.notice) return;
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  error(frame) {
    const key = `qa.error.${frame.code}`;
    const text = t(key);
    return text === key ? t("qa.error.default") : text;
  }

  async onAsk(event) {
    event.preventDefault();
    const data = new FormData(this.form);
    const text = String(data.get("text") || "").trim();
    const name = String(data.get("name") || "").trim();
    const anon = data.get("anon") === "on";
    if (!text) return;
    if (name && name !== this.live.me?.name) {
      const renamed = await this.live.rename(name);
      if (renamed.type !== "identity") {
        this.say(t("qa.error.bad_name"));
        return;
      }
    }
    const reply = await this.live.request("qa.ask", {
      text,
      anon,
      source: this.source,
      delay_ms: liveDelayMs(),
    });
    if (reply.type === "qa.ack") {
      this.form.elements.text.value = "";
      this.live.remember(reply.q, text, reply.state);
      this.say(reply.state === "pending" ? t("qa.asked.pending") : t("qa.asked.ok"));
    } else {
      this.say(this.error(reply));
    }
  }

  async onVote(event) {
    const button = event.target.closest("button[data-vote]");
    if (!button) return;
    const id = button.dataset.vote;
    const up = !this.live.voted.has(id);
    button.disabled = true;
    const reply = await this.live.request("qa.vote", { q: id, up });
    button.disabled = false;
    if (reply.type === "qa.ack") {
      if (up) this.live.voted.add(id);
      else this.live.voted.delete(id);
      const question = this.live.questions.get(id);
      if (question) this.live.questions.set(id, { ...question, votes: reply.votes });
      this.render();
      this.root.querySelector(`button[data-vote="${CSS.escape(id)}"]`)?.focus();
    } else {
      this.say(this.error(reply));
    }
  }

  async onPoll(event) {
    event.preventDefault();
    const form = event.target.closest("form[data-poll]");
    if (!form) return;
    const answer = formAnswer(form);
    if (!answer) return;
    const reply = await this.live.request("poll.answer", { poll: form.dataset.poll, ...answer });
    if (reply.type === "qa.ack" || reply.code === "answered") {
      this.live.answers[form.dataset.poll] = reply.words || reply.choices || answer.choices || answer.words;
      this.render();
    } else if (reply.code === "too_long" && answer.words) {
      this.say(t("qa.error.word_too_long"));
    } else {
      this.say(this.error(reply));
    }
  }

  render() {
    const live = this.live;
    const status = this.$("status");
    status.textContent = live.connected ? "" : t("qa.status.connecting");
    status.hidden = live.connected;
    if (this.form) this.renderForm();
    this.$("counts").textContent = countsText(live.counts());
    this.renderStage();
    this.renderList();
    this.renderMine();
    this.renderPolls();
  }

  /** Whether a name is needed and when a question is seen, said plainly beside the form. */
  renderForm() {
    const live = this.live;
    const named = Boolean(live.me?.name);
    const anon = this.form.elements.anon?.checked;
    this.$("name-row").hidden = named;
    const name = this.form.elements.name;
    if (name) name.required = !named && !anon;
    this.$("name-rule").textContent = named
      ? t("qa.ask.name_known", { name: live.me.name })
      : t("qa.ask.name_rule");
    const rule = live.connected
      ? live.premod
        ? t("qa.ask.hint_premod")
        : t("qa.ask.hint")
      : t("qa.rules.public_unknown");
    this.$("public-rule").textContent = rule;
    this.$("public-copy").textContent = rule;
    this.root.dataset.qaPremod = String(Boolean(live.premod));
  }

  renderStage() {
    const question = this.live.stage && this.live.questions.get(this.live.stage);
    this.$("stage").hidden = !question?.text;
    this.$("stage-text").textContent = question?.text || "";
  }

  questionItem(question, { vote = true } = {}) {
    const item = element("li", "qa__item");
    item.dataset.id = question.id;
    const text = element("p", "qa__text", question.text || "");
    const meta = element("p", "qa__meta");
    const who = question.anon || !question.name ? t("qa.anonymous") : question.name;
    meta.append(element("span", "qa__who", who));
    const asked = Number(question.ts);
    if (asked > 0) {
      const time = element("time", "qa__time", formatTime(asked));
      time.dateTime = new Date(asked).toISOString();
      meta.append(" · ", time);
    }
    if (question.source === "room") meta.append(" · ", element("span", "qa__tag", t("qa.source.room")));
    if (question.askers > 1) meta.append(" · ", tn("qa.askers", question.askers));
    if (question.edited) meta.append(" · ", t("qa.edited"));
    if (question.state === "answered") meta.append(" · ", element("span", "qa__tag qa__tag--done", t("qa.state.answered")));
    if (question.id === this.live.stage) meta.append(" · ", element("span", "qa__tag qa__tag--stage", t("qa.on_stage")));
    item.append(text, meta);
    if (vote && this.ended) {
      // Read-only: the count stays, there is nothing to press.
      const votes = Number(question.votes) || 0;
      const count = element("span", "qa__vote qa__vote--closed");
      count.append(element("span", "qa__vote-count", String(votes)));
      count.append(element("span", "visually-hidden", ` ${tn("qa.votes", votes)}`));
      item.prepend(count);
    } else if (vote) {
      const voted = this.live.voted.has(question.id);
      const button = element("button", "qa__vote");
      button.type = "button";
      button.dataset.vote = question.id;
      const votes = Number(question.votes) || 0;
      button.setAttribute("aria-pressed", String(voted));
      // The name says what pressing does and the count; the question is its description.
      button.setAttribute("aria-label", `${voted ? t("qa.vote.withdraw") : t("qa.vote.up")}, ${tn("qa.votes", votes)}`);
      text.id = `qa-text-${question.id}`;
      button.setAttribute("aria-describedby", text.id);
      const arrow = element("span", "qa__vote-arrow", "▲");
      arrow.setAttribute("aria-hidden", "true");
      button.append(arrow, " ", element("span", "qa__vote-count", String(votes)));
      item.prepend(button);
    }
    return item;
  }

  renderList() {
    const visible = this.live.visible(this.order);
    const focused = document.activeElement?.dataset?.vote;
    this.list.replaceChildren(...visible.map((q) => this.questionItem(q)));
    this.$("empty").hidden = visible.length > 0;
    if (focused) this.list.querySelector(`button[data-vote="${CSS.escape(focused)}"]`)?.focus();
  }

  renderMine() {
    const mine = [...this.live.questions.values()].filter(
      (q) => q.mine && q.state !== "approved" && q.state !== "answered",
    );
    const replied = [...this.live.questions.values()].filter((q) => q.mine && q.answer);
    const items = [];
    for (const question of new Set([...mine, ...replied])) {
      const item = element("li", "qa__item qa__item--mine");
      item.append(element("p", "qa__text", question.text || ""));
      item.append(element("p", "qa__meta", t(`qa.state.${question.state}`)));
      if (question.answer) {
        item.append(element("p", "qa__answer", `${t("qa.private_answer")}: ${question.answer}`));
      }
      items.push(item);
    }
    this.$("mine").replaceChildren(...items);
    this.$("mine-panel").hidden = items.length === 0;
  }

  /** Open polls, and the closed one whose result is on screen until a moderator clears it
   * (after the session: every result). */
  renderPolls() {
    const container = this.$("polls");
    const live = this.live;
    const polls = [...live.polls.values()]
      .filter((p) => p.state !== "draft")
      .filter((p) => this.ended || p.state === "open" || p.id === live.screen)
      .sort((a, b) => a.created - b.created);
    const focused = container.contains(document.activeElement) ? document.activeElement : null;
    if (focused && focused.tagName === "INPUT") return; // don't pull the form away mid-choice
    container.replaceChildren(...polls.map((poll) => this.pollElement(poll)));
  }

  pollElement(poll) {
    const section = element("section", "qa__poll");
    section.dataset.pollId = poll.id;
    section.dataset.pollKind = poll.kind;
    const titleId = `poll-${poll.id}-title`;
    section.setAttribute("aria-labelledby", titleId);
    if (poll.id === this.live.screen) {
      section.classList.add("qa__poll--result");
      section.dataset.pollScreen = "";
      section.append(element("p", "qa__eyebrow", t("qa.poll.result")));
    }
    const title = element("h3", "qa__subtitle", poll.question);
    title.id = titleId;
    section.append(title);
    const answered = this.live.answers[poll.id];
    if (poll.state === "open" && !answered && !this.ended) {
      section.append(pollForm(poll));
      return section;
    }
    section.append(pollResults(poll, answered));
    return section;
  }
}

for (const root of document.querySelectorAll("[data-qa-session]")) new Panel(root);
