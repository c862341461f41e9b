// Sign in: POST /api/login; the answer's csrf_token is kept for writes.
import {ApiError, Post} from '../api.js';
import {Go, SignedIn} from '../app.js';
import {h} from '../dom.js';
import {t} from '../i18n.js';

export async function Render(view) {
  const message = h('p', {class: 'error', role: 'alert', id: 'login-error'});
  const name = h('input', {id: 'login-name', name: 'name', autocomplete: 'username', required: true, autofocus: true});
  const password = h('input', {id: 'login-password', name: 'password', type: 'password',
    autocomplete: 'current-password', required: true});
  const submit = h('button', {type: 'submit', id: 'login-submit'}, t('login.submit'));
  // A page that ended the session on purpose (a new password) says why.
  const notice = sessionStorage.getItem('ncen.notice');
  sessionStorage.removeItem('ncen.notice');
  const form = h('form', {class: 'login', 'aria-labelledby': 'login-title'},
    h('h1', {id: 'login-title'}, t('login.title')),
    notice ? h('p', {role: 'status', id: 'login-notice'}, t(notice)) : null,
    h('p', {class: 'hint'}, t('login.intro')),
    h('label', {for: 'login-name'}, t('login.name')), name,
    h('label', {for: 'login-password'}, t('login.password')), password,
    submit, message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    submit.disabled = true;
    try {
      SignedIn(await Post('/api/login', {name: name.value, password: password.value}));
      password.value = '';
      Go('#/home');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) message.textContent = t('login.failed');
      else if (error instanceof ApiError && error.status === 429) message.textContent = t('login.too_many');
      else message.textContent = t('error.generic', {message: error.message});
    } finally {
      submit.disabled = false;
    }
  });
  view.append(form);
  name.focus();
}
