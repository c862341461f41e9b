// Translations: one JSON dictionary per language under ui/i18n/ (flat
// keys such as "login.title", "field.date", "enum.Unit.kg"), plus "_dir"
// ("ltr" or "rtl"). A key missing in the chosen language falls back to
// English, then to a readable form of the key itself. The choice is kept
// in localStorage.

export const kLanguages = ['en', 'fr', 'ar'];
const kStorageKey = 'ncen.lang';
const dictionaries = {};
let current = 'en';

const loading = {};

function Load(lang) {
  loading[lang] ??= fetch(`i18n/${lang}.json`).then((response) => {
    if (!response.ok) throw new Error(`i18n/${lang}.json: HTTP ${response.status}`);
    return response.json();
  }).then((dictionary) => { dictionaries[lang] = dictionary; }, (error) => { delete loading[lang]; throw error; });
  return loading[lang];
}

export function Language() { return current; }

// Loads `lang` (and English) and applies lang and dir to <html>.
export async function SetLanguage(lang) {
  if (!kLanguages.includes(lang)) lang = 'en';
  await Promise.all([Load('en'), Load(lang)]);
  current = lang;
  localStorage.setItem(kStorageKey, lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = dictionaries[lang]._dir || 'ltr';
}

export function SavedLanguage() {
  const saved = localStorage.getItem(kStorageKey);
  if (saved && kLanguages.includes(saved)) return saved;
  const browser = (navigator.language || 'en').slice(0, 2);
  return kLanguages.includes(browser) ? browser : 'en';
}

// The text for `key`, with {name} placeholders filled from `vars`.
export function t(key, vars) {
  let text = (dictionaries[current] && dictionaries[current][key]) ?? (dictionaries.en && dictionaries.en[key]);
  if (text === undefined) text = key.slice(key.lastIndexOf('.') + 1).replace(/_/g, ' ');
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return text;
}

// The label of enumerant `value` of enumeration `name` (data-model.md).
export function EnumLabel(name, value) { return t(`enum.${name}.${value}`); }

// Whether the current language has its own text for `key` (used by tests).
export function Has(key) { return !!(dictionaries[current] && key in dictionaries[current]); }
