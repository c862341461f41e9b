// One's own account: change one's password (PUT /api/users/{name}/password
// with the current one). The server ends every session of the account,
// this one too, so the page returns to the sign-in.
import {ApiError, Call} from '../api.js';
import {Go, SignedOut, session} from '../app.js';
import {h} from '../dom.js';
import {t} from '../i18n.js';

export const kPasswordMin = 10;

// A labelled control in the form's grid, with room for the server's error.
export function Field(id, label, control, hint) {
  return h('div', {class: 'field'}, h('label', {for: id}, label), control,
    hint ? h('p', {class: 'hint', id: `${id}-hint`}, hint) : null);
}

// Puts `text` right after `control`, marked as its error.
export function ShowFieldError(control, text) {
  control.setAttribute('aria-invalid', 'true');
  const error = h('p', {class: 'field-error', id: `${control.id}-error`}, text);
  control.setAttribute('aria-describedby', `${control.id}-error`);
  control.after(error);
  control.focus();
}

export function ClearFieldErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
}

export async function Render(view) {
  view.append(h('h1', {}, t('account.title', {name: session.user})),
    h('p', {}, t('account.who', {name: session.user, role: t(`role.${session.role}`), node: session.node})));
  const input = (id, autocomplete) => h('input', {id, type: 'password', autocomplete, required: true,
    minlength: kPasswordMin, maxlength: 256});
  const current = input('account-current', 'current-password');
  const password = input('account-password', 'new-password');
  const again = input('account-again', 'new-password');
  const message = h('p', {id: 'account-message', role: 'status'});
  const submit = h('button', {type: 'submit', id: 'account-submit'}, t('account.submit'));
  const form = h('form', {id: 'account-form', novalidate: true},
    h('h2', {}, t('account.change_password')),
    h('div', {class: 'fields'},
      Field('account-current', t('account.current'), current),
      Field('account-password', t('account.new'), password, t('account.rule', {min: kPasswordMin})),
      Field('account-again', t('account.again'), again)),
    h('p', {class: 'hint'}, t('account.after')),
    h('div', {class: 'form-actions'}, submit), message);
  const controls = {current, password};
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    ClearFieldErrors(form);
    message.textContent = '';
    if (password.value !== again.value) return ShowFieldError(again, t('account.mismatch'));
    submit.disabled = true;
    try {
      await Call('PUT', `/api/users/${encodeURIComponent(session.user)}/password`,
        {current: current.value, password: password.value});
      // The answer cleared this session's cookie: sign in again.
      SignedOut();
      sessionStorage.setItem('ncen.notice', 'account.changed');
      Go('#/login');
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) message.textContent = t('login.too_many');
      else if (error instanceof ApiError && controls[error.field]) ShowFieldError(controls[error.field], error.message);
      else message.textContent = t('error.generic', {message: error.message});
    } finally {
      submit.disabled = false;
    }
  });
  view.append(form);
}
