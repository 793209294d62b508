// The programme: a live badge and viewer count on each session, refreshed now and then; a star
// on each card for a personal list ("my sessions", kept in this browser's localStorage), the
// "my sessions" view and its calendar file (/program.ics?ids=...).

import { lang, t, tn } from "./i18n.js";
import { fetchStatus, statusUrl } from "./status.js";

const REFRESH_MS = 15000;
const STORAGE_KEY = "stream.programme.starred";
const MAX_STARRED = 200; // as many as /program.ics?ids= takes
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

async function refresh(card) {
  const status = await fetchStatus(statusUrl(card.dataset.session));
  if (!status) return; // keep what is shown; the next round tries again
  card.dataset.live = String(Boolean(status.live));
  card.querySelector("[data-live-badge]").hidden = !status.live;
  const viewers = card.querySelector("[data-viewers]");
  viewers.hidden = !status.live;
  viewers.textContent = tn("programme.viewers", status.viewers);
}

function refreshAll() {
  if (document.hidden) return;
  document.querySelectorAll(".session-card[data-session]").forEach(refresh);
}

// ---- My sessions ----

function readStarred() {
  let stored = [];
  try {
    stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "[]");
  } catch {
    stored = [];
  }
  if (!Array.isArray(stored)) return new Set();
  return new Set(stored.filter((id) => typeof id === "string" && ID_PATTERN.test(id)).slice(0, MAX_STARRED));
}

function saveStarred(starred) {
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify([...starred]));
  } catch {
    // private mode or full storage: the stars last as long as the page
  }
}

let starred = readStarred();
const programme = document.querySelector("[data-programme-view]");
const mineView = programme?.dataset.programmeView === "mine";
const announcer = document.createElement("p");
announcer.className = "visually-hidden";
announcer.setAttribute("role", "status");
document.body.append(announcer);

function calendarUrl(ids) {
  const query = new URLSearchParams({ ids: [...ids].join(","), lang });
  return `/program.ics?${query}`;
}

function render() {
  for (const button of document.querySelectorAll("[data-star]")) {
    button.hidden = false;
    button.setAttribute("aria-pressed", String(starred.has(button.dataset.star)));
  }
  for (const count of document.querySelectorAll("[data-my-count]")) {
    count.textContent = starred.size ? `(${starred.size})` : "";
  }
  if (!mineView) return;
  // The "my sessions" view: the cards by day, only the starred ones.
  let shown = 0;
  for (const card of programme.querySelectorAll("[data-group] .session-card")) {
    const mine = starred.has(card.dataset.session);
    card.hidden = !mine;
    if (mine) shown += 1;
  }
  for (const group of programme.querySelectorAll("[data-group]")) {
    group.hidden = !group.querySelector(".session-card:not([hidden])");
  }
  for (const tab of programme.querySelectorAll("[data-day-tab]")) {
    const target = document.getElementById(tab.hash.slice(1));
    tab.parentElement.hidden = Boolean(target?.closest("[data-group]")?.hidden);
  }
  const ics = programme.querySelector("[data-my-ics]");
  const visible = [...starred].filter((id) => programme.querySelector(`[data-group] [data-session="${id}"]`));
  ics.hidden = visible.length === 0;
  ics.href = calendarUrl(visible);
  programme.querySelector("[data-my-empty]").hidden = shown > 0;
  programme.querySelector("[data-my-some]").hidden = shown === 0;
}

function toggle(button) {
  const id = button.dataset.star;
  const on = !starred.has(id);
  if (on) {
    if (starred.size >= MAX_STARRED) return;
    starred.add(id);
  } else {
    starred.delete(id);
  }
  saveStarred(starred);
  announcer.textContent = on ? t("programme.starred") : t("programme.unstarred");
  const card = button.closest(".session-card");
  render();
  // In "my sessions" a card un-starred leaves the list: keep the keyboard's place on the heading.
  if (card?.hidden) document.getElementById("all-title")?.focus();
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-star]");
  if (button) toggle(button);
});
// Another tab of this site changed the list.
window.addEventListener("storage", (event) => {
  if (event.key !== STORAGE_KEY) return;
  starred = readStarred();
  render();
});

render();
refreshAll();
setInterval(refreshAll, REFRESH_MS);
document.addEventListener("visibilitychange", refreshAll);

// ---- The filter bar on a phone: folded behind its "Filter" button ----

function collapsibleFilters(form) {
  const toggle = form?.querySelector("[data-filters-toggle]");
  if (!toggle) return;
  form.classList.add("filters--collapsible");
  toggle.hidden = false;
  const open = (yes) => {
    form.classList.toggle("filters--open", yes);
    toggle.setAttribute("aria-expanded", String(yes));
  };
  open(false);
  toggle.addEventListener("click", () => {
    const opening = toggle.getAttribute("aria-expanded") !== "true";
    open(opening);
    if (opening) form.querySelector("#filter-q")?.focus();
  });
}

collapsibleFilters(document.querySelector("form.filters"));
