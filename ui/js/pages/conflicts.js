// Conflicts: the list (GET /api/conflicts) at #/conflicts, and one record's
// resolution at #/conflicts/ID: its versions side by side (the record
// page's table), one choice per differing top-level field of which
// version's value to keep, the merged record as editable JSON, then
// POST /api/records/{id}/resolve with If-Match (the ETag of the GET).
// The server's field error is put next to that field's choice. When one
// version is a delete, the officer may also keep the record deleted:
// DELETE /api/records/{id} (a delete's context is every version the node
// holds, so it settles the conflict), asked for twice like a withdrawal.
import {ApiError, Call, Get} from '../api.js';
import {Go} from '../app.js';
import {h} from '../dom.js';
import {t} from '../i18n.js';
import {kVersionMeta, Label, Same, Text, Versions} from './record.js';

// Kept from the record's fields but never chosen: the server writes who
// resolved it, whatever the body says.
const kNotChosen = ['entered_by'];

async function RenderList(view, params) {
  const conflicts = await Get('/api/conflicts?limit=1000');
  view.append(h('h1', {}, t('conflicts.title')));
  // Back from "keep it deleted": the record is gone (its GET is a 404).
  const deleted = params.get('deleted');
  if (deleted) view.append(h('p', {id: 'conflicts-status', role: 'status'}, t('conflicts.deleted_done', {id: deleted})));
  if (conflicts.length === 0) {
    view.append(h('p', {id: 'no-conflicts'}, t('home.no_conflicts')));
    return;
  }
  view.append(h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'conflicts-table'},
    h('thead', {}, h('tr', {}, ['type', 'summary', 'versions', 'action'].map((key) =>
      h('th', {scope: 'col'}, t(`conflicts.col.${key}`))))),
    h('tbody', {}, conflicts.map((item) => h('tr', {},
      h('td', {}, t(`type.${item.type}`)),
      h('td', {}, h('a', {href: `#/record/${item.id}`}, item.summary || item.id)),
      h('td', {class: 'num'}, String(item.versions)),
      h('td', {}, h('a', {href: `#/conflicts/${item.id}`, class: 'resolve-open'}, t('conflicts.resolve')))))))));
}

// The record's fields of one version (without its metadata).
function Fields(version) {
  const fields = {};
  for (const [key, value] of Object.entries(version)) if (!kVersionMeta.includes(key)) fields[key] = value;
  return fields;
}

function FieldError(message) { return h('p', {class: 'field-error', role: 'alert'}, message); }

// What a 409 says: the record changed; a link shows it again.
function Changed(id, link_id) {
  return [FieldError(t('conflicts.changed')),
    h('a', {href: `#/conflicts/${id}`, id: link_id, onclick: (e) => { e.preventDefault(); Go(`#/conflicts/${id}`); }},
      t('conflicts.reload'))];
}

// "Keep it deleted": the first press asks, Yes deletes, Cancel goes back.
// The DELETE carries the page's ETag as If-Match: a version that arrived
// since this page was drawn is the same 409 as for resolving (the server
// checks it inside the write).
function KeepDeleted(id, etag, all_deleted) {
  const status = h('p', {id: 'resolve-delete-status', role: 'status'});
  const actions = h('div', {class: 'form-actions'});
  const start = h('button', {type: 'button', id: 'resolve-delete'}, t('conflicts.keep_deleted'));
  const Ask = () => {
    const confirm = h('button', {type: 'button', id: 'resolve-delete-confirm'}, t('conflicts.keep_deleted_yes'));
    const cancel = h('button', {type: 'button', id: 'resolve-delete-cancel'}, t('conflicts.keep_deleted_cancel'));
    cancel.addEventListener('click', () => {
      actions.replaceChildren(start);
      start.focus();
    });
    confirm.addEventListener('click', async () => {
      confirm.disabled = cancel.disabled = true;
      status.replaceChildren();
      try {
        await Call('DELETE', `/api/records/${encodeURIComponent(id)}`, undefined, {headers: etag ? {'If-Match': etag} : {}});
        Go(`#/conflicts?deleted=${encodeURIComponent(id)}`);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        actions.replaceChildren(start);
        // A 404: someone deleted it meanwhile; also a change.
        status.replaceChildren(...(error.status === 409 || error.status === 404 ? Changed(id, 'resolve-delete-reload') : [FieldError(error.message)]));
      }
    });
    actions.replaceChildren(h('p', {id: 'resolve-delete-question'}, t('conflicts.keep_deleted_ask')), confirm, cancel);
    confirm.focus();
  };
  start.addEventListener('click', Ask);
  actions.append(start);
  return h('section', {id: 'keep-deleted'}, h('h2', {}, t('conflicts.deleted_title')),
    h('p', {class: 'hint'}, t(all_deleted ? 'conflicts.all_deleted' : 'conflicts.deleted_version')), actions, status);
}

async function RenderResolve(view, id) {
  const {data: record, headers} = await Call('GET', `/api/records/${encodeURIComponent(id)}`);
  const etag = headers.get('ETag');
  view.append(h('h1', {}, t('conflicts.resolve_title', {id})),
    h('p', {}, h('a', {href: `#/record/${id}`}, t('conflicts.back'))));
  const versions = (record.versions || []).filter((version) => version.op !== 'delete');
  if (!record.versions || record.versions.length < 2) {
    view.append(h('p', {id: 'not-in-conflict'}, t('conflicts.not_in_conflict')));
    return;
  }
  view.append(h('p', {}, t('record.conflict_hint')), Versions(record.versions));
  const deleted = versions.length < record.versions.length;
  if (deleted) view.append(KeepDeleted(id, etag, versions.length === 0));
  // Every version a delete (deleted on two nodes apart): nothing to keep.
  if (versions.length === 0) return;

  const winner = Math.max(0, versions.findIndex((version) => version.winner));
  const fields = versions.map(Fields);
  const keys = [];
  for (const version of fields) for (const key of Object.keys(version)) if (!keys.includes(key)) keys.push(key);
  const differing = keys.filter((key) => !kNotChosen.includes(key) && !fields.every((f) => Same(f[key], fields[0][key])));
  const picks = Object.fromEntries(differing.map((key) => [key, winner]));

  const merged_area = h('textarea', {id: 'merged', rows: 16, spellcheck: 'false', 'aria-describedby': 'merged-hint'});
  const Merge = () => {
    const merged = {...fields[winner]};
    delete merged.entered_by;
    for (const key of differing) {
      const chosen = fields[picks[key]];
      if (key in chosen) merged[key] = chosen[key];
      else delete merged[key];
    }
    merged_area.value = JSON.stringify(merged, null, 2);
  };

  const form = h('form', {id: 'resolve-form', novalidate: true});
  form.append(h('h2', {}, t(deleted ? 'conflicts.keep_live' : 'conflicts.choose')));
  if (differing.length === 0) form.append(h('p', {}, t('conflicts.none_differ')));
  for (const key of differing) {
    form.append(h('fieldset', {class: 'pick', id: `pick-${key}`, 'data-field': key},
      h('legend', {}, Label(key)),
      fields.map((version, index) => h('label', {class: 'check pick-option'},
        h('input', {type: 'radio', name: `pick-${key}`, id: `pick-${key}-${index}`, value: String(index),
          checked: index === winner, onclick: () => { picks[key] = index; Merge(); }}),
        h('span', {}, `${t('record.version', {n: index + 1})}: `),
        h('span', {class: 'pick-value'}, key in version ? Text(key, version[key]) : t('conflicts.absent'))))));
  }
  form.append(h('div', {class: 'field field-textarea'},
    h('label', {for: 'merged'}, t('conflicts.merged')),
    h('p', {class: 'hint', id: 'merged-hint'}, t('conflicts.merged_hint')),
    merged_area));
  const status = h('p', {id: 'resolve-status', role: 'status'});
  form.append(h('div', {class: 'actions'}, h('button', {type: 'submit', id: 'resolve'}, t(deleted ? 'conflicts.keep_record' : 'conflicts.resolve')), status));
  view.append(form);
  Merge();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const old of form.querySelectorAll('.field-error')) old.remove();
    for (const old of form.querySelectorAll('[aria-invalid]')) old.removeAttribute('aria-invalid');
    status.textContent = '';
    let body;
    try {
      body = JSON.parse(merged_area.value);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error(t('conflicts.not_object'));
    } catch (error) {
      merged_area.setAttribute('aria-invalid', 'true');
      merged_area.after(FieldError(t('conflicts.bad_json', {message: error.message})));
      merged_area.focus();
      return;
    }
    const button = form.querySelector('#resolve');
    button.disabled = true;
    try {
      await Call('POST', `/api/records/${encodeURIComponent(id)}/resolve`, body, {headers: etag ? {'If-Match': etag} : {}});
      Go(`#/record/${id}`);
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 409) {
        status.replaceChildren(...Changed(id, 'resolve-reload'));
        return;
      }
      // "goods[1].quantity" belongs to the choice of "goods".
      const top = error.field ? error.field.split(/[.[]/)[0] : null;
      const fieldset = top ? form.querySelector(`fieldset[data-field="${CSS.escape(top)}"]`) : null;
      if (fieldset) {
        fieldset.setAttribute('aria-invalid', 'true');
        fieldset.querySelector('legend').after(FieldError(error.message));
        fieldset.querySelector('input:checked').focus();
      } else {
        merged_area.setAttribute('aria-invalid', 'true');
        merged_area.after(FieldError(error.field ? `${Label(top)}: ${error.message}` : error.message));
        merged_area.focus();
      }
    }
  });
}

export async function Render(view, {args, params}) {
  if (args[0]) await RenderResolve(view, args[0]);
  else await RenderList(view, params);
}
