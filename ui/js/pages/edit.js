// Editing a record (#/edit/ID): GET /api/records/{id} and its ETag. A
// seizure opens the seizure form (seizure_form.js) filled from the record;
// a record in conflict goes to the conflicts page (resolving chooses field
// by field); a suspect or company opens its form (party_form.js). Any
// other record (a seizure report) gets the generic form here: one labelled
// control per top-level field (text for strings and numbers, JSON for
// lists and objects, a choice for a code list), then PUT /api/records/{id}
// with If-Match. A 409 (someone else wrote a version meanwhile) says so and
// offers to reload; the server's field error goes next to that field.
import {ApiError, Call} from '../api.js';
import {Go} from '../app.js';
import {kEnums, kFieldEnum} from '../codes.js';
import {h} from '../dom.js';
import {EnumLabel, t} from '../i18n.js';
import {Label} from './record.js';

// Not editable: the server sets them.
const kFixed = ['id', 'type', 'versions', 'entered_by'];

function Control(key, value) {
  const id = `edit-${key}`;
  const json = value !== null && typeof value === 'object';
  const long = json || (typeof value === 'string' && value.length > 60) || ['narrative', 'notes', 'concealment_note'].includes(key);
  const attrs = {id, 'data-path': `edit.${key}`, 'data-kind': json ? 'json' : typeof value, name: key};
  const enumeration = typeof value === 'string' && kEnums[kFieldEnum[key]];
  const control = enumeration
    ? h('select', attrs, enumeration.map((code) => h('option', {value: code}, EnumLabel(kFieldEnum[key], code))))
    : long ? h('textarea', {...attrs, rows: json ? 5 : 3, spellcheck: json ? 'false' : null})
    : h('input', {...attrs, type: typeof value === 'number' ? 'number' : 'text', step: typeof value === 'number' ? 'any' : null});
  control.value = json ? JSON.stringify(value, null, 1) : String(value ?? '');
  return h('div', {class: `field ${long ? 'field-textarea' : ''}`}, h('label', {for: id}, Label(key)), control);
}

function FieldError(message) { return h('p', {class: 'field-error', role: 'alert'}, message); }

export async function Render(view, context) {
  const id = context.args[0];
  const {data: record, headers} = await Call('GET', `/api/records/${encodeURIComponent(id)}`);
  const etag = headers.get('ETag');
  if (record.quarantined) {
    view.append(h('h1', {}, t('record.quarantined')), h('p', {}, id));
    return;
  }
  if (record.versions && record.versions.length > 1) {
    // Replaced, not pushed: Back does not return here to be sent on again.
    view.append(h('h1', {}, t('edit.title', {type: t(`type.${record.type}`), id})), h('p', {class: 'warn'}, t('edit.to_conflicts')));
    location.replace(`#/conflicts/${encodeURIComponent(id)}`);
    return;
  }
  if (record.type === 'seizure') {
    await (await import('./seizure_form.js')).Render(view, {...context, edit: {record, etag}});
    return;
  }
  if (record.type === 'suspect' || record.type === 'company') {
    await (await import('./party_form.js')).Render(view, {...context, edit: {record, etag}});
    return;
  }
  view.append(h('h1', {}, t('edit.title', {type: t(`type.${record.type}`), id})),
    h('p', {}, h('a', {href: `#/record/${id}`}, t('conflicts.back'))));
  const keys = Object.keys(record).filter((key) => !kFixed.includes(key));
  const form = h('form', {id: 'edit-form', novalidate: true},
    h('div', {class: 'fields'}, keys.map((key) => Control(key, record[key]))));
  const status = h('p', {id: 'edit-status', role: 'status'});
  form.append(h('div', {class: 'actions'}, h('button', {type: 'submit', id: 'edit-save'}, t('edit.save')), status));
  view.append(form);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const old of form.querySelectorAll('.field-error')) old.remove();
    for (const old of form.querySelectorAll('[aria-invalid]')) old.removeAttribute('aria-invalid');
    status.textContent = '';
    const body = {type: record.type};
    for (const control of form.querySelectorAll('[data-path]')) {
      const key = control.name;
      const text = control.value;
      if (control.dataset.kind === 'json') {
        try {
          body[key] = JSON.parse(text);
        } catch (error) {
          control.setAttribute('aria-invalid', 'true');
          control.after(FieldError(t('conflicts.bad_json', {message: error.message})));
          control.focus();
          return;
        }
      } else if (control.dataset.kind === 'number') {
        if (text.trim() !== '') body[key] = Number(text);
      } else if (text !== '') {
        body[key] = text;
      }
    }
    const button = form.querySelector('#edit-save');
    button.disabled = true;
    try {
      await Call('PUT', `/api/records/${encodeURIComponent(id)}`, body, {headers: etag ? {'If-Match': etag} : {}});
      Go(`#/record/${id}`);
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 409) {
        status.replaceChildren(FieldError(t('edit.changed')),
          h('a', {href: `#/edit/${id}`, onclick: (e) => { e.preventDefault(); Go(`#/edit/${id}`); }}, t('conflicts.reload')));
        return;
      }
      const top = error.field ? error.field.split(/[.[]/)[0] : null;
      const control = top ? form.querySelector(`[name="${CSS.escape(top)}"]`) : null;
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        control.after(FieldError(error.message));
        control.focus();
      } else {
        status.replaceChildren(FieldError(error.message));
      }
    }
  });
}
