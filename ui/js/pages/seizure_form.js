// Seizure entry: the main fields of docs/data-model.md, any number of goods
// items and route points, existing suspects and companies found by search
// (sent as the seizure's `suspects` and `companies`), a new suspect linked
// after saving (POST /api/records, then POST /api/records/{id}/links), and
// photos uploaded after the seizure is saved (POST /api/records/{id}/photos).
// Code lists are searchable pickers (ui/js/picker.js). The server checks
// everything; its error names the field (`goods[0].quantity`), and the
// message is put next to that field. A draft is kept in localStorage
// (everything but the photos' files).
import {ApiError, Call, Post, Query, Upload} from '../api.js';
import {Go} from '../app.js';
import {CodeLists} from '../code_lists.js';
import {kCitesAppendices, kEnums, kHsPattern, kOfficePattern, kSubtypePattern} from '../codes.js';
import {formatBytes, h, replace} from '../dom.js';
import {EnumLabel, t} from '../i18n.js';
import {Picker} from '../picker.js';

const kDraftKey = 'ncen.draft.seizure';

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

function NewState() {
  return {seizure: {offences: [], goods: [{}], route: [], conveyance: {}}, suspect: {}, linked: [], saved_id: null};
}

function LoadDraft() {
  try {
    const draft = JSON.parse(localStorage.getItem(kDraftKey));
    if (draft && draft.seizure && Array.isArray(draft.seizure.goods)) {
      if (!Array.isArray(draft.linked)) draft.linked = [];
      return draft;
    }
  } catch (error) { /* a broken draft is dropped */ }
  return NewState();
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

function SeizurePayload(state) {
  const seizure = Clean(state.seizure) || {};
  const ids = (type) => state.linked.filter((party) => party.type === type).map((party) => party.id);
  if (ids('suspect').length) seizure.suspects = ids('suspect');
  if (ids('company').length) seizure.companies = ids('company');
  return {type: 'seizure', ...seizure, goods: seizure.goods || []};
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

// A server field of the suspect, as the path of this form's control.
function SuspectPath(field) {
  if (!field) return null;
  if (field.startsWith('documents[0].')) return `suspect.document_${field.slice('documents[0].'.length)}`;
  if (field.startsWith('nationalities')) return 'suspect.nationality';
  return `suspect.${field}`;
}

export async function Render(view) {
  const lists = await CodeLists();
  const state = LoadDraft();
  const form = h('form', {class: 'entry', id: 'seizure-form', novalidate: true});
  const summary = h('div', {id: 'form-message', role: 'alert'});
  const pickers = new Map();  // data-path -> picker, for the subtype list of a goods item's category
  let save_timer = null;

  const SaveDraft = () => {
    clearTimeout(save_timer);
    save_timer = setTimeout(() => localStorage.setItem(kDraftKey, JSON.stringify(state)), 150);
  };
  const SaveDraftNow = () => { clearTimeout(save_timer); localStorage.setItem(kDraftKey, JSON.stringify(state)); };

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
    summary.append(h('p', {class: 'error'}, target ? t('form.fix_field', {field: path.replace(/^(seizure|suspect)\./, '')}) : message));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    ClearErrors();
    save.disabled = true;
    try {
      const suspect = SuspectPayload(state);
      if (!state.saved_id) {
        try {
          const created = await Post('/api/records', SeizurePayload(state));
          state.saved_id = created.id;
          state.saved_links = state.linked.map((party) => party.id);
          SaveDraftNow();
        } catch (error) {
          if (error instanceof ApiError && error.status === 400) {
            ShowError(error.field ? `seizure.${error.field}` : null, error.message);
            return;
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
      if (suspect) {
        if (!state.saved_suspect) {
          try {
            const created = await Post('/api/records', suspect);
            state.saved_suspect = created.id;
            SaveDraftNow();
          } catch (error) {
            if (error instanceof ApiError && error.status === 400) {
              ShowError(SuspectPath(error.field), error.message);
              summary.append(h('p', {}, t('form.seizure_saved_suspect_failed')));
              return;
            }
            throw error;
          }
        }
        if (!state.suspect_linked) {
          await Post(`/api/records/${state.saved_id}/links`, {suspect: state.saved_suspect});
          state.suspect_linked = true;
          SaveDraftNow();
        }
      }
      const id = state.saved_id;
      if (!(await UploadPhotos(id))) {
        // The seizure is kept; saving again uploads only the photos that failed.
        summary.append(h('p', {class: 'warn'}, t('form.photos_failed'), ' ',
          h('a', {href: `#/record/${id}`, id: 'saved-record-link'}, t('form.open_record'))));
        photo_set.scrollIntoView({block: 'nearest'});
        return;
      }
      photos.forEach((photo) => URL.revokeObjectURL(photo.url));
      localStorage.removeItem(kDraftKey);
      Go(`#/record/${id}`);
    } catch (error) {
      summary.append(h('p', {class: 'error'}, t('error.generic', {message: error.message})));
    } finally {
      save.disabled = false;
    }
  });

  discard.addEventListener('click', () => {
    if (!confirm(t('form.discard_confirm'))) return;
    localStorage.removeItem(kDraftKey);
    Go('#/new/seizure');
  });

  view.append(h('h1', {}, t('form.title')), h('p', {class: 'hint'}, t('form.intro')));
  if (lists.problems.length) {
    view.append(h('ul', {class: 'warn', id: 'code-list-problems'},
      lists.problems.map((problem) => h('li', {}, t('form.code_list_problem', {problem})))));
  }
  view.append(form);
  if (state.saved_id) summary.append(h('p', {class: 'warn'}, t('form.partly_saved', {id: state.saved_id})));
}
