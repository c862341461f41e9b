// Suspect and company entry (#/new/suspect, #/new/company; with
// ?seizure=ID the new record is linked to that seizure after saving):
// every field of data-model.md §2 (Suspect, Company), lists as one value a
// line, code lists as choices, one identity document for a suspect.
// POST /api/records, then POST /api/records/{seizure}/links. The server
// checks everything; its error goes after the control of the field it
// names. If the record is saved but the link is refused, saving again only
// links (the record is not written twice).
import {ApiError, Post} from '../api.js';
import {Go} from '../app.js';
import {kCountries, kEnums} from '../codes.js';
import {h} from '../dom.js';
import {EnumLabel, t} from '../i18n.js';

// [field, kind, options]: kind is text, date, textarea, lines (a list, one
// a line), country, countries (a list of countries, one a line), an enum
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

function Control(type, [name, kind, options = {}]) {
  const id = `f-${type}-${name}`;
  const attrs = {id, name, 'data-path': `${type}.${name}`, required: options.required, maxlength: options.maxlength};
  const label = h('label', {for: id}, t(`field.${name}`), options.required ? h('span', {class: 'req'}, ' *') : null);
  if (Array.isArray(kind)) {
    const [enumeration] = kind;
    return h('fieldset', {class: 'field field-textarea', id, 'data-path': `${type}.${name}`},
      h('legend', {}, t(`field.${name}`)),
      h('div', {class: 'checks'}, kEnums[enumeration].map((code) => h('label', {class: 'check'},
        h('input', {type: 'checkbox', name, value: code, id: `${id}-${code}`}), EnumLabel(enumeration, code)))));
  }
  let control;
  if (kEnums[kind]) {
    control = h('select', attrs, h('option', {value: ''}, '—'),
      kEnums[kind].map((code) => h('option', {value: code}, EnumLabel(kind, code))));
  } else if (kind === 'textarea' || kind === 'lines' || kind === 'countries') {
    control = h('textarea', {...attrs, rows: kind === 'textarea' ? 3 : 2,
      'aria-describedby': kind === 'textarea' ? null : `${id}-hint`});
  } else {
    control = h('input', {...attrs, type: kind === 'date' ? 'date' : 'text', list: kind === 'country' ? 'country-codes' : null,
      maxlength: kind === 'country' ? 2 : options.maxlength});
  }
  return h('div', {class: `field ${kind === 'textarea' ? 'field-textarea' : ''}`}, label, control,
    kind === 'lines' || kind === 'countries' ? h('p', {class: 'hint', id: `${id}-hint`}, t('form.one_per_line')) : null);
}

// The record to send, from the form (empty values left out).
function Payload(type, form) {
  const record = {type};
  for (const [name, kind] of kFields[type]) {
    if (Array.isArray(kind)) {
      const checked = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
      if (checked.length) record[name] = checked;
      continue;
    }
    const value = form.querySelector(`[name="${name}"]`).value.trim();
    if (!value) continue;
    if (kind === 'lines' || kind === 'countries') record[name] = value.split('\n').map((line) => line.trim()).filter(Boolean);
    else record[name] = value;
  }
  if (type === 'suspect') {
    const document = {type: record.document_type, number: record.document_number, country: record.document_country};
    delete record.document_type; delete record.document_number; delete record.document_country;
    if (document.type || document.number) record.documents = [JSON.parse(JSON.stringify(document))];
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

export async function Render(view, {args, params}) {
  const type = args[0] === 'company' ? 'company' : 'suspect';
  const seizure = params.get('seizure');
  view.append(h('h1', {}, t(`form.new_${type}_title`)));
  if (seizure) view.append(h('p', {id: 'link-to'}, t('form.will_link', {id: seizure}), ' ', h('a', {href: `#/record/${seizure}`}, seizure)));
  const status = h('div', {id: 'form-status', role: 'status'});
  const form = h('form', {id: `${type}-form`, novalidate: true},
    h('datalist', {id: 'country-codes'}, kCountries.map((code) => h('option', {value: code}))),
    h('div', {class: 'fields'}, kFields[type].map((spec) => Control(type, spec))),
    h('div', {class: 'actions'}, h('button', {type: 'submit', id: 'save'}, t('form.save')), status));
  view.append(form);
  let saved_id = null;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const old of form.querySelectorAll('.field-error')) old.remove();
    for (const old of form.querySelectorAll('[aria-invalid]')) old.removeAttribute('aria-invalid');
    status.replaceChildren();
    const button = form.querySelector('#save');
    button.disabled = true;
    try {
      if (!saved_id) saved_id = (await Post('/api/records', Payload(type, form))).id;
      if (seizure) await Post(`/api/records/${encodeURIComponent(seizure)}/links`, {[type]: saved_id});
      Go(`#/record/${seizure || saved_id}`);
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof ApiError)) throw error;
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
