// The audience beside the preview: how many watch and the approved questions, read-only from
// the session's socket (live.js, through the Q&A state of qa-live.js). Nothing is sent but the
// socket's own greeting and Q&A sync; question texts are only ever set with `textContent`.

import { lang, t } from "../i18n.js";
import { QALive } from "../qa-live.js";

const MAX_QUESTIONS = 12;
const plural = new Intl.PluralRules(lang);
const number = new Intl.NumberFormat(lang);

/** A counted text: the literal `.one` or `.other` key (kept literal for the catalogue check). */
const counted = (one, other, count) =>
  t(plural.select(count) === "one" ? one : other, { count: number.format(count) });

export class AudiencePanel {
  constructor(root, session) {
    this.viewers = root.querySelector("#studio-viewers");
    this.list = root.querySelector("#studio-questions");
    this.empty = root.querySelector("#studio-questions-empty");
    this.qa = new QALive(session);
    this.qa.live.on("presence", (presence) => this.showPresence(presence));
    if (this.list) this.qa.addEventListener("change", () => this.showQuestions());
  }

  showPresence({ live, viewers }) {
    this.viewers.dataset.state = live ? "live" : "offline";
    this.viewers.dataset.viewers = String(viewers);
    this.viewers.textContent = live
      ? counted("studio.audience.viewers.one", "studio.audience.viewers.other", viewers)
      : t("studio.audience.not_live");
  }

  showQuestions() {
    const stage = this.qa.stage;
    const onStage = stage && typeof stage === "object" ? stage.id : stage;
    const approved = this.qa.visible("votes").filter((q) => q.state === "approved");
    const items = approved.slice(0, MAX_QUESTIONS).map((question) => {
      const item = document.createElement("li");
      item.className = "audience__question";
      item.dataset.id = question.id;
      if (onStage === question.id) item.dataset.onStage = "true";
      const body = document.createElement("p");
      body.textContent = String(question.text ?? "");
      const meta = document.createElement("p");
      meta.className = "audience__meta";
      const votes = Number(question.votes) || 0;
      const parts = [counted("studio.audience.votes.one", "studio.audience.votes.other", votes)];
      if (question.name) parts.unshift(String(question.name));
      if (onStage === question.id) parts.push(t("studio.audience.on_stage"));
      meta.textContent = parts.join(" · ");
      item.append(body, meta);
      return item;
    });
    this.list.replaceChildren(...items);
    this.empty.hidden = items.length > 0;
  }
}
