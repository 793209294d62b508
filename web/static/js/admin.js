// The back office: focus the error summary, copy keys, confirm deletions, and keep the
// event-day overview current. Everything works without this script; it only helps.
import { t } from "./i18n.js";

const POLL_INTERVAL_MS = 5000;
const MAX_POLL_FAILURES = 5;

function focusErrorSummary() {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
}

async function copyFrom(input, status) {
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    input.select();
    copied = document.execCommand ? document.execCommand("copy") : false;
  }
  if (status) status.textContent = copied ? t("admin.key.copied") : t("admin.key.copy_manually");
}

function setUpCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) continue;
    const status = button.closest(".field")?.querySelector("[data-copy-status]");
    button.addEventListener("click", () => copyFrom(input, status));
    input.addEventListener("focus", () => input.select());
  }
}

function setUpConfirmations() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

function updateRow(row, state) {
  const badge = row.querySelector('[data-field="state"]');
  if (badge && badge.dataset.state !== state.state) {
    badge.dataset.state = state.state;
    badge.className = `state-badge state-badge--${state.state}`;
    badge.textContent = t(`program.state.${state.state}`);
  }
  const publishing = row.querySelector('[data-field="publishing"]');
  if (publishing) {
    publishing.dataset.publishing = state.publishing ? "yes" : "no";
    publishing.textContent = t(state.publishing ? "admin.publishing.yes" : "admin.publishing.no");
  }
  const viewers = row.querySelector('[data-field="viewers"]');
  if (viewers) viewers.textContent = String(state.viewers);
}

function setUpOverview() {
  const section = document.querySelector("[data-overview][data-poll]");
  if (!section) return;
  const summary = document.getElementById("overview-summary");
  let failures = 0;
  let timer = null;

  async function poll() {
    timer = null;
    if (document.hidden) return;
    try {
      const response = await fetch(section.dataset.poll, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const body = await response.json();
      let live = 0;
      let viewers = 0;
      for (const row of section.querySelectorAll("tr[data-session]")) {
        const state = body.sessions[row.dataset.session];
        if (!state) continue;
        updateRow(row, state);
        if (state.live) live += 1;
        viewers += state.viewers;
      }
      if (summary) summary.textContent = t("admin.dashboard.summary", { live, viewers });
      failures = 0;
    } catch {
      failures += 1;
    }
    if (failures < MAX_POLL_FAILURES) timer = window.setTimeout(poll, POLL_INTERVAL_MS);
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer === null && failures < MAX_POLL_FAILURES) poll();
  });
  timer = window.setTimeout(poll, POLL_INTERVAL_MS);
}

focusErrorSummary();
setUpCopyButtons();
setUpConfirmations();
setUpOverview();
