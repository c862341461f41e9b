// Statistics (analysts): a pivot of seizures — or, on a regional hub, of
// seizure reports — by one or two dimensions over a date range
// (GET /api/stats, `ncenctl stats`), as a table, and for one dimension a
// bar chart drawn here as SVG (no chart library, nothing fetched).
import {Get, Query} from '../api.js';
import {h} from '../dom.js';
import {t} from '../i18n.js';

const kDimensions = ['commodity', 'category', 'country', 'route_country', 'mode', 'detection', 'concealment',
  'office', 'month', 'quarter', 'year'];
const kSvg = 'http://www.w3.org/2000/svg';

function Svg(tag, attrs, ...children) {
  const el = document.createElementNS(kSvg, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) {
    if (child instanceof Node) el.appendChild(child);
    else if (child !== undefined && child !== null) el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

function Sums(sums) {
  return Object.entries(sums || {}).map(([unit, amount]) => `${Number(amount).toLocaleString()} ${unit}`).join('; ');
}

// Horizontal bars of records per cell, the largest 25 (labels are text nodes).
function Chart(cells, dimension) {
  const rows = [...cells].sort((a, b) => b.records - a.records).slice(0, 25);
  const max = Math.max(1, ...rows.map((c) => c.records));
  const bar_height = 18, gap = 6, label_width = 180, width = 640;
  const height = rows.length * (bar_height + gap) + gap;
  const svg = Svg('svg', {viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', id: 'stats-chart',
    'aria-label': t('stats.chart_label', {by: t(`stats.dim.${dimension}`)})});
  rows.forEach((cell, i) => {
    const y = gap + i * (bar_height + gap);
    const w = Math.max(1, Math.round(((width - label_width - 60) * cell.records) / max));
    svg.append(
      Svg('text', {x: label_width - 6, y: y + bar_height - 5, 'text-anchor': 'end', class: 'chart-label'}, String(cell[dimension])),
      Svg('rect', {x: label_width, y, width: w, height: bar_height, class: 'chart-bar'}),
      Svg('text', {x: label_width + w + 4, y: y + bar_height - 5, class: 'chart-value'}, String(cell.records)));
  });
  return svg;
}

function Table(result) {
  const dims = result.by;
  return h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'stats-table'},
    h('thead', {}, h('tr', {}, dims.map((d) => h('th', {scope: 'col'}, t(`stats.dim.${d}`))),
      h('th', {scope: 'col', class: 'num'}, t('stats.records')), h('th', {scope: 'col'}, t('stats.quantity')),
      h('th', {scope: 'col'}, t('stats.value')))),
    h('tbody', {}, result.cells.map((cell) => h('tr', {},
      dims.map((d) => h('td', {}, String(cell[d]))),
      h('td', {class: 'num'}, String(cell.records)), h('td', {}, Sums(cell.quantity)), h('td', {}, Sums(cell.value))))),
    h('tfoot', {}, h('tr', {}, h('th', {scope: 'row', colspan: dims.length}, t('stats.total')),
      h('td', {class: 'num', id: 'stats-total'}, String(result.total.records)), h('td', {}, Sums(result.total.quantity)),
      h('td', {}, Sums(result.total.value))))));
}

function Select(id, label, options, value, empty) {
  return h('div', {class: 'field'}, h('label', {for: id}, label),
    h('select', {id, name: id},
      empty ? h('option', {value: ''}, empty) : null,
      options.map((o) => h('option', {value: o, selected: o === value}, t(`stats.dim.${o}`)))));
}

export async function Render(view, {params}) {
  const by1 = params.get('by1') || 'commodity', by2 = params.get('by2') || '';
  const from = params.get('from') || '', to = params.get('to') || '';
  const form = h('form', {id: 'stats-form', class: 'fields'},
    Select('by1', t('stats.by1'), kDimensions, by1),
    Select('by2', t('stats.by2'), kDimensions, by2, t('stats.none')),
    h('div', {class: 'field'}, h('label', {for: 'from'}, t('search.from')), h('input', {id: 'from', name: 'from', type: 'date', value: from})),
    h('div', {class: 'field'}, h('label', {for: 'to'}, t('search.to')), h('input', {id: 'to', name: 'to', type: 'date', value: to})),
    h('div', {class: 'field'}, h('button', {type: 'submit', id: 'stats-run'}, t('stats.run'))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = `#/stats${Query({by1: data.get('by1'), by2: data.get('by2'), from: data.get('from'), to: data.get('to')})}`;
  });
  view.append(h('h1', {}, t('stats.title')), form);
  const out = h('section', {id: 'stats-result', 'aria-live': 'polite'});
  view.append(out);
  const by = by2 && by2 !== by1 ? `${by1},${by2}` : by1;
  try {
    const result = await Get(`/api/stats${Query({by, from, to})}`);
    out.append(h('p', {}, t('stats.summary', {type: t(`stats.type.${result.type}`), records: result.total.records})));
    if (result.by.length === 1 && result.cells.length > 0) out.append(Chart(result.cells, result.by[0]));
    out.append(Table(result));
  } catch (error) {
    out.append(h('p', {class: 'error', role: 'alert'}, error.message));
  }
}
