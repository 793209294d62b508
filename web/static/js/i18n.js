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
