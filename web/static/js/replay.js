// The replay page: plays the session's recording (one or more segments, one after the other,
// on one timeline), lists its chapters (the questions) to jump to, and shows the chat and the
// questions as they came, at their moments.

import { formatTime, t, tn } from "./i18n.js";

const root = document.getElementById("replay");
const video = document.getElementById("replay-video");
const status = document.getElementById("replay-status");

/** `seconds` as m:ss or h:mm:ss. */
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The recording's segments on one timeline: which file plays a moment, and where in it. */
class Timeline {
  constructor(segments, element) {
    this.segments = segments;
    this.video = element;
    this.current = 0;
    this.pendingSeek = null;
    element.addEventListener("loadedmetadata", () => {
      if (this.pendingSeek !== null) {
        element.currentTime = this.pendingSeek;
        this.pendingSeek = null;
      }
    });
    element.addEventListener("ended", () => {
      if (this.current + 1 < this.segments.length) {
        this.load(this.current + 1, 0);
        element.play().catch(() => {});
      }
    });
  }

  get time() {
    const segment = this.segments[this.current];
    return segment ? segment.offset + (this.video.currentTime || 0) : 0;
  }

  load(index, at) {
    this.current = index;
    this.pendingSeek = at > 0 ? at : null;
    this.video.src = this.segments[index].url;
  }

  seek(seconds) {
    let index = this.segments.length - 1;
    for (let i = 0; i < this.segments.length; i += 1) {
      const segment = this.segments[i];
      if (seconds < segment.offset + segment.duration) {
        index = i;
        break;
      }
    }
    const at = Math.max(0, seconds - this.segments[index].offset);
    if (index === this.current && this.video.readyState >= 1) {
      this.video.currentTime = at;
    } else {
      this.load(index, at);
    }
  }
}

function jumpButton(at, label, timeline, extra = null) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "replay__jump";
  button.dataset.at = String(at);
  button.setAttribute("aria-label", `${t("replay.jump", { time: clock(at) })}: ${label}`);
  const time = document.createElement("span");
  time.className = "replay__time";
  time.textContent = clock(at);
  const text = document.createElement("span");
  text.className = "replay__text";
  text.textContent = label;
  button.append(time, text);
  if (extra) text.append(extra);
  button.addEventListener("click", () => {
    timeline.seek(at);
    video.play().catch(() => {});
    video.focus();
  });
  return button;
}

function questionLabel(question) {
  return question.name ? `${question.name}: ${question.text}` : question.text;
}

function renderChapters(questions, timeline) {
  const list = document.getElementById("replay-chapters");
  document.getElementById("replay-chapters-empty").hidden = questions.length > 0;
  for (const question of questions) {
    const item = document.createElement("li");
    item.append(jumpButton(question.at, question.text, timeline));
    list.append(item);
  }
}

/** When it was said, on the clock of the day (the event's zone, zone named). */
function wallClock(entry) {
  const ts = Number(entry.ts);
  if (!(ts > 0)) return null;
  const time = document.createElement("time");
  time.className = "replay__clock";
  time.dateTime = new Date(ts).toISOString();
  time.textContent = formatTime(ts);
  return time;
}

function renderMoments(listId, items, label, timeline, extra = () => null) {
  const list = document.getElementById(listId);
  if (!list) return [];
  return items.map((entry) => {
    const item = document.createElement("li");
    item.hidden = true;
    item.dataset.at = String(entry.at);
    item.append(jumpButton(entry.at, label(entry), timeline, extra(entry)));
    const clockTime = wallClock(entry);
    if (clockTime) item.append(clockTime);
    list.append(item);
    return item;
  });
}

function answeredMark(question) {
  const parts = [];
  if (question.votes) parts.push(tn("replay.votes", question.votes));
  if (!question.answered && !parts.length) return null;
  const mark = document.createElement("span");
  mark.className = "replay__answered";
  mark.textContent = question.answered ? [t("replay.answered"), ...parts].join(" · ") : parts[0];
  return mark;
}

/** Show what had happened by `now`; mark the chapter being played. */
function reveal(now, groups, chapters) {
  for (const [items, empty] of groups) {
    let shown = 0;
    for (const item of items) {
      const visible = Number(item.dataset.at) <= now + 0.25;
      if (item.hidden === visible) item.hidden = !visible;
      if (visible) shown += 1;
    }
    if (empty) empty.hidden = shown > 0;
  }
  let current = null;
  for (const button of chapters) {
    if (Number(button.dataset.at) <= now + 0.25) current = button;
  }
  for (const button of chapters) {
    button.setAttribute("aria-current", button === current ? "true" : "false");
  }
}

async function start() {
  const id = root.dataset.session;
  let data;
  try {
    const response = await fetch(`/s/${encodeURIComponent(id)}/replay.json`, {
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    data = await response.json();
  } catch {
    status.textContent = t("replay.error");
    return;
  }
  if (!data.segments.length) {
    status.textContent = t("replay.error");
    return;
  }
  // WebM (VP8) or MP4 (H.264): a browser that plays neither is told so, not left waiting.
  if (data.segments.some((segment) => segment.type && !video.canPlayType(segment.type))) {
    status.textContent = t("replay.unsupported");
  }
  document.getElementById("replay-duration").textContent = t("replay.duration", {
    time: clock(data.duration),
  });
  const timeline = new Timeline(data.segments, video);
  timeline.load(0, 0);
  renderChapters(data.questions, timeline);
  const questions = renderMoments(
    "replay-questions",
    data.questions,
    questionLabel,
    timeline,
    answeredMark,
  );
  const chat = renderMoments(
    "replay-chat",
    data.chat,
    (message) => `${message.name}: ${message.text}`,
    timeline,
  );
  const groups = [
    [questions, document.getElementById("replay-questions-empty")],
    [chat, document.getElementById("replay-chat-empty")],
  ];
  const chapters = [...document.querySelectorAll("#replay-chapters .replay__jump")];
  const update = () => reveal(timeline.time, groups, chapters);
  video.addEventListener("timeupdate", update);
  video.addEventListener("seeked", update);
  video.addEventListener("error", () => {
    status.textContent = t("replay.error");
  });
  update();
  window.streamReplay = timeline; // for tests and the console
}

if (root && video) start();
