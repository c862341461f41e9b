// Suspect and company entry (#/new/suspect, #/new/company; with
// ?seizure=ID the new record is linked to that seizure after saving) and
// editing (#/edit/ID, from edit.js with the record and its ETag): every
// field of data-model.md §2 (Suspect, Company), lists as one value a line,
// code lists as choices, countries as searchable pickers (ui/js/picker.js),
// one identity document for a suspect (an edited suspect's other documents,
// and the first one's dates, are sent back as they were).
// New: POST /api/records, then POST /api/records/{seizure}/links. Edit: PUT
// /api/records/{id} with If-Match; a 409 keeps the form and shows what
// changed (edit_conflict.js). The server checks everything; its error goes
// after the control of the field it names. If the record is saved but the
// link is refused, saving again only links (the record is not written
// twice).
import {ApiError, Call, Post} from '../api.js';
import {Go} from '../app.js';
import {CodeLists} from '../code_lists.js';
import {kEnums} from '../codes.js';
import {h} from '../dom.js';
import {ConflictPanel} from '../edit_conflict.js';
import {EnumLabel, t} from '../i18n.js';
import {Picker} from '../picker.js';

// [field, kind, options]: kind is text, date, textarea, lines (a list, one
// a line), country, countries (a list of countries, a picker each), an enum
// name (a choice) or [enum name] (check boxes).
const kFields = {
  suspect: [
    ['surname', 'text', {required: true, maxlength: 200}], ['forenames', 'text', {maxlength: 200}],
    ['aliases', 'lines'], ['birth_date', 'date'], ['birth_place', 'text', {maxlength: 200}], ['gender', 'Gender'],
    ['nationalities', 'countries'], ['document_type', 'DocumentType'], ['document_number', 'text'],
    ['document_country', 'country'], ['address', 'textarea', {maxlength: 500}], ['phones', 'lines'],
    ['occupation', 'text', {maxlength: 200}], ['flags', ['SuspectFlag']], ['notes', 'textarea', {maxlength: 20000}],
  ],
  company: [
    ['name', 'text', {required: true, maxlength: 300}], ['trade_names', 'lines'],
    ['registration_number', 'text'], ['tax_id', 'text'], ['trader_id', 'text'],
    ['country', 'country', {required: true}], ['address', 'textarea', {maxlength: 500}], ['roles', ['CompanyRole']],
    ['phones', 'lines'], ['email', 'text', {maxlength: 200}], ['notes', 'textarea', {maxlength: 20000}],
  ],
};

// Not sent back from an edited record: the server sets them, or (documents)
// the form builds them.
const kNotSent = ['id', 'type', 'versions', 'entered_by', 'documents'];

function CountryPicker(type, path, id, value, lists, label, required) {
  return Picker({id, path, name: path, value, list: lists.country, label, required});
}

// A list of countries: one picker each, with Remove, and Add.
function CountryList(type, name, values, lists) {
  const id = `f-${type}-${name}`;
  const items = h('div', {class: 'country-list'});
  let count = 0;
  const Add = (code) => {
    const n = ++count;
    const item_id = `${id}-${n}`;
    const picker = CountryPicker(type, `${type}.${name}[${n}]`, item_id, code, lists, t(`field.${name}`));
    const item = h('div', {class: 'field field-picker'},
      h('label', {for: item_id}, t('form.country_n', {n: items.children.length + 1})), picker.element,
      h('button', {type: 'button', class: 'remove', 'aria-label': t('form.remove_country', {n: items.children.length + 1}),
        onclick: () => { item.remove(); }}, t('form.remove')));
    items.append(item);
    return picker;
  };
  (values.length ? values : ['']).forEach((code) => Add(code));
  return h('fieldset', {class: 'field field-textarea', id, 'data-path': `${type}.${name}`, 'data-kind': 'countries'},
    h('legend', {}, t(`field.${name}`)), items,
    h('button', {type: 'button', class: 'add', id: `${id}-add`, onclick: () => Add('').input.focus()},
      t('form.add_country')));
}

function Control(type, [name, kind, options = {}], value, lists) {
  const id = `f-${type}-${name}`;
  const attrs = {id, name, 'data-path': `${type}.${name}`, required: options.required, maxlength: options.maxlength};
  const label = h('label', {for: id}, t(`field.${name}`), options.required ? h('span', {class: 'req'}, ' *') : null);
  if (Array.isArray(kind)) {
    const [enumeration] = kind;
    const checked = Array.isArray(value) ? value : [];
    return h('fieldset', {class: 'field field-textarea', id, 'data-path': `${type}.${name}`},
      h('legend', {}, t(`field.${name}`)),
      h('div', {class: 'checks'}, kEnums[enumeration].map((code) => h('label', {class: 'check'},
        h('input', {type: 'checkbox', name, value: code, id: `${id}-${code}`, checked: checked.includes(code)}),
        EnumLabel(enumeration, code)))));
  }
  if (kind === 'countries') return CountryList(type, name, Array.isArray(value) ? value : [], lists);
  if (kind === 'country') {
    const picker = CountryPicker(type, `${type}.${name}`, id, value || '', lists, t(`field.${name}`), options.required);
    return h('div', {class: 'field field-picker'}, label, picker.element);
  }
  let control;
  if (kEnums[kind]) {
    control = h('select', attrs, h('option', {value: ''}, '—'),
      kEnums[kind].map((code) => h('option', {value: code, selected: code === value}, EnumLabel(kind, code))));
  } else if (kind === 'textarea' || kind === 'lines') {
    control = h('textarea', {...attrs, rows: kind === 'textarea' ? 3 : 2,
      'aria-describedby': kind === 'textarea' ? null : `${id}-hint`});
    control.value = Array.isArray(value) ? value.join('\n') : (value ?? '');
  } else {
    control = h('input', {...attrs, type: kind === 'date' ? 'date' : 'text', value: value ?? ''});
  }
  return h('div', {class: `field ${kind === 'textarea' ? 'field-textarea' : ''}`}, label, control,
    kind === 'lines' ? h('p', {class: 'hint', id: `${id}-hint`}, t('form.one_per_line')) : null);
}

// The record's values by this form's field names (a suspect's first
// document as document_type, document_number, document_country).
function Values(type, record) {
  const values = {...record};
  if (type === 'suspect') {
    const document = (record.documents && record.documents[0]) || {};
    values.document_type = document.type;
    values.document_number = document.number;
    values.document_country = document.country;
  }
  return values;
}

// The record to send, from the form (empty values left out). `base`: the
// record being edited, whose fields without a control here are kept.
function Payload(type, form, base) {
  const record = {type};
  for (const [name, kind] of kFields[type]) {
    if (Array.isArray(kind)) {
      const checked = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
      if (checked.length) record[name] = checked;
      continue;
    }
    if (kind === 'countries') {
      const codes = [...form.querySelectorAll(`[data-path="${type}.${name}"] input[role="combobox"]`)]
        .map((input) => input.dataset.code).filter(Boolean);
      if (codes.length) record[name] = codes;
      continue;
    }
    const control = form.querySelector(`[name="${type}.${name}"], [name="${name}"]`);
    const value = (kind === 'country' ? control.dataset.code || '' : control.value).trim();
    if (!value) continue;
    if (kind === 'lines') record[name] = value.split('\n').map((line) => line.trim()).filter(Boolean);
    else record[name] = value;
  }
  if (type === 'suspect') {
    const documents = (base && Array.isArray(base.documents)) ? base.documents : [];
    const first = {...(documents[0] || {}), type: record.document_type, number: record.document_number,
      country: record.document_country};
    delete record.document_type; delete record.document_number; delete record.document_country;
    const rest = documents.slice(1);
    const all = first.type || first.number ? [JSON.parse(JSON.stringify(first)), ...rest] : rest;
    if (all.length) record.documents = all;
  }
  if (base) {
    const known = new Set(kFields[type].map(([name]) => name));
    for (const [key, value] of Object.entries(base)) if (!known.has(key) && !kNotSent.includes(key)) record[key] = value;
  }
  return record;
}

// A server field ("documents[0].number", "phones[1]") as this form's control.
function ControlFor(type, form, field) {
  if (!field) return null;
  let name = field.split(/[.[]/)[0];
  if (type === 'suspect' && field.startsWith('documents')) name = `document_${field.split('.').pop()}`;
  return form.querySelector(`[data-path="${type}.${name}"]`);
}

// #/new/suspect, #/new/company; from edit.js, `edit` = {record, etag}.
export async function Render(view, {args, params, edit}) {
  const lists = await CodeLists();
  const type = edit ? edit.record.type : args[0] === 'company' ? 'company' : 'suspect';
  const id = edit ? edit.record.id : null;
  let base = edit ? edit.record : null;
  let etag = edit ? edit.etag : null;
  const seizure = edit ? null : params.get('seizure');
  if (edit) {
    view.append(h('h1', {}, t('edit.title', {type: t(`type.${type}`), id})),
      h('p', {}, h('a', {href: `#/record/${id}`}, t('conflicts.back'))));
  } else {
    view.append(h('h1', {}, t(`form.new_${type}_title`)));
  }
  if (seizure) view.append(h('p', {id: 'link-to'}, t('form.will_link', {id: seizure}), ' ', h('a', {href: `#/record/${seizure}`}, seizure)));
  const status = h('div', {id: 'form-status', role: 'status'});
  const values = edit ? Values(type, edit.record) : {};
  const form = h('form', {id: `${type}-form`, novalidate: true},
    h('div', {class: 'fields'}, kFields[type].map((spec) => Control(type, spec, values[spec[0]], lists))),
    h('div', {class: 'actions'}, h('button', {type: 'submit', id: 'save'}, t('form.save')), status));
  view.append(form);
  let saved_id = null;

  // Someone wrote a version since the form was filled: the form stays.
  function ShowConflict(error) {
    const panel = ConflictPanel({error, base,
      on_load: () => Go(`#/edit/${id}`),
      on_leave: () => Go('#/home'),
      on_keep: (current, new_etag) => { base = current; etag = new_etag; form.querySelector('#save').focus(); }});
    status.replaceChildren(panel);
    panel.querySelector('h2').focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const old of form.querySelectorAll('.field-error')) old.remove();
    for (const old of form.querySelectorAll('[aria-invalid]')) old.removeAttribute('aria-invalid');
    status.replaceChildren();
    const button = form.querySelector('#save');
    button.disabled = true;
    try {
      if (edit) {
        const answer = await Call('PUT', `/api/records/${encodeURIComponent(id)}`, Payload(type, form, base),
          {headers: etag ? {'If-Match': etag} : {}});
        etag = answer.headers.get('ETag') || etag;
        Go(`#/record/${id}`);
        return;
      }
      if (!saved_id) saved_id = (await Post('/api/records', Payload(type, form, null))).id;
      if (seizure) await Post(`/api/records/${encodeURIComponent(seizure)}/links`, {[type]: saved_id});
      Go(`#/record/${seizure || saved_id}`);
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof ApiError)) throw error;
      if (edit && error.status === 409 && error.body && 'current' in error.body) { ShowConflict(error); return; }
      const control = saved_id ? null : ControlFor(type, form, error.field);
      const message = h('p', {class: 'field-error', role: 'alert'}, error.message);
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        (control.tagName === 'FIELDSET' ? control.querySelector('legend') : control).after(message);
        (control.tagName === 'FIELDSET' ? control.querySelector('input') : control).focus();
      } else {
        status.replaceChildren(message);
      }
    }
  });
}
