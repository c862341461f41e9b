// Record page: GET /api/records/{id}, every field; linked suspects and
// companies; a suspect's or company's seizures (GET …/seizures); buttons
// to add a suspect or company to a seizure; photos (GET …/photos, /api/photos/{hash}?preview=1); a record
// in conflict shows its versions side by side, differing fields marked;
// the history of its versions (GET …/history: who, when, which office).
// An office or HS code is shown with its label when the node's code list
// (GET /api/codes, code_lists.js) has it. Every value is put in as text.
import {ApiError, Get} from '../api.js';
import {CodeLists} from '../code_lists.js';
import {Fold} from '../picker.js';
import {kFieldEnum} from '../codes.js';
import {h} from '../dom.js';
import {EnumLabel, t} from '../i18n.js';

export const kVersionMeta = ['author', 'seq', 'timestamp', 'op', 'winner'];
const kLinkFields = {suspects: 'suspect', companies: 'company'};

export function Label(key) { return t(`field.${key}`); }

// One value as readable text (enumerants by their label).
export function Text(key, value) {
  if (value === null || value === undefined) return '';
  if (kFieldEnum[key] && typeof value === 'string') return EnumLabel(kFieldEnum[key], value);
  if (Array.isArray(value)) return value.map((item) => Text(key, item)).join(', ');
  if (typeof value === 'object') {
    if ('amount' in value && 'currency' in value) {
      return `${value.amount} ${value.currency}${value.basis ? ` (${EnumLabel('ValueBasis', value.basis)})` : ''}`;
    }
    return Object.entries(value).map(([k, v]) => `${Label(k)}: ${Text(k, v)}`).join('; ');
  }
  return String(value);
}

function RecordLink(id, type) {
  const link = h('a', {href: `#/record/${id}`, class: `link-${type}`}, id);
  Get(`/api/records/${encodeURIComponent(id)}`).then((record) => {
    const name = record.type === 'suspect' ? [record.surname, record.forenames].filter(Boolean).join(', ')
      : record.type === 'company' ? record.name : null;
    if (name) link.textContent = name;
  }).catch(() => link.after(` (${t('record.missing')})`));
  return link;
}

// The fields whose codes have a label in the node's lists, and which list.
const kLabelledCodes = {office: 'office', hs_code: 'hs'};

// "CODE — label" for an office or HS code its list has; else the text.
function CodeText(key, value, lists) {
  const list = lists && kLabelledCodes[key] && typeof value === 'string' ? lists[kLabelledCodes[key]] : null;
  const entry = list && list.by_code.get(Fold(value));
  return entry && entry.label ? `${value} — ${entry.label}` : Text(key, value);
}

function Table(key, items, lists) {
  const columns = [];
  for (const item of items) for (const column of Object.keys(item)) if (!columns.includes(column)) columns.push(column);
  return h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: `field-${key}`},
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, '#'), columns.map((c) => h('th', {scope: 'col'}, Label(c))))),
    h('tbody', {}, items.map((item, index) => h('tr', {},
      h('td', {class: 'num'}, String(index + 1)),
      columns.map((c) => h('td', {class: typeof item[c] === 'number' ? 'num' : ''}, CodeText(c, item[c], lists))))))));
}

function Value(key, value, lists) {
  if (kLinkFields[key]) return h('ul', {class: 'links'}, value.map((id) => h('li', {}, RecordLink(id, kLinkFields[key]))));
  if (Array.isArray(value) && value.length && typeof value[0] === 'object') return Table(key, value, lists);
  if (value && typeof value === 'object' && !Array.isArray(value) && !('amount' in value)) {
    return h('dl', {class: 'nested'}, Object.entries(value).map(([k, v]) => [h('dt', {}, Label(k)), h('dd', {}, Text(k, v))]));
  }
  const text = CodeText(key, value, lists);
  return (key === 'narrative' || key === 'notes' || key === 'concealment_note')
    ? h('p', {class: 'long', id: `field-${key}`}, text) : h('span', {id: `field-${key}`}, text);
}

function Title(record) {
  switch (record.type) {
    case 'seizure': return `${t('type.seizure')} ${record.reference || ''} — ${record.date || ''} ${record.office || ''}`;
    case 'suspect': return `${t('type.suspect')}: ${[record.surname, record.forenames].filter(Boolean).join(', ')}`;
    case 'company': return `${t('type.company')}: ${record.name || ''}`;
    default: return t(`type.${record.type}`);
  }
}

function Fields(record, lists) {
  const entries = Object.entries(record).filter(([key]) => !['id', 'type', 'versions'].includes(key));
  return h('dl', {class: 'fields-view'}, entries.map(([key, value]) =>
    h('div', {class: `row row-${key}`}, h('dt', {}, Label(key)), h('dd', {}, Value(key, value, lists)))));
}

export function Same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

// The versions of a record in conflict, one column each.
export function Versions(versions) {
  const keys = [];
  for (const version of versions) {
    for (const key of Object.keys(version)) if (!kVersionMeta.includes(key) && !keys.includes(key)) keys.push(key);
  }
  const header = h('tr', {}, h('th', {scope: 'col'}, t('record.field')), versions.map((version, index) =>
    h('th', {scope: 'col', class: [version.winner ? 'winner' : '', version.op === 'delete' ? 'deleted' : ''].join(' ').trim()},
      t('record.version', {n: index + 1}), h('br'),
      h('small', {}, `${t(`record.history_op.${version.op}`)} · ${version.timestamp} · ${String(version.author).slice(0, 12)}…`),
      version.winner ? h('small', {class: 'badge'}, t('record.shown')) : null,
      version.op === 'delete' ? h('small', {class: 'badge badge-deleted'}, t('record.version_deleted')) : null)));
  const rows = keys.map((key) => {
    const differs = !versions.every((version) => Same(version[key], versions[0][key]));
    return h('tr', {class: differs ? 'differs' : ''}, h('th', {scope: 'row'}, Label(key)),
      versions.map((version) => h('td', {}, Text(key, version[key]))));
  });
  return h('div', {class: 'table-wrap'},
    h('table', {class: 'grid versions', id: 'versions'}, h('thead', {}, header), h('tbody', {}, rows)));
}

// The seizures that link a suspect or company (GET …/seizures; the node
// logs it as a view).
async function LinkedSeizures(id) {
  const section = h('section', {id: 'linked-seizures'}, h('h2', {}, t('record.linked_seizures')));
  let seizures;
  try {
    seizures = await Get(`/api/records/${encodeURIComponent(id)}/seizures`);
  } catch (error) {
    section.append(h('p', {class: 'error'}, error.message));
    return section;
  }
  if (seizures.length === 0) {
    section.append(h('p', {}, t('record.no_linked_seizures')));
    return section;
  }
  section.append(h('ul', {class: 'links'}, seizures.map((item) => h('li', {},
    h('a', {href: `#/record/${item.id}`, class: 'link-seizure'}, item.summary || item.id),
    item.versions > 1 ? ` (${t('home.versions', {count: item.versions})})` : null))));
  return section;
}

async function Photos(id) {
  const section = h('section', {id: 'photos'}, h('h2', {}, t('record.photos')));
  let photos;
  try {
    photos = await Get(`/api/records/${encodeURIComponent(id)}/photos`);
  } catch (error) {
    section.append(h('p', {class: 'error'}, error.message));
    return section;
  }
  if (photos.length === 0) {
    section.append(h('p', {}, t('record.no_photos')));
    return section;
  }
  section.append(h('ul', {class: 'gallery'}, photos.map((photo) => h('li', {},
    h('figure', {},
      photo.preview_held
        ? h('a', {href: `/api/photos/${photo.image}`, target: '_blank', rel: 'noopener'},
          h('img', {src: `/api/photos/${photo.image}?preview=1`, alt: photo.caption || t('record.photo'), loading: 'lazy'}))
        : h('div', {class: 'placeholder'}, t('record.photo_pending')),
      h('figcaption', {}, [photo.caption, photo.note].filter(Boolean).join(' — ') || t('record.photo')))))));
  return section;
}

function HistoryWhen(iso) {
  const date = new Date(iso);
  return iso && !Number.isNaN(date.getTime()) ? date.toLocaleString() : (iso || '');
}

// Every version of the record, newest first: who wrote it (the officer and
// office for a version written through the API or ncenctl; the author
// node's name or fingerprint), when (the author's clock), what.
async function History(id) {
  const section = h('section', {id: 'history'}, h('h2', {}, t('record.history')));
  let history;
  try {
    history = await Get(`/api/records/${encodeURIComponent(id)}/history`);
  } catch (error) {
    // A node older than the history route answers 404 for the path.
    const no_route = error instanceof ApiError && error.status === 404 && /^no such API path/.test(error.message);
    section.append(h('p', {class: no_route ? 'hint' : 'error', id: no_route ? 'history-unavailable' : 'history-error'},
      no_route ? t('record.history_unavailable') : error.message));
    return section;
  }
  const entries = history.entries || [];
  if (entries.length === 0) {
    section.append(h('p', {}, t('record.history_none')));
    return section;
  }
  section.append(h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'history-table'},
    h('thead', {}, h('tr', {}, ['who', 'when', 'office', 'what', 'seq'].map((key) =>
      h('th', {scope: 'col'}, t(`record.history_col.${key}`))))),
    h('tbody', {}, entries.map((entry) => {
      const by = entry.entered_by;
      // The office named by the officer's entry, else the author node.
      const office = (by && by.node) || entry.author_name || String(entry.author || '').slice(0, 16);
      return h('tr', {class: entry.current ? 'current' : ''},
        h('td', {}, by && by.name ? by.name
          : t(entry.payload_held === false ? 'record.history_not_held'
            : entry.op === 'delete' || entry.op === 'purge' ? 'record.history_delete' : 'record.history_unknown_officer'),
          by && by.via ? h('small', {class: 'hint'}, ` (${t('record.history_via', {via: by.via})})`) : null),
        h('td', {}, HistoryWhen(entry.time)),
        h('td', {title: entry.author}, office, office !== entry.author_name && entry.author_name
          ? h('small', {class: 'hint'}, ` (${entry.author_name})`) : null),
        h('td', {}, t(`record.history_op.${entry.op}`),
          entry.current ? h('small', {class: 'badge'}, t('record.history_current')) : null),
        h('td', {class: 'num'}, String(entry.seq ?? '')));
    })))));
  if (history.truncated) section.append(h('p', {class: 'hint'}, t('record.history_truncated', {count: entries.length})));
  return section;
}

export async function Render(view, {args}) {
  const id = args[0];
  let record;
  try {
    record = await Get(`/api/records/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      view.append(h('h1', {}, t('record.not_found')), h('p', {}, id));
      return;
    }
    throw error;
  }
  if (record.quarantined) {
    view.append(h('h1', {}, t('record.quarantined')), h('p', {}, `${id}: ${(record.classes || []).join(', ')}`));
    return;
  }
  view.append(h('h1', {}, Title(record)), h('p', {class: 'record-id'}, `${t('record.id')}: ${record.id} `,
    h('a', {href: `#/edit/${record.id}`, id: 'edit-link'}, t('edit.link'))));
  if (record.versions && record.versions.length > 1) {
    view.append(h('section', {class: 'conflict', id: 'conflict'},
      h('h2', {}, t('record.conflict', {count: record.versions.length})),
      h('p', {}, t('record.conflict_hint')),
      record.versions.some((version) => version.op === 'delete')
        ? h('p', {class: 'hint', id: 'conflict-deleted'}, t('record.conflict_deleted')) : null,
      Versions(record.versions),
      h('p', {}, h('a', {href: `#/conflicts/${record.id}`, id: 'resolve-link', class: 'button'}, t('conflicts.resolve_this')))));
  }
  // The labels are a help: without the lists, codes alone.
  const lists = record.type === 'seizure' ? await CodeLists().catch(() => null) : null;
  view.append(Fields(record, lists));
  if (record.type === 'seizure') {
    view.append(h('p', {class: 'record-actions'},
      h('a', {href: `#/new/suspect?seizure=${record.id}`, id: 'add-suspect', class: 'button'}, t('record.add_suspect')), ' ',
      h('a', {href: `#/new/company?seizure=${record.id}`, id: 'add-company', class: 'button'}, t('record.add_company'))));
  }
  if (record.type === 'suspect' || record.type === 'company') view.append(await LinkedSeizures(record.id));
  if (['seizure', 'suspect', 'company'].includes(record.type)) view.append(await Photos(record.id));
  view.append(await History(record.id));
}
