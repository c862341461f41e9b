// The web UI's shell: session, language, navigation and the hash router
// (#/home, #/search?q=…, #/record/ID, #/new/seizure, #/conflicts[/ID],
// #/edit/ID, #/messages[/ID], #/compose, #/new/suspect, #/new/company,
// #/releases, #/stats, #/status, #/account, #/users, #/login).

import {Call, Get, OnUnauthenticated, SetCsrfToken} from './api.js';
import {h, replace} from './dom.js';
import {SavedLanguage, SetLanguage, Language, t} from './i18n.js';

export const session = {user: null, role: null, node: null};
const main = document.getElementById('main');

const kRoutes = {
  login: () => import('./pages/login.js'),
  home: () => import('./pages/home.js'),
  search: () => import('./pages/search.js'),
  record: () => import('./pages/record.js'),
  new: (args) => (args[0] === 'suspect' || args[0] === 'company' ? import('./pages/party_form.js') : import('./pages/seizure_form.js')),
  conflicts: () => import('./pages/conflicts.js'),
  edit: () => import('./pages/edit.js'),
  messages: () => import('./pages/messages.js'),
  compose: () => import('./pages/messages.js'),
  stats: () => import('./pages/stats.js'),
  releases: () => import('./pages/releases.js'),
  status: () => import('./pages/status.js'),
  account: () => import('./pages/account.js'),
  users: () => import('./pages/users.js'),
};

export function Go(hash) {
  if (location.hash === hash) Route();
  else location.hash = hash;
}

function ParseHash() {
  const text = location.hash.replace(/^#\/?/, '');
  const [path, query] = text.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return {page: parts[0] || 'home', args: parts.slice(1), params: new URLSearchParams(query || '')};
}

let route_count = 0;
async function Route() {
  const count = ++route_count;
  let {page, args, params} = ParseHash();
  if (!session.user && page !== 'login') page = 'login';
  if (!kRoutes[page]) page = 'home';
  RenderShell(page);
  try {
    const module = await kRoutes[page](args);
    if (count !== route_count) return;
    const view = h('div', {class: `page page-${page}`});
    replace(main, view);
    await module.Render(view, {args, params, page});
    if (count !== route_count) return;
    FocusHeading(view);
    document.body.dataset.page = page;
  } catch (error) {
    if (count !== route_count) return;
    replace(main, h('p', {class: 'error', role: 'alert', tabindex: -1}, t('error.load', {message: error.message})));
    FocusHeading(main);
  }
}

// After a route change, keyboard and screen-reader users start at the new
// page's heading, unless the page put the focus inside itself (the sign-in
// page focuses the name).
function FocusHeading(view) {
  if (view.contains(document.activeElement) && document.activeElement !== view) return;
  const heading = view.querySelector('h1') || view.querySelector('[role="alert"]') || main;
  if (heading !== main && !heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  heading.focus({preventScroll: false});
}

function RenderShell(page) {
  document.title = `ncen — ${t(`nav.${page}`)}`;
  const nav = document.getElementById('nav');
  if (!session.user) {
    replace(nav);
  } else {
    // "new/suspect" is current on #/new/suspect only; "messages" on any message page.
    const path = location.hash.replace(/^#\/?/, '').split('?')[0];
    const current = (target) => (target.includes('/') ? path === target : page === target);
    const link = (target, key) => h('a', {href: `#/${target}`, 'aria-current': current(target) ? 'page' : false}, t(key));
    replace(nav, link('home', 'nav.home'), link('search', 'nav.search'), link('new/seizure', 'nav.new'),
      link('new/suspect', 'nav.new_suspect'), link('new/company', 'nav.new_company'),
      link('conflicts', 'nav.conflicts'), link('messages', 'nav.messages'),
      // Analysts (and admins) also release and see statistics.
      session.role !== 'officer' ? [link('releases', 'nav.releases'), link('stats', 'nav.stats')] : null,
      session.role === 'admin' ? [link('status', 'nav.status'), link('users', 'nav.users')] : null,
      link('account', 'nav.account'));
  }
  document.getElementById('skip').textContent = t('nav.skip');
  document.getElementById('lang-label').textContent = t('lang.label');
  document.getElementById('who').textContent = session.user ? `${session.user} (${t(`role.${session.role}`)}) · ${session.node}` : '';
  const logout = document.getElementById('logout');
  logout.textContent = t('nav.logout');
  logout.hidden = !session.user;
}

export function SignedIn(data) {
  session.user = data.user;
  session.role = data.role;
  session.node = data.node;
  SetCsrfToken(data.csrf_token);
}

export function SignedOut() {
  session.user = session.role = session.node = null;
  SetCsrfToken(null);
}

// The localStorage prefix of the signed-in account's drafts.
export function DraftPrefix() { return `ncen.draft.${session.user}.`; }

// Signing out on purpose drops the account's drafts: a shared computer
// keeps no record someone began. (A session that merely expired keeps
// them, for the same officer signing in again.)
function DropDrafts() {
  const prefix = DraftPrefix();
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith(prefix)) localStorage.removeItem(key);
  }
}

async function Logout() {
  try { await Call('POST', '/api/logout'); } catch (error) { /* the session may be gone already */ }
  DropDrafts();
  SignedOut();
  Go('#/login');
}

async function Start() {
  const lang_select = document.getElementById('lang');
  // The dictionaries and the session are asked for at once.
  const session_answer = Get('/api/session').then(SignedIn, SignedOut);
  await SetLanguage(SavedLanguage());
  lang_select.value = Language();
  lang_select.addEventListener('change', async () => {
    await SetLanguage(lang_select.value);
    Route();
  });
  document.getElementById('logout').addEventListener('click', Logout);
  // The skip link moves the focus without touching the hash (the router's).
  document.getElementById('skip').addEventListener('click', (event) => {
    event.preventDefault();
    FocusHeading(main.firstElementChild || main);
  });
  OnUnauthenticated(() => {
    if (!session.user) return;
    SignedOut();
    Go('#/login');
  });
  await session_answer;
  window.addEventListener('hashchange', Route);
  await Route();
}

Start();
