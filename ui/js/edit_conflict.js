// What an edit form shows when PUT /api/records/{id} answers 409: someone
// wrote a version since the form was filled (another officer, or a sync).
// The form keeps the officer's text; this panel says what the other
// version changed against the record as the form read it, and offers to
// load the current version or to keep these changes and save them over it.
// Only that choice hands the form the 409's ETag: saving again without
// choosing is refused again.
import {h, replace} from './dom.js';
import {t} from './i18n.js';
import {Label, Same, Text} from './pages/record.js';

// `error`: the ApiError of the 409 (body.current, the ETag header);
// `base`: the record as the form read it; `made`: names of new parties
// already written (kept by "keep", left unlinked by "load"). on_load();
// on_keep(current, etag);
// on_leave() (the record was deleted and the officer leaves it so).
// Returns the panel (a section with id edit-conflict).
//
// A record deleted since the form read it comes as a 409 whose `current` is
// null: the panel says so, and offers to leave it deleted (go home, the
// draft dropped) or to save the officer's version, which brings it back.
export function ConflictPanel({error, base, on_load, on_keep, on_leave, made = []}) {
  const deleted = !!error.body && error.body.current === null;
  const current = (error.body && error.body.current) || {};
  const etag = error.headers && error.headers.get('ETag');
  const keys = deleted ? [] : [...new Set([...Object.keys(base), ...Object.keys(current)])]
    .filter((key) => !['id', 'type', 'versions'].includes(key) && !Same(base[key], current[key]));
  const load = h('button', {type: 'button', id: 'edit-load-current', class: 'secondary'},
    t(deleted ? 'form.edit_leave_deleted' : 'form.edit_load_current'));
  const keep = h('button', {type: 'button', id: 'edit-keep-mine', disabled: !etag},
    t(deleted ? 'form.edit_restore_mine' : 'form.edit_keep_mine'));
  const panel = h('section', {class: 'conflict', id: 'edit-conflict'},
    h('h2', {tabindex: '-1'}, t(deleted ? 'form.edit_deleted_title' : 'form.edit_changed_title')),
    h('p', {}, t(deleted ? 'form.edit_deleted' : 'form.edit_changed')),
    deleted ? null : keys.length === 0 ? h('p', {}, t('form.edit_changed_nothing')) : h('div', {class: 'table-wrap'},
      h('table', {class: 'grid', id: 'edit-changes'},
        h('thead', {}, h('tr', {}, ['field', 'read', 'now'].map((key) => h('th', {scope: 'col'}, t(`form.edit_col_${key}`))))),
        h('tbody', {}, keys.map((key) => h('tr', {class: 'differs'}, h('th', {scope: 'row'}, Label(key)),
          h('td', {}, Text(key, base[key])), h('td', {}, Text(key, current[key]))))))),
    made.length ? h('p', {id: 'edit-made', class: 'warn'}, t('form.edit_made', {names: made.join(', ')})) : null,
    h('div', {class: 'form-actions'}, keep, load));
  load.addEventListener('click', deleted ? on_leave : on_load);
  keep.addEventListener('click', () => {
    replace(panel, h('p', {id: 'edit-kept'}, t('form.edit_kept')));
    on_keep(current, etag);
  });
  return panel;
}
