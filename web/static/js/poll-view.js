// Polls as elements, for every page that shows them (the Q&A panel, the stage screen, the
// moderator console): the answer form of each kind and its results. Four kinds: single and
// multiple choice, a rating from 1 to 5, a word cloud. Text from people is only ever set with
// `textContent`; sizes and bars are classes and <meter>s (no inline styles: CSP).

import { formatNumber, t, tn } from "./i18n.js";

// Font sizes a word cloud uses (qa.css: .qa__word--1 … --5).
const CLOUD_SIZES = 5;
const RATING_MAX = 5;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function star(value) {
  const wrap = element("span", "qa__rating-value");
  const stars = element("span", "qa__stars", "★");
  stars.setAttribute("aria-hidden", "true");
  wrap.append(stars, element("span", "qa__rating-number", String(value)));
  wrap.append(element("span", "visually-hidden", ` ${t("qa.poll.rating_of", { max: RATING_MAX })}`));
  return wrap;
}

/** The form that answers `poll` (a `form[data-poll]`; qa.js sends what it holds). */
export function pollForm(poll) {
  const form = element("form", "qa__poll-form");
  form.dataset.poll = poll.id;
  form.dataset.kind = poll.kind;
  const fieldset = element("fieldset", poll.kind === "rating" ? "qa__rating" : "");
  fieldset.append(element("legend", "visually-hidden", poll.question));
  if (poll.kind === "words") {
    const limits = poll.limits || { words: 3, length: 40 };
    const hint = element("p", "qa__hint", t("qa.poll.words_hint", limits));
    hint.id = `poll-${poll.id}-hint`;
    fieldset.append(hint);
    for (let i = 1; i <= limits.words; i += 1) {
      const id = `poll-${poll.id}-word-${i}`;
      const label = element("label", "qa__label", t("qa.poll.word_label", { n: i }));
      label.htmlFor = id;
      const input = element("input", "qa__input qa__word-input");
      input.id = id;
      input.name = "word";
      input.maxLength = limits.length;
      input.autocomplete = "off";
      input.setAttribute("aria-describedby", hint.id);
      if (i === 1) input.required = true;
      fieldset.append(label, input);
    }
  } else {
    poll.options.forEach((option, index) => {
      const label = element("label", poll.kind === "rating" ? "qa__rating-option" : "qa__check");
      const input = element("input");
      input.type = poll.kind === "multiple" ? "checkbox" : "radio";
      input.name = `poll-${poll.id}`;
      input.value = String(index);
      if (poll.kind === "rating") {
        input.required = true;
        label.append(input, star(option));
      } else {
        label.append(input, " ", option);
      }
      fieldset.append(label);
    });
  }
  const submit = element("button", "qa__button", t("qa.poll.submit"));
  submit.type = "submit";
  form.append(fieldset, submit);
  return form;
}

/** What `form` answers: `{choices}` or `{words}` (null: nothing chosen or written). */
export function formAnswer(form) {
  if (form.dataset.kind === "words") {
    const words = [...form.querySelectorAll("input[name=word]")].map((i) => i.value.trim()).filter(Boolean);
    return words.length ? { words } : null;
  }
  const choices = [...form.querySelectorAll("input:checked")].map((input) => Number(input.value));
  return choices.length ? { choices } : null;
}

/** A rating's mean (null without answers). */
export function ratingAverage(poll) {
  const counts = poll.counts || [];
  const answers = counts.reduce((sum, c) => sum + c, 0);
  if (!answers) return null;
  return counts.reduce((sum, c, i) => sum + (i + 1) * c, 0) / answers;
}

function meters(poll, answered, labelOf) {
  const list = element("ul", "qa__results");
  const total = poll.voters || 0;
  poll.options.forEach((option, index) => {
    const count = poll.counts?.[index] ?? 0;
    const item = element("li", "qa__result");
    const id = `poll-${poll.id}-${index}`;
    const label = element("label", "qa__result-label");
    label.append(labelOf(option));
    label.htmlFor = id;
    if (answered?.includes(index)) label.append(" ✓");
    const meter = element("meter", "qa__meter");
    meter.id = id;
    meter.min = 0;
    meter.max = Math.max(total, 1);
    meter.value = count;
    const percent = total ? Math.round((count / total) * 100) : 0;
    item.append(label, meter, element("span", "qa__result-count", `${percent} % (${count})`));
    list.append(item);
  });
  return list;
}

/** A word cloud: the most given entries, larger the more often given. */
function cloud(poll, { hide = false } = {}) {
  const words = poll.words || [];
  if (!words.length) return element("p", "qa__meta", t("qa.poll.cloud_empty"));
  const list = element("ul", "qa__cloud");
  list.setAttribute("aria-label", t("qa.poll.cloud_label"));
  const counts = words.map(([, count]) => count);
  const low = Math.min(...counts);
  const span = Math.max(...counts) - low;
  for (const [word, count] of words) {
    const size = span ? 1 + Math.round(((count - low) / span) * (CLOUD_SIZES - 1)) : 3;
    const item = element("li", `qa__word qa__word--${size}`);
    item.dataset.word = word;
    item.append(element("span", "qa__word-text", word));
    item.append(element("span", "visually-hidden", ` (${tn("qa.poll.times", count)})`));
    if (hide) {
      const button = element("button", "qa__control qa__word-hide", "×");
      button.type = "button";
      button.dataset.pollHide = word;
      button.dataset.poll = poll.id;
      button.setAttribute("aria-label", t("qa.poll.hide_word", { word }));
      item.append(button);
    }
    list.append(item);
  }
  return list;
}

/** Results of any kind (`answered`: my answer; `hide`: a moderator's hide buttons). */
export function pollResults(poll, answered = null, { hide = false } = {}) {
  const wrap = element("div", `qa__poll-results qa__poll-results--${poll.kind}`);
  const total = poll.voters || 0;
  const state = poll.state === "closed" ? t("qa.poll.closed") : t("qa.poll.live");
  const meta = [state, tn("qa.poll.respondents", total)];
  if (poll.kind === "words") {
    wrap.append(cloud(poll, { hide }));
    if (answered?.length) meta.push(t("qa.poll.your_words", { words: answered.join(", ") }));
  } else if (poll.kind === "rating") {
    const average = ratingAverage(poll);
    const summary = element("p", "qa__average");
    summary.dataset.pollAverage = average === null ? "" : average.toFixed(1);
    summary.textContent =
      average === null
        ? t("qa.poll.no_ratings")
        : t("qa.poll.average", {
            average: formatNumber(average, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
            max: RATING_MAX,
          });
    wrap.append(summary, meters(poll, answered, star));
  } else {
    wrap.append(meters(poll, answered, (option) => option));
  }
  wrap.append(element("p", "qa__meta", meta.join(" · ")));
  return wrap;
}
