// The code lists of the entry form's pickers (ui/js/picker.js): the
// built-in ones of codes.js (enumerations with their i18n labels,
// countries and currencies named by the browser's Intl.DisplayNames in the
// chosen language) and the node's own, from GET /api/codes (offices and HS
// codes from DIR/code-lists/*.tsv, subtypes per category). The node's lists
// are asked for once per page load; a node without the route (404) gives
// the built-in lists only. Each list is prepared for filtering once per
// language.
import {ApiError, Get} from './api.js';
import {kCountries, kCurrencies, kEnums, kSubtypes} from './codes.js';
import {EnumLabel, Language} from './i18n.js';
import {MakeList} from './picker.js';

let node_codes = null;  // a promise of the answer of GET /api/codes
let prepared = null;    // {lang, lists}

function NodeCodes() {
  node_codes ??= Get('/api/codes').then((answer) => answer || {}, (error) => {
    node_codes = null;  // asked again next time, unless the node has no such route
    if (error instanceof ApiError && error.status === 404) {
      node_codes = Promise.resolve({});
      return {};
    }
    return {problems: [error.message]};
  });
  return node_codes;
}

function Names(type, lang) {
  try {
    const names = new Intl.DisplayNames([lang, 'en'], {type, fallback: 'none'});
    return (code) => names.of(code) || '';
  } catch (error) {
    return () => '';  // no Intl.DisplayNames: codes alone
  }
}

function Pairs(items) {
  if (!Array.isArray(items)) return [];
  return items.filter((item) => item && typeof item.code === 'string' && item.code !== '')
    .map((item) => ({code: item.code, label: typeof item.label === 'string' ? item.label : ''}));
}

// {country, currency, office, hs, unit, detection, concealment,
//  subtypes: {category: list}, problems: [text]}: every list from MakeList.
export async function CodeLists() {
  const lang = Language();
  const node = await NodeCodes();
  if (prepared && prepared.lang === lang && prepared.node === node) return prepared.lists;
  const country = Names('region', lang);
  const currency = Names('currency', lang);
  const enumeration = (name) => MakeList(kEnums[name].map((code) => ({code, label: EnumLabel(name, code)})),
    {show_code: false});
  const subtypes = {};
  for (const category of kEnums.GoodsCategory) {
    const theirs = node.subtypes && Array.isArray(node.subtypes[category]) ? node.subtypes[category] : [];
    const codes = [...new Set([...(kSubtypes[category] || []), ...theirs.filter((c) => typeof c === 'string')])];
    subtypes[category] = MakeList(codes.map((code) => ({code, label: code.replace(/_/g, ' ')})));
  }
  const lists = {
    country: MakeList(kCountries.map((code) => ({code, label: country(code)}))),
    currency: MakeList(kCurrencies.map((code) => ({code, label: currency(code)}))),
    office: MakeList(Pairs(node.offices)),
    hs: MakeList(Pairs(node.hs_codes)),
    unit: enumeration('Unit'),
    detection: enumeration('DetectionMethod'),
    concealment: enumeration('ConcealmentMethod'),
    subtypes,
    problems: Array.isArray(node.problems) ? node.problems.map(String) : [],
  };
  prepared = {lang, node, lists};
  return lists;
}
