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

const clockFormats = new Map();

function clockFormat(seconds) {
  let format = clockFormats.get(seconds);
  if (!format) {
    const second = seconds ? { second: "2-digit" } : {};
    format =
      lang === "sv"
        ? new Intl.DateTimeFormat("sv-SE", {
            hour: "2-digit",
            minute: "2-digit",
            ...second,
            hourCycle: "h23",
            timeZone: TIME_ZONE,
          })
        : new Intl.DateTimeFormat(browserLocales(), {
            hour: "numeric",
            minute: "2-digit",
            ...second,
            timeZone: TIME_ZONE,
          });
    clockFormats.set(seconds, format);
  }
  return format;
}

/** The clock time of `date` as this page's language shows it, in the event's zone. */
export function formatClock(date, { seconds = false } = {}) {
  return clockFormat(Boolean(seconds)).format(date);
}

const offsetFormat = new Intl.DateTimeFormat("en-US", {
  timeZone: TIME_ZONE,
  timeZoneName: "shortOffset",
});
const ZONE_NAMES = { "GMT+1": "CET", "GMT+2": "CEST" };

/** The event zone's name at `date`: CET, or CEST in summer (as the server's pages say). */
export function zoneName(date) {
  const part = offsetFormat.formatToParts(date).find((p) => p.type === "timeZoneName");
  const offset = part?.value || "";
  return ZONE_NAMES[offset] || offset;
}

/**
 * A moment as every script shows it (chat messages, questions, the moderation log): the clock
 * in this page's language and the event's zone, zone named: `14:05 CET` on Swedish pages,
 * `2:05 PM CET` on English ones in a US browser. The server's pages say the same
 * (`When.time` in stream/common/display.py).
 */
export function formatTime(date, { seconds = false } = {}) {
  const moment = date instanceof Date ? date : new Date(date);
  return `${formatClock(moment, { seconds })} ${zoneName(moment)}`;
}

function formatRange(start, end, style) {
  const options =
    style === "day"
      ? { dateStyle: "full", timeStyle: "short", timeZone: TIME_ZONE }
      : { hour: "numeric", minute: "2-digit", timeZone: TIME_ZONE };
  if (style === "seconds") options.second = "2-digit";
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
    element.textContent = formatRange(start, end, element.dataset.clockStyle);
  }
}

// Every page that loads these strings shows its times this way (module scripts run once the
// document is parsed, so the server's <time> elements are there).
localizeTimes(document);
