// The stage screen / OBS overlay (/stage/{session}): the question on stage in large type, the
// next questions by votes, live counts, the open poll's live results or, once closed, its
// result until a moderator clears it. A viewer's socket: anonymous askers stay nameless.
// As an OBS overlay (?transparent=1) it draws nothing at all while nothing is on stage.

import { t, tn } from "./i18n.js";
import { pollResults } from "./poll-view.js";
import { QALive } from "./qa-live.js";
import { countsText } from "./qa.js";

const NEXT_COUNT = 3;
const body = document.body;
const live = new QALive(body.dataset.stageSession);
const $ = (name) => document.querySelector(`[data-stage-${name}]`);

function who(question) {
  return question.anon || !question.name ? t("qa.anonymous") : question.name;
}

function render() {
  const current = live.stage && live.questions.get(live.stage);
  body.classList.toggle("stage--empty", !current?.text);
  // The open poll (the newest one) with live results, else the closed one on screen.
  const poll =
    [...live.polls.values()].filter((p) => p.state === "open").sort((a, b) => b.created - a.created)[0] ||
    (live.screen && live.polls.get(live.screen)) ||
    null;
  // Nothing on stage: the transparent overlay shows nothing at all (qa.css), not empty boxes.
  body.classList.toggle("stage--idle", !current?.text && !poll);
  $("text").textContent = current?.text || t("qa.stage.none");
  $("meta").textContent = current?.text
    ? `${who(current)} · ${tn("qa.votes", Number(current.votes) || 0)}`
    : "";
  const next = live
    .visible("votes")
    .filter((q) => q.id !== live.stage && q.state === "approved")
    .slice(0, NEXT_COUNT);
  $("next").closest("section").hidden = next.length === 0;
  $("next").replaceChildren(
    ...next.map((q) => {
      const item = document.createElement("li");
      item.className = "stage__item";
      const text = document.createElement("span");
      text.className = "stage__item-text";
      text.textContent = q.text;
      const votes = document.createElement("span");
      votes.className = "stage__item-votes";
      votes.textContent = tn("qa.votes", Number(q.votes) || 0);
      item.append(text, votes);
      return item;
    }),
  );
  $("poll").hidden = !poll;
  if (poll) {
    $("poll").dataset.pollId = poll.id;
    $("poll").dataset.pollKind = poll.kind;
  }
  $("poll-title").textContent = poll ? poll.question : "";
  $("poll-results").replaceChildren(...(poll ? [pollResults(poll)] : []));
  const counts = live.counts();
  $("counts").textContent = `${countsText(counts)} · ${tn("qa.votes", counts.votes)}`;
}

live.addEventListener("change", render);
