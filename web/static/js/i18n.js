// UI strings for scripts: the page's catalogue (from <script type="application/json" id="i18n">)
// in the page's language. Placeholders are `{name}`, as in the server's catalogues.

function readCatalogue() {
  const element = document.getElementById("i18n");
  if (!element) return {};
  try {
    return JSON.parse(element.textContent || "{}");
  } catch {
    return {};
  }
}

const catalogue = readCatalogue();

export const lang = document.documentElement.lang || "sv";

const pluralRules = new Intl.PluralRules(lang);
const numberFormat = new Intl.NumberFormat(lang);

/** The text for `key` with `{name}` placeholders filled from `params` (the key if missing). */
export function t(key, params = {}) {
  const text = Object.hasOwn(catalogue, key) ? catalogue[key] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/** A counted text: `key.one` / `key.other` (CLDR plural forms), with `{count}` formatted. */
export function tn(key, count, params = {}) {
  const form = `${key}.${pluralRules.select(count)}`;
  const chosen = Object.hasOwn(catalogue, form) ? form : `${key}.other`;
  return t(chosen, { ...params, count: numberFormat.format(count) });
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(lang, options).format(value);
}

// ---- Times: one format per language, always in the event's zone ----
// Swedish pages keep the server's 24-hour clock (10:00–11:30). English pages show times in the
// browser's own locale (10:00 AM in the US, 10:00 in Britain), still in the event's zone: the
// server renders <time data-clock="ISO" data-clock-end="ISO"> and `localizeTimes` rewrites them.

export const TIME_ZONE = "Europe/Stockholm";

function browserLocales() {
  const preferred = (navigator.languages || []).filter((tag) => /^en\b/i.test(tag));
  return preferred.length ? preferred : ["en"];
}

/** The clock time of `date` as this page's language shows it, in the event's zone. */
export function formatClock(date) {
  if (lang === "sv") {
    return new Intl.DateTimeFormat("sv-SE", {
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone: TIME_ZONE,
    }).format(date);
  }
  return new Intl.DateTimeFormat(browserLocales(), {
    hour: "numeric",
    minute: "2-digit",
    timeZone: TIME_ZONE,
  }).format(date);
}

function formatRange(start, end, withDay) {
  const options = withDay
    ? { dateStyle: "full", timeStyle: "short", timeZone: TIME_ZONE }
    : { hour: "numeric", minute: "2-digit", timeZone: TIME_ZONE };
  const format = new Intl.DateTimeFormat(browserLocales(), options);
  if (!end) return format.format(start);
  return typeof format.formatRange === "function"
    ? format.formatRange(start, end)
    : `${format.format(start)}\u2013${format.format(end)}`;
}

/** Rewrite the server's times under `root` in the browser's English locale (English pages). */
export function localizeTimes(root = document) {
  if (lang === "sv") return;
  for (const element of root.querySelectorAll("time[data-clock]")) {
    const start = new Date(element.dataset.clock);
    const end = element.dataset.clockEnd ? new Date(element.dataset.clockEnd) : null;
    if (Number.isNaN(start.getTime()) || (end && Number.isNaN(end.getTime()))) continue;
    element.textContent = formatRange(start, end, element.dataset.clockStyle === "day");
  }
}

// Every page that loads these strings shows its times this way (module scripts run once the
// document is parsed, so the server's <time> elements are there).
localizeTimes(document);
