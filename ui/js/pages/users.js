// The node's accounts, for administrators: the list (GET /api/users), a
// new account with its role (POST /api/users), disabling and enabling one
// (POST /api/users/{name}/disable, …/enable; disabling ends its sessions),
// and setting another account's password (PUT /api/users/{name}/password:
// for one who forgot theirs; it ends that account's sessions).
import {ApiError, Call, Get, Post} from '../api.js';
import {session} from '../app.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';
import {ClearFieldErrors, Field, ShowFieldError, kPasswordMin} from './account.js';

const kRoles = ['officer', 'analyst', 'admin'];

function When(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function UsersTable(users, onToggle) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'users-table'},
    h('thead', {}, h('tr', {}, ['name', 'role', 'state', 'created', 'changed', 'action'].map((c) =>
      h('th', {scope: 'col'}, t(`users.col.${c}`))))),
    h('tbody', {}, users.map((u) => h('tr', {'data-user': u.name, class: u.disabled ? 'disabled' : ''},
      h('th', {scope: 'row'}, u.name),
      h('td', {}, t(`role.${u.role}`)),
      h('td', {class: u.disabled ? 'warn' : 'ok'}, u.disabled ? t('users.disabled') : t('users.enabled')),
      h('td', {}, When(u.created)),
      h('td', {}, When(u.changed)),
      h('td', {}, u.name === session.user ? h('span', {class: 'hint'}, t('users.you')) :
        h('button', {type: 'button', class: 'secondary', 'data-action': u.disabled ? 'enable' : 'disable',
          'aria-label': t(u.disabled ? 'users.enable_named' : 'users.disable_named', {name: u.name}),
          onclick: (event) => onToggle(u, event.currentTarget)}, t(u.disabled ? 'users.enable' : 'users.disable'))))))));
}

// A new password for an account: at least kPasswordMin characters, its
// rule in the field's hint (`${id}-hint`).
function NewPassword(id) {
  return h('input', {id, type: 'password', required: true, minlength: kPasswordMin, maxlength: 256,
    autocomplete: 'new-password', 'aria-describedby': `${id}-hint`});
}

export async function Render(view) {
  view.append(h('h1', {}, t('users.title')));
  const list = h('section', {id: 'users-list', 'aria-live': 'polite'});
  const list_message = h('p', {id: 'users-message', role: 'status'});
  const reset = ResetForm(() => refresh());
  const refresh = async () => {
    const users = await Get('/api/users');
    replace(list, UsersTable(users, toggle));
    reset.update(users);
  };
  const toggle = async (user, button) => {
    // Disabling signs the account out everywhere: ask first.
    if (!user.disabled && !button.dataset.confirm) {
      button.dataset.confirm = '1';
      button.textContent = t('users.disable_confirm', {name: user.name});
      button.setAttribute('aria-label', button.textContent);
      return;
    }
    button.disabled = true;
    list_message.textContent = '';
    try {
      await Post(`/api/users/${encodeURIComponent(user.name)}/${user.disabled ? 'enable' : 'disable'}`);
      list_message.textContent = t(user.disabled ? 'users.enabled_done' : 'users.disabled_done', {name: user.name});
      await refresh();
      const again = list.querySelector(`tr[data-user="${CSS.escape(user.name)}"] button`);
      if (again) again.focus();
    } catch (error) {
      button.disabled = false;
      list_message.textContent = t('error.generic', {message: error.message});
    }
  };

  const name = h('input', {id: 'user-name', required: true, maxlength: 64, pattern: '[A-Za-z0-9._\\-]{1,64}',
    autocomplete: 'off', 'aria-describedby': 'user-name-hint'});
  const role = h('select', {id: 'user-role'}, kRoles.map((r) => h('option', {value: r}, t(`role.${r}`))));
  const password = NewPassword('user-password');
  const submit = h('button', {type: 'submit', id: 'user-add'}, t('users.add'));
  const message = h('p', {id: 'user-add-message', role: 'status'});
  const form = h('form', {id: 'user-form', novalidate: true},
    h('h2', {}, t('users.new')),
    h('div', {class: 'fields'},
      Field('user-name', t('users.name'), name, t('users.name_rule')),
      Field('user-role', t('users.role'), role),
      Field('user-password', t('users.password'), password, t('account.rule', {min: kPasswordMin}))),
    h('div', {class: 'form-actions'}, submit), message);
  const controls = {name, role, password};
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    ClearFieldErrors(form);
    message.textContent = '';
    submit.disabled = true;
    try {
      const added = await Post('/api/users', {name: name.value.trim(), role: role.value, password: password.value});
      message.textContent = t('users.added', {name: added.name, role: t(`role.${added.role}`)});
      name.value = password.value = '';
      await refresh();
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) ShowFieldError(name, error.message);
      else if (error instanceof ApiError && controls[error.field]) ShowFieldError(controls[error.field], error.message);
      else message.textContent = t('error.generic', {message: error.message});
    } finally {
      submit.disabled = false;
    }
  });

  view.append(form, h('h2', {}, t('users.list')), list_message, list);
  try {
    await refresh();
  } catch (error) {
    list.append(h('p', {class: 'error', role: 'alert'}, error.message));
  }
  view.append(reset.form);
}

// Another account's password, set by an admin (one's own is changed on
// #/account, with the current password).
// Returns {form, update(users)}: the accounts offered follow the list.
function ResetForm(refresh) {
  const who = h('select', {id: 'reset-user'});
  const update = (users) => {
    const chosen = who.value;
    replace(who, users.filter((u) => u.name !== session.user).map((u) =>
      h('option', {value: u.name, selected: u.name === chosen}, u.name)));
  };
  const password = NewPassword('reset-password');
  const submit = h('button', {type: 'submit', id: 'reset-submit'}, t('users.reset_submit'));
  const message = h('p', {id: 'reset-message', role: 'status'});
  const form = h('form', {id: 'reset-form', novalidate: true},
    h('h2', {}, t('users.reset_title')),
    h('p', {class: 'hint'}, t('users.reset_hint')),
    h('div', {class: 'fields'},
      Field('reset-user', t('users.name'), who),
      Field('reset-password', t('users.password'), password, t('account.rule', {min: kPasswordMin}))),
    h('div', {class: 'form-actions'}, submit), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    ClearFieldErrors(form);
    message.textContent = '';
    if (!who.value) return;
    submit.disabled = true;
    try {
      await Call('PUT', `/api/users/${encodeURIComponent(who.value)}/password`, {password: password.value});
      message.textContent = t('users.reset_done', {name: who.value});
      password.value = '';
      await refresh();
    } catch (error) {
      if (error instanceof ApiError && error.field === 'password') ShowFieldError(password, error.message);
      else message.textContent = t('error.generic', {message: error.message});
    } finally {
      submit.disabled = false;
    }
  });
  return {form, update};
}
