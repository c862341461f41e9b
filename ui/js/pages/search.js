// Search: GET /api/search with the filters of `ncenctl search`; the
// filters live in the hash (#/search?q=…) so a result list can be linked.
// Country, route country and commodity are searchable pickers
// (ui/js/picker.js); a commodity is a category, a subtype or
// category/subtype, and any such code may be typed.
import {ApiError, Call, Query} from '../api.js';
import {Go} from '../app.js';
import {CodeLists} from '../code_lists.js';
import {kEnums} from '../codes.js';
import {h, replace} from '../dom.js';
import {EnumLabel, t} from '../i18n.js';
import {MakeList, Picker} from '../picker.js';

const kCommodityPattern = /^[a-z0-9_]{1,64}(\/[a-z0-9_]{1,64})?$/;

// Categories (by their label), then each category/subtype of the lists.
function CommodityList(lists) {
  const entries = kEnums.GoodsCategory.map((code) => ({code, label: EnumLabel('GoodsCategory', code)}));
  for (const category of kEnums.GoodsCategory) {
    for (const entry of lists.subtypes[category].entries) {
      entries.push({code: `${category}/${entry.code}`, label: `${EnumLabel('GoodsCategory', category)} — ${entry.label}`});
    }
  }
  return MakeList(entries);
}

const kFilters = ['q', 'type', 'from', 'to', 'country', 'commodity', 'route_country', 'mode', 'detection',
  'concealment', 'limit'];

function Select(name, values, label_of, current) {
  return h('select', {id: `search-${name}`, name},
    h('option', {value: ''}, t('search.any')),
    values.map((value) => h('option', {value, selected: value === current}, label_of(value))));
}

export async function Render(view, {params}) {
  const get = (name) => params.get(name) || '';
  const lists = await CodeLists();
  const PickerOf = (name, list, options = {}) => Picker({id: `search-${name}`, name, path: name, value: get(name), list,
    label: t(`search.${name}`), ...options});
  const pickers = {
    country: PickerOf('country', lists.country),
    route_country: PickerOf('route_country', lists.country),
    commodity: PickerOf('commodity', CommodityList(lists), {free: true, pattern: kCommodityPattern}),
  };
  const controls = {
    q: h('input', {id: 'search-q', name: 'q', type: 'search', value: get('q'), maxlength: 500}),
    type: Select('type', ['seizure', 'suspect', 'company', 'seizure_report'], (v) => t(`type.${v}`), get('type')),
    from: h('input', {id: 'search-from', name: 'from', type: 'date', value: get('from')}),
    to: h('input', {id: 'search-to', name: 'to', type: 'date', value: get('to')}),
    country: pickers.country.input,
    commodity: pickers.commodity.input,
    route_country: pickers.route_country.input,
    mode: Select('mode', kEnums.TransportMode, (v) => EnumLabel('TransportMode', v), get('mode')),
    detection: Select('detection', kEnums.DetectionMethod, (v) => EnumLabel('DetectionMethod', v), get('detection')),
    concealment: Select('concealment', kEnums.ConcealmentMethod, (v) => EnumLabel('ConcealmentMethod', v),
      get('concealment')),
    limit: h('input', {id: 'search-limit', name: 'limit', type: 'number', min: 1, max: 10000, value: get('limit'),
      placeholder: '100'}),
  };
  // A picker's value is its code; the box shows the code and its label.
  const Values = () => Object.fromEntries(kFilters.map((name) =>
    [name, pickers[name] ? controls[name].dataset.code || '' : controls[name].value]));
  const form = h('form', {class: 'search', role: 'search'},
    h('div', {class: 'search-main'},
      h('label', {for: 'search-q'}, t('search.q')), controls.q,
      h('button', {type: 'submit', id: 'search-submit'}, t('search.submit'))),
    h('details', {id: 'search-filters', open: kFilters.slice(1).some((name) => get(name)) ? true : false},
      h('summary', {}, t('search.filters')),
      h('div', {class: 'fields'}, kFilters.slice(1).map((name) =>
        h('div', {class: `field${pickers[name] ? ' field-picker' : ''}`},
          h('label', {for: `search-${name}`}, t(`search.${name}`)), pickers[name] ? pickers[name].element : controls[name])))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    Go(`#/search${Query(Values())}`);
  });
  view.append(h('h1', {}, t('search.title')), form);

  const results = h('div', {id: 'results', 'aria-live': 'polite'});
  view.append(results);
  const query = {};
  for (const name of kFilters) query[name] = get(name);
  // Results come as the officer types (a pause of kTypingPauseMs), without
  // leaving the page: the hash is replaced so the list can still be linked.
  let timer = null;
  controls.q.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!results.isConnected) return;  // the page was left or drawn again
      const values = Values();
      if (values.q.trim().length < 2 && !kFilters.some((name) => name !== 'q' && name !== 'limit' && values[name])) return;
      history.replaceState(null, '', `#/search${Query(values)}`);
      Show(results, values);
    }, kTypingPauseMs);
  });
  if (!kFilters.some((name) => name !== 'limit' && get(name))) {
    results.append(h('p', {class: 'hint'}, t('search.hint')));
    return;
  }
  await Show(results, query);
}

const kTypingPauseMs = 80;
const kTextBytesMax = 500;

// The answers are shown in `results` only for the newest search asked for
// there: an older answer arriving late is dropped (the count lives on the
// element, so a page drawn again starts its own).
async function Show(results, query) {
  const mine = (results.ncenAsked || 0) + 1;
  results.ncenAsked = mine;
  const current = () => results.ncenAsked === mine && results.isConnected;
  // The server takes 500 bytes of text (UTF-8): 250 Arabic letters, say.
  if (new TextEncoder().encode(query.q || '').length > kTextBytesMax) {
    replace(results, h('p', {class: 'error', role: 'alert'}, t('search.too_long', {max: kTextBytesMax})));
    return;
  }
  let answer;
  const started = performance.now();
  try {
    answer = await Call('GET', `/api/search${Query(query)}`);
  } catch (error) {
    if (!current()) return;
    const field = error instanceof ApiError && error.field ? ` (${error.field})` : '';
    replace(results, h('p', {class: 'error', role: 'alert'}, error.message + field));
    return;
  }
  if (!current()) return;
  const rows = answer.data;
  const behind = answer.headers.get('X-Ncen-Index-Behind');
  replace(results, h('p', {class: 'count'}, t('search.count', {count: rows.length, ms: Math.round(performance.now() - started)})),
    behind ? h('p', {class: 'warn'}, t('search.index_behind', {count: behind})) : null,
    rows.length === 0 ? null : h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'results-table'},
      h('thead', {}, h('tr', {}, ['type', 'summary', 'versions'].map((key) => h('th', {scope: 'col'}, t(`search.col.${key}`))))),
      h('tbody', {}, rows.map((row) => h('tr', {class: row.versions > 1 ? 'conflict' : ''},
        h('td', {}, t(`type.${row.type}`)),
        h('td', {}, h('a', {href: `#/record/${row.id}`}, row.quarantined ? t('record.quarantined') : (row.summary || row.id))),
        h('td', {class: 'num'}, String(row.versions))))))));
  // For the browser tests' timing: which text these results are for.
  results.dataset.q = query.q || '';
}
