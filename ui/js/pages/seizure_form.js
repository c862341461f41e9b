// Seizure entry and editing: the main fields of docs/data-model.md, any
// number of goods items and route points, existing suspects and companies
// found by search (sent as the seizure's `suspects` and `companies`), a new
// suspect and a new company, and photos uploaded after the seizure is saved
// (POST /api/records/{id}/photos). Code lists are searchable pickers
// (ui/js/picker.js). The server checks everything; its error names the
// field (`goods[0].quantity`), and the message is put next to that field.
// A draft is kept in localStorage (everything but the photos' files).
//
// New (#/new/seizure): POST /api/records, then the new suspect and company
// (POST /api/records, POST /api/records/{id}/links).
// Edit (#/edit/ID, from edit.js with the record and its ETag): the form
// filled from the record; the new suspect and company are written first,
// then the seizure with PUT /api/records/{id} and If-Match, naming them, so
// the seizure gets one version. A 409 keeps the form as it is, shows what
// the other version changed, and lets the officer load it or save over it.
// Fields the form has no control for (`photos`) are sent back unchanged.
import {ApiError, Call, Get, Post, Query, Upload} from '../api.js';
import {DraftPrefix, Go} from '../app.js';
import {CodeLists} from '../code_lists.js';
import {ConflictPanel} from '../edit_conflict.js';
import {kCitesAppendices, kEnums, kHsPattern, kOfficePattern, kSubtypePattern} from '../codes.js';
import {formatBytes, h, replace} from '../dom.js';
import {EnumLabel, t} from '../i18n.js';
import {Picker} from '../picker.js';

// One draft for a new seizure, one per record being edited: an edit never
// clobbers the new seizure's draft, nor another record's.
// Drafts belong to the account that typed them (another officer signing in
// on the same browser never sees them); signing out drops them (app.js).
function NewDraftKey() { return `${DraftPrefix()}seizure`; }
export function EditDraftKey(id) { return `${DraftPrefix()}edit.${id}`; }

const kCaseFields = [
  ['reference', 'text', {maxlength: 64}], ['date', 'date', {required: true}], ['time', 'time'],
  ['country', 'country', {required: true}], ['office', 'office', {required: true, placeholder: 'PKKHI'}],
  ['place', 'text', {maxlength: 200}], ['direction', 'Direction'], ['transport_mode', 'TransportMode'],
  ['detection_method', 'DetectionMethod'], ['concealment_method', 'ConcealmentMethod'],
  ['concealment_note', 'textarea', {maxlength: 2000}], ['officer', 'text', {maxlength: 100}], ['status', 'CaseStatus'],
];
const kConveyanceFields = [
  ['type', 'ConveyanceType'], ['make', 'text'], ['model', 'text'], ['registration', 'text', {maxlength: 32}],
  ['registration_country', 'country'], ['container_number', 'text', {placeholder: 'MSKU1234565'}],
  ['vessel_name', 'text'], ['imo', 'text'], ['carrier', 'text'], ['flight_number', 'text'],
  ['waybill', 'text', {placeholder: '157-12345675'}], ['tracking_number', 'text'],
];
const kGoodsFields = [
  ['category', 'GoodsCategory', {required: true}], ['subtype', 'subtype'], ['hs_code', 'hs'],
  ['description', 'text'], ['quantity', 'number', {required: true, min: 0, step: 'any'}], ['unit', 'Unit', {required: true}],
  ['value.amount', 'number', {min: 0, step: 'any'}], ['value.currency', 'currency'], ['value.basis', 'ValueBasis'],
  ['packages', 'number', {min: 0, step: 1}], ['brand', 'text'], ['origin_country', 'country'], ['species', 'text'],
  ['cites_appendix', 'cites'],
];
const kRouteFields = [['role', 'RouteRole'], ['country', 'country', {required: true}], ['place', 'text']];
const kCompanyFields = [
  ['name', 'text', {maxlength: 300}], ['country', 'country'], ['registration_number', 'text'], ['tax_id', 'text'],
  ['trader_id', 'text'], ['address', 'textarea', {maxlength: 500}],
];
const kSuspectFields = [
  ['surname', 'text', {maxlength: 200}], ['forenames', 'text'], ['birth_date', 'date'], ['gender', 'Gender'],
  ['nationality', 'country'], ['document_type', 'DocumentType'], ['document_number', 'text'], ['document_country', 'country'],
];

// The controls that are pickers, by kind: which list (of CodeLists) and
// whether a code not in it may be typed (the server then validates it).
const kPickers = {
  country: {list: 'country'}, currency: {list: 'currency'}, Unit: {list: 'unit'},
  DetectionMethod: {list: 'detection'}, ConcealmentMethod: {list: 'concealment'},
  office: {list: 'office', free: true, pattern: kOfficePattern, upper: true},
  hs: {list: 'hs', free: true, pattern: kHsPattern},
  subtype: {list: 'subtype', free: true, pattern: kSubtypePattern},
};
const kPhotoTypes = 'image/jpeg,image/png,image/webp,image/heic';

// The seizure's fields that have a control here; the server sets the rest
// of kNotSent, and anything else is sent back as the record had it.
const kFormFields = new Set([...kCaseFields.map(([name]) => name), 'offences', 'goods', 'route', 'conveyance',
  'narrative']);
const kNotSent = ['id', 'type', 'versions', 'entered_by', 'suspects', 'companies'];

function NewState() {
  return {seizure: {offences: [], goods: [{}], route: [], conveyance: {}}, suspect: {}, company: {}, linked: [],
    saved_id: null};
}

// The state of an edit of `record` read with `etag`: `edit.base` is the
// record as read (what a 409 is compared with), `edit.extra` its fields
// without a control here.
function EditState(record, etag) {
  const state = NewState();
  state.seizure.goods = [];
  const extra = {};
  for (const [key, value] of Object.entries(record)) {
    if (kNotSent.includes(key)) continue;
    if (kFormFields.has(key)) state.seizure[key] = structuredClone(value);
    else extra[key] = value;
  }
  if (state.seizure.goods.length === 0) state.seizure.goods.push({});
  state.linked = [...(record.suspects || []).map((id) => ({id, type: 'suspect', summary: ''})),
    ...(record.companies || []).map((id) => ({id, type: 'company', summary: ''}))];
  state.edit = {id: record.id, etag, base: record, extra, written: null};
  return state;
}

// The draft under `key`, or null. An edit's draft must be of record `id`.
function LoadDraft(key, id) {
  try {
    const draft = JSON.parse(localStorage.getItem(key));
    if (draft && draft.seizure && Array.isArray(draft.seizure.goods) && (!id || (draft.edit && draft.edit.id === id))) {
      if (!Array.isArray(draft.linked)) draft.linked = [];
      draft.suspect ??= {};
      draft.company ??= {};
      return draft;
    }
  } catch (error) { /* a broken draft is dropped */ }
  return null;
}

// "goods[0].value.amount" -> ['goods', 0, 'value', 'amount']
function Parts(path) {
  return path.split('.').flatMap((part) => {
    const match = /^(\w+)\[(\d+)\]$/.exec(part);
    return match ? [match[1], Number(match[2])] : [part];
  });
}

function GetPath(object, path) {
  return Parts(path).reduce((node, key) => (node == null ? undefined : node[key]), object);
}

function SetPath(object, path, value) {
  const parts = Parts(path);
  let node = object;
  for (let i = 0; i < parts.length - 1; i++) {
    if (node[parts[i]] == null) node[parts[i]] = typeof parts[i + 1] === 'number' ? [] : {};
    node = node[parts[i]];
  }
  node[parts[parts.length - 1]] = value;
}

// Drops empty text, empty objects and empty lists; numbers from their text.
function Clean(value, key) {
  if (Array.isArray(value)) {
    const items = value.map((item) => Clean(item)).filter((item) => item !== undefined);
    return items.length ? items : undefined;
  }
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      const cleaned = Clean(v, k);
      if (cleaned !== undefined) out[k] = cleaned;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return undefined;
    if (['quantity', 'amount', 'packages'].includes(key)) {
      const number = Number(text);
      return Number.isFinite(number) ? number : text;  // the server names a bad number
    }
    return value;
  }
  return value;
}

// The seizure to send. On an edit: with the fields the form does not show,
// and the new suspect and company once written (they are saved first).
function SeizurePayload(state) {
  const seizure = Clean(state.seizure) || {};
  const ids = (type) => {
    const list = state.linked.filter((party) => party.type === type).map((party) => party.id);
    const created = state.edit && state[`saved_${type}`];
    if (created && !list.includes(created)) list.push(created);
    return list;
  };
  if (ids('suspect').length) seizure.suspects = ids('suspect');
  if (ids('company').length) seizure.companies = ids('company');
  const extra = state.edit ? state.edit.extra : {};
  return {type: 'seizure', ...extra, ...seizure, goods: seizure.goods || []};
}

function CompanyPayload(state) {
  const company = Clean(state.company);
  return company ? {type: 'company', ...company} : null;
}

function SuspectPayload(state) {
  const s = Clean(state.suspect);
  if (!s) return null;
  const suspect = {type: 'suspect', surname: s.surname, forenames: s.forenames, birth_date: s.birth_date, gender: s.gender};
  if (s.nationality) suspect.nationalities = [s.nationality];
  if (s.document_type || s.document_number || s.document_country) {
    suspect.documents = [{type: s.document_type, number: s.document_number, country: s.document_country}];
  }
  return JSON.parse(JSON.stringify(suspect));  // drops undefined
}

// A server field of the new suspect or company, as the path of this form's control.
function PartyPath(type, field) {
  if (!field) return null;
  if (type === 'company') return `company.${field.split(/[.[]/)[0]}`;
  if (field.startsWith('documents[0].')) return `suspect.document_${field.slice('documents[0].'.length)}`;
  if (field.startsWith('nationalities')) return 'suspect.nationality';
  return `suspect.${field}`;
}

// The name of a suspect or company record, for the list of linked ones.
function PartyName(record) {
  if (record.type === 'suspect') return [record.surname, record.forenames].filter(Boolean).join(', ');
  return record.name || '';
}

// #/new/seizure; from edit.js, `edit` = {record, etag} for #/edit/ID.
export async function Render(view, {edit} = {}) {
  const lists = await CodeLists();
  const draft_key = edit ? EditDraftKey(edit.record.id) : NewDraftKey();
  const draft = LoadDraft(draft_key, edit && edit.record.id);
  const state = draft || (edit ? EditState(edit.record, edit.etag) : NewState());
  const record_id = edit ? edit.record.id : null;
  const form = h('form', {class: 'entry', id: 'seizure-form', novalidate: true});
  const summary = h('div', {id: 'form-message', role: 'alert'});
  const pickers = new Map();  // data-path -> picker, for the subtype list of a goods item's category
  let save_timer = null;

  const SaveDraft = () => {
    clearTimeout(save_timer);
    save_timer = setTimeout(() => localStorage.setItem(draft_key, JSON.stringify(state)), 150);
  };
  const SaveDraftNow = () => { clearTimeout(save_timer); localStorage.setItem(draft_key, JSON.stringify(state)); };
  const DropDraft = () => { clearTimeout(save_timer); localStorage.removeItem(draft_key); };

  // The subtypes offered for `path` (seizure.goods[i].subtype): its item's category's.
  const SubtypeList = (path) => lists.subtypes[GetPath(state, path.replace(/subtype$/, 'category'))] ||
    lists.subtypes.other;

  // One labelled control bound to state at `path` (a server field path).
  function Control(path, kind, options = {}, label_key) {
    const id = `f-${path.replace(/[^\w]/g, '-')}`;
    const value = GetPath(state, path) ?? '';
    const common = {id, 'data-path': path, name: path, required: options.required, maxlength: options.maxlength,
      placeholder: options.placeholder};
    const name = label_key || `field.${path.split('.').pop().replace(/\[\d+\]$/, '')}`;
    const label = h('label', {for: id}, t(name),
      options.required ? h('span', {class: 'req', 'aria-hidden': 'true'}, ' *') : null);
    if (kPickers[kind]) {
      const spec = kPickers[kind];
      const picker = Picker({id, path, value, required: options.required, placeholder: options.placeholder,
        label: t(name), list: kind === 'subtype' ? SubtypeList(path) : lists[spec.list], free: spec.free,
        pattern: spec.pattern, upper: spec.upper,
        on_change: (code) => { SetPath(state, path, code); SaveDraft(); }});
      pickers.set(path, picker);
      return h('div', {class: `field field-picker field-${kind}`}, label, picker.element);
    }
    let input;
    if (kEnums[kind]) {
      input = h('select', common, h('option', {value: ''}, '—'),
        kEnums[kind].map((code) => h('option', {value: code, selected: code === value}, EnumLabel(kind, code))));
    } else if (kind === 'textarea') {
      input = h('textarea', {...common, rows: 4}); input.value = value;
    } else if (kind === 'cites') {
      input = h('input', {...common, list: `list-${kind}`, value, size: 5, autocomplete: 'off', class: 'code'});
    } else {
      const type = {date: 'date', time: 'time', number: 'number'}[kind] || 'text';
      input = h('input', {...common, type, value, min: options.min, step: options.step});
    }
    const Changed = () => {
      SetPath(state, input.dataset.path, input.value);
      SaveDraft();
      const subtype = pickers.get(input.dataset.path.replace(/category$/, 'subtype'));
      if (kind === 'GoodsCategory' && subtype) subtype.SetList(SubtypeList(input.dataset.path.replace(/category$/, 'subtype')));
    };
    input.addEventListener('input', Changed);
    input.addEventListener('change', Changed);
    return h('div', {class: `field field-${kind}`}, label, input);
  }

  function Rows(list_name, fields, title_key, add_key, min_rows) {
    const section = h('fieldset', {id: `rows-${list_name}`});
    const Draw = () => {
      const items = state.seizure[list_name];
      replace(section, h('legend', {}, t(title_key)),
        items.map((item, index) => h('div', {class: 'row-item', 'data-row': `${list_name}[${index}]`},
          h('div', {class: 'row-head'},
            h('span', {}, `${index + 1}.`),
            items.length > min_rows ? h('button', {type: 'button', class: 'remove', id: `remove-${list_name}-${index}`,
              onclick: () => { items.splice(index, 1); SaveDraftNow(); Draw(); }}, t('form.remove')) : null),
          h('div', {class: 'fields'}, fields.map(([name, kind, options]) =>
            Control(`seizure.${list_name}[${index}].${name}`, kind, options,
              name === 'value.amount' ? 'field.value_amount' : name === 'value.currency' ? 'field.value_currency'
                : name === 'value.basis' ? 'field.value_basis' : undefined))))),
        h('button', {type: 'button', class: 'add', id: `add-${list_name}`,
          onclick: () => { items.push({}); SaveDraftNow(); Draw(); }}, t(add_key)));
    };
    Draw();
    return section;
  }

  const offences = h('fieldset', {id: 'offences', 'data-path': 'seizure.offences'},
    h('legend', {}, t('field.offences')),
    h('div', {class: 'checks'}, kEnums.Offence.map((code) => {
      const box = h('input', {type: 'checkbox', id: `offence-${code}`, value: code,
        checked: state.seizure.offences.includes(code)});
      box.addEventListener('change', () => {
        const set = new Set(state.seizure.offences);
        if (box.checked) set.add(code); else set.delete(code);
        state.seizure.offences = kEnums.Offence.filter((c) => set.has(c));
        SaveDraft();
      });
      return h('label', {class: 'check', for: `offence-${code}`}, box, EnumLabel('Offence', code));
    })));

  // Existing suspects and companies: found with GET /api/search, kept in
  // state.linked ({id, type, summary}) and sent as the seizure's lists.
  function LinkedParties() {
    const type = h('select', {id: 'party-type'},
      ['suspect', 'company'].map((value) => h('option', {value}, t(`type.${value}`))));
    const query = h('input', {id: 'party-q', type: 'search', maxlength: 500, autocomplete: 'off'});
    const find = h('button', {type: 'button', id: 'party-find', class: 'secondary'}, t('form.party_find'));
    const results = h('ul', {id: 'party-results', class: 'party-list', 'aria-live': 'polite'});
    const linked = h('ul', {id: 'party-linked', class: 'party-list', 'data-path': 'seizure.suspects'});
    const companies_anchor = h('span', {'data-path': 'seizure.companies'});
    const DrawLinked = () => replace(linked, state.linked.length === 0 ? h('li', {class: 'hint'}, t('form.party_none')) :
      state.linked.map((party, index) => h('li', {class: 'party', 'data-id': party.id},
        h('span', {}, `${t(`type.${party.type}`)}: `, h('a', {href: `#/record/${party.id}`, target: '_blank', rel: 'noopener'},
          party.summary || party.id)), ' ',
        h('button', {type: 'button', class: 'remove', id: `party-remove-${index}`,
          'aria-label': t('form.party_remove', {name: party.summary || party.id}),
          onclick: () => { state.linked.splice(index, 1); SaveDraftNow(); DrawLinked(); }}, t('form.remove')))));
    let asked = 0;
    async function Find() {
      const text = query.value.trim();
      if (!text) return;
      const count = ++asked;
      replace(results, h('li', {class: 'hint'}, t('form.party_searching')));
      let rows;
      try {
        rows = (await Call('GET', `/api/search${Query({q: text, type: type.value, limit: 20})}`)).data;
      } catch (error) {
        if (count === asked) replace(results, h('li', {class: 'error'}, error.message));
        return;
      }
      if (count !== asked) return;
      if (rows.length === 0) { replace(results, h('li', {class: 'hint'}, t('form.party_no_match'))); return; }
      replace(results, rows.map((row, index) => {
        const already = state.linked.some((party) => party.id === row.id);
        return h('li', {class: 'party'}, h('span', {}, row.summary || row.id), ' ',
          h('button', {type: 'button', class: 'add', id: `party-link-${index}`, disabled: already,
            'aria-label': t('form.party_link_named', {name: row.summary || row.id}),
            onclick: () => {
              if (state.linked.some((party) => party.id === row.id)) return;
              state.linked.push({id: row.id, type: row.type, summary: row.summary || ''});
              SaveDraftNow();
              DrawLinked();
              replace(results);
              query.value = '';
              query.focus();
            }}, already ? t('form.party_linked') : t('form.party_link')));
      }));
    }
    find.addEventListener('click', Find);
    query.addEventListener('keydown', (event) => { if (event.key === 'Enter') { event.preventDefault(); Find(); } });
    DrawLinked();
    // An edited seizure's parties come as ids: their names are asked for.
    for (const party of state.linked.filter((item) => !item.summary)) {
      Get(`/api/records/${encodeURIComponent(party.id)}`).then((record) => {
        party.summary = PartyName(record);
        if (party.summary && linked.isConnected) DrawLinked();
      }, () => { /* a dangling id stays shown as its id */ });
    }
    return h('fieldset', {id: 'parties'}, h('legend', {}, t('form.parties')),
      h('p', {class: 'hint'}, t('form.parties_hint')),
      h('div', {class: 'party-search'},
        h('div', {class: 'field'}, h('label', {for: 'party-type'}, t('form.party_type')), type),
        h('div', {class: 'field'}, h('label', {for: 'party-q'}, t('form.party_q')), query), find),
      results, h('h3', {}, t('form.parties_linked')), linked, companies_anchor);
  }

  // Photos: chosen files with their previews (object URLs) and captions,
  // uploaded once the seizure is saved. Not kept in the draft.
  const photos = [];  // {file, url, caption, done, error, progress (element)}
  const photo_list = h('ul', {id: 'photo-list', class: 'gallery'});
  let photo_count = 0;
  function DrawPhotos() {
    replace(photo_list, photos.map((photo, index) => {
      const caption = h('input', {type: 'text', id: `photo-caption-${photo.n}`, value: photo.caption, maxlength: 500,
        disabled: photo.done});
      caption.addEventListener('input', () => { photo.caption = caption.value; });
      const img = h('img', {src: photo.url, alt: t('form.photo_preview', {name: photo.file.name})});
      img.addEventListener('error', () => img.replaceWith(h('div', {class: 'placeholder'}, t('form.photo_no_preview'))));
      return h('li', {class: 'photo-item', id: `photo-${photo.n}`},
        h('figure', {}, img, h('figcaption', {}, `${photo.file.name} (${formatBytes(photo.file.size)})`)),
        h('div', {class: 'field'}, h('label', {for: `photo-caption-${photo.n}`}, t('form.photo_caption')), caption),
        photo.progress, photo.status,
        photo.done ? null : h('button', {type: 'button', class: 'remove', id: `photo-remove-${index}`,
          'aria-label': t('form.photo_remove', {name: photo.file.name}),
          onclick: () => { URL.revokeObjectURL(photo.url); photos.splice(index, 1); DrawPhotos(); }}, t('form.remove')));
    }));
  }
  const photo_input = h('input', {type: 'file', id: 'photo-files', accept: kPhotoTypes, multiple: true});
  photo_input.addEventListener('change', () => {
    for (const file of photo_input.files) {
      photos.push({file, url: URL.createObjectURL(file), caption: '', done: false, n: ++photo_count,
        progress: h('progress', {max: 1, value: 0, hidden: true, 'aria-label': t('form.photo_progress', {name: file.name})}),
        status: h('p', {class: 'photo-status', role: 'status'})});
    }
    photo_input.value = '';
    DrawPhotos();
  });
  const photo_set = h('fieldset', {id: 'photos-set'}, h('legend', {}, t('form.photos')),
    h('div', {class: 'field'}, h('label', {for: 'photo-files'}, t('form.photo_files')), photo_input),
    h('p', {class: 'hint'}, t('form.photos_not_in_draft')), photo_list);

  // Uploads the photos not uploaded yet, one after the other; true when all are.
  async function UploadPhotos(id) {
    let failed = 0;
    for (const photo of photos) {
      if (photo.done) continue;
      photo.progress.hidden = false;
      photo.status.className = 'photo-status';
      photo.status.textContent = t('form.photo_uploading');
      try {
        await Upload(`/api/records/${encodeURIComponent(id)}/photos${Query({caption: photo.caption})}`, photo.file,
          photo.file.type || 'application/octet-stream', (fraction) => { photo.progress.value = fraction; });
        photo.done = true;
        photo.progress.value = 1;
        photo.status.textContent = t('form.photo_done');
      } catch (error) {
        failed++;
        photo.progress.hidden = true;
        photo.status.className = 'photo-status error';
        photo.status.textContent = t('form.photo_failed',
          {message: error instanceof ApiError ? error.message : t('form.photo_unreachable')});
      }
    }
    DrawPhotos();
    return failed === 0;
  }

  const save = h('button', {type: 'submit', id: 'save'}, t('form.save'));
  const discard = h('button', {type: 'button', id: 'discard', class: 'secondary'}, t('form.discard'));

  form.append(
    h('datalist', {id: 'list-cites'}, kCitesAppendices.map((code) => h('option', {value: code}))),
    summary,
    h('fieldset', {id: 'case'}, h('legend', {}, t('form.case')),
      h('div', {class: 'fields'}, kCaseFields.map(([name, kind, options]) => Control(`seizure.${name}`, kind, options)))),
    offences,
    Rows('goods', kGoodsFields, 'form.goods', 'form.add_goods', 1),
    Rows('route', kRouteFields, 'form.route', 'form.add_route', 0),
    h('fieldset', {id: 'conveyance'}, h('legend', {}, t('form.conveyance')),
      h('div', {class: 'fields'}, kConveyanceFields.map(([name, kind, options]) =>
        Control(`seizure.conveyance.${name}`, kind, options, name === 'type' ? 'field.conveyance_type' : undefined)))),
    h('fieldset', {id: 'narrative-set'}, h('legend', {}, t('field.narrative')),
      Control('seizure.narrative', 'textarea', {maxlength: 20000})),
    LinkedParties(),
    h('fieldset', {id: 'suspect'}, h('legend', {}, t('form.new_suspect')),
      h('p', {class: 'hint'}, t('form.new_suspect_hint')),
      h('div', {class: 'fields'}, kSuspectFields.map(([name, kind, options]) =>
        Control(`suspect.${name}`, kind, options, `field.${name}`)))),
    h('fieldset', {id: 'company'}, h('legend', {}, t('form.new_company')),
      h('p', {class: 'hint'}, t('form.new_company_hint')),
      h('div', {class: 'fields'}, kCompanyFields.map(([name, kind, options]) =>
        Control(`company.${name}`, kind, options, `field.${name}`)))),
    photo_set,
    h('div', {class: 'actions'}, save, discard));

  function ClearErrors() {
    summary.replaceChildren();
    form.querySelectorAll('.field-error').forEach((el) => el.remove());
    form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  }

  // Puts the server's message next to the control for `path` (or the
  // nearest enclosing one), else at the top.
  function ShowError(path, message) {
    let target = null;
    let candidate = path;
    while (candidate && !target) {
      target = form.querySelector(`[data-path="${CSS.escape(candidate)}"]`);
      const cut = Math.max(candidate.lastIndexOf('.'), candidate.lastIndexOf('['));
      candidate = cut > 0 ? candidate.slice(0, cut) : null;
    }
    if (!target && path && /^seizure\.(goods|route)\[\d+\]/.test(path)) {
      target = form.querySelector(`[data-row="${CSS.escape(path.slice('seizure.'.length).match(/^\w+\[\d+\]/)[0])}"]`);
    }
    const note = h('p', {class: 'field-error', id: `error-${(path || 'form').replace(/[^\w]/g, '-')}`}, message);
    if (target) {
      target.setAttribute('aria-invalid', 'true');
      note.setAttribute('role', 'alert');
      target.after(note);
      if (target.focus) target.focus();
    }
    summary.append(h('p', {class: 'error'}, target ? t('form.fix_field', {field: path.replace(/^(seizure|suspect|company)\./, '')}) : message));
  }

  // Writes the new suspect or company (once: its id is kept in the draft).
  // False when the server refused it (its message is next to its field).
  async function SaveParty(type) {
    const payload = type === 'suspect' ? SuspectPayload(state) : CompanyPayload(state);
    if (!payload || state[`saved_${type}`]) return true;
    try {
      state[`saved_${type}`] = (await Post('/api/records', payload)).id;
      SaveDraftNow();
      return true;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 400) throw error;
      ShowError(PartyPath(type, error.field), error.message);
      summary.append(h('p', {}, t(state.edit ? 'form.edit_party_failed' : `form.seizure_saved_${type}_failed`)));
      return false;
    }
  }

  // The 409 of an edit (edit_conflict.js): the form stays as it is.
  // `made`: the new parties written in this attempt before the 409 (the
  // officer is told: loading the current version leaves them unlinked).
  function ShowConflict(error, made = []) {
    const panel = ConflictPanel({error, base: state.edit.base, made,
      on_load: () => { DropDraft(); Go(`#/edit/${record_id}`); },
      on_leave: () => { DropDraft(); Go('#/home'); },
      on_keep: (current, etag) => {
        state.edit.etag = etag;
        state.edit.base = current;
        SaveDraftNow();
        save.focus();
      }});
    summary.append(panel);
    panel.querySelector('h2').focus();
  }

  // An edit: the new parties first, then PUT with If-Match (not again when
  // nothing changed since it was written: a photo had failed).
  async function SaveEdit() {
    // New parties are written before the PUT that links them: first make
    // sure the record did not change meanwhile, so that a 409 does not
    // leave them written and unlinked (a change in the few milliseconds
    // between this check and the PUT still can; the panel then says so).
    const unsaved = ['suspect', 'company'].filter((type) =>
      !state[`saved_${type}`] && (type === 'suspect' ? SuspectPayload(state) : CompanyPayload(state)));
    if (unsaved.length && state.edit.etag) {
      try {
        const now = await Call('GET', `/api/records/${encodeURIComponent(record_id)}`);
        if (now.headers.get('ETag') !== state.edit.etag) {
          ShowConflict({status: 409, body: {current: now.data}, headers: now.headers});
          return false;
        }
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        ShowConflict({status: 409, body: {current: null}, headers: new Headers()});
        return false;
      }
    }
    if (!(await SaveParty('suspect')) || !(await SaveParty('company'))) return false;
    const made = unsaved.filter((type) => state[`saved_${type}`]).map((type) =>
      type === 'suspect' ? SuspectPayload(state).surname : CompanyPayload(state).name);
    const payload = SeizurePayload(state);
    if (state.edit.written === JSON.stringify(payload)) return true;
    try {
      const answer = await Call('PUT', `/api/records/${encodeURIComponent(record_id)}`, payload,
        {headers: state.edit.etag ? {'If-Match': state.edit.etag} : {}});
      state.edit.etag = answer.headers.get('ETag') || state.edit.etag;
      if (answer.data) state.edit.base = answer.data;
      state.edit.written = JSON.stringify(payload);
      SaveDraftNow();
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 409 && error.body && 'current' in error.body) { ShowConflict(error, made); return false; }
      if (error.status === 400) { ShowError(error.field ? `seizure.${error.field}` : null, error.message); return false; }
      throw error;
    }
  }

  // A new seizure: POST it, then the new suspect and company, each linked.
  async function SaveNew() {
    if (!state.saved_id) {
      try {
        const created = await Post('/api/records', SeizurePayload(state));
        state.saved_id = created.id;
        state.saved_links = state.linked.map((party) => party.id);
        SaveDraftNow();
      } catch (error) {
        if (error instanceof ApiError && error.status === 400) {
          ShowError(error.field ? `seizure.${error.field}` : null, error.message);
          return false;
        }
        throw error;
      }
    }
    // Parties linked after the seizure was saved (a photo had failed).
    for (const party of state.linked) {
      if ((state.saved_links || []).includes(party.id)) continue;
      await Post(`/api/records/${state.saved_id}/links`, {[party.type]: party.id});
      state.saved_links = [...(state.saved_links || []), party.id];
      SaveDraftNow();
    }
    for (const type of ['suspect', 'company']) {
      if (!(await SaveParty(type))) return false;
      if (state[`saved_${type}`] && !state[`${type}_linked`]) {
        await Post(`/api/records/${state.saved_id}/links`, {[type]: state[`saved_${type}`]});
        state[`${type}_linked`] = true;
        SaveDraftNow();
      }
    }
    return true;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    ClearErrors();
    save.disabled = true;
    try {
      if (!(await (state.edit ? SaveEdit() : SaveNew()))) return;
      const id = state.edit ? record_id : state.saved_id;
      if (!(await UploadPhotos(id))) {
        // The seizure is kept; saving again uploads only the photos that failed.
        summary.append(h('p', {class: 'warn'}, t('form.photos_failed'), ' ',
          h('a', {href: `#/record/${id}`, id: 'saved-record-link'}, t('form.open_record'))));
        photo_set.scrollIntoView({block: 'nearest'});
        return;
      }
      photos.forEach((photo) => URL.revokeObjectURL(photo.url));
      DropDraft();
      Go(`#/record/${id}`);
    } catch (error) {
      summary.append(h('p', {class: 'error'}, t('error.generic', {message: error.message})));
    } finally {
      save.disabled = false;
    }
  });

  discard.addEventListener('click', () => {
    if (!confirm(t(state.edit ? 'form.edit_discard_confirm' : 'form.discard_confirm'))) return;
    DropDraft();
    Go(state.edit ? `#/edit/${record_id}` : '#/new/seizure');
  });

  if (state.edit) {
    discard.textContent = t('form.edit_discard');
    view.append(h('h1', {}, t('form.edit_title', {reference: edit.record.reference || record_id})),
      h('p', {class: 'record-id'}, `${t('record.id')}: ${record_id} `, h('a', {href: `#/record/${record_id}`}, t('conflicts.back'))),
      h('p', {class: 'hint'}, t('form.edit_intro')));
    if (draft) view.append(h('p', {class: 'warn', id: 'edit-draft-restored'}, t('form.edit_draft_restored')));
  } else {
    view.append(h('h1', {}, t('form.title')), h('p', {class: 'hint'}, t('form.intro')));
  }
  if (lists.problems.length) {
    view.append(h('ul', {class: 'warn', id: 'code-list-problems'},
      lists.problems.map((problem) => h('li', {}, t('form.code_list_problem', {problem})))));
  }
  view.append(form);
  if (state.saved_id) summary.append(h('p', {class: 'warn'}, t('form.partly_saved', {id: state.saved_id})));
}
