// Home, record history, members, accounts, keyboard and tablet layout of
// the web UI (issue 19). Usage:
//   node pages.mjs NCEN_NODE NCENCTL [--screenshots DIR]
// Two nodes of one network (a root authority certifies a post and its
// hub, both join): the hub writes an urgent message to the post before it
// starts; the post's admin (ncenctl user add --role admin) signs in and:
//   - home lists the message once it has arrived, unread and urgent, and a
//     seizure added today; a peer with entries to exchange shows a
//     <progress> whose value and max follow the status (the status fed by
//     request interception: a real sync on loopback is over in a blink);
//   - a seizure edited once shows two versions in its history (when the
//     node has GET /api/records/{id}/history; else the page says so);
//   - the status page lists the network's members (GET /api/members, or
//     the page says the node does not list them);
//   - the hub's analyst releases the seizure and withdraws the report on
//     the releases page, which asks first (Cancel keeps it);
//   - the users page adds an officer, who signs in; disabling them ends
//     their session (their next page is the sign-in);
//   - the account page changes the admin's password; the old one is
//     refused, the new one signs in;
//   - compose sends to a country (PK): the message reaches the national
//     hub's inbox; to every office (`all`, which needs a network: this one
//     has it) likewise; to a country with no office the server's refusal
//     is shown and nothing is sent;
//   - every page of the menu (and the sent box) at 768×1024 and 1366×768,
//     with a 64-letter goods subtype in the statistics and an unbroken
//     subject in the sent box: no horizontal scroll, the focus on the
//     page's heading after the route change;
//   - the skip link is the first Tab stop and moves the focus to the
//     heading; Tab through every form (seizure, suspect, company, compose,
//     search, account, users, releases, statistics): every control it
//     reaches has an accessible name, and a visible focus outline.
// Every wait is bounded; one line and exit 1 on the first failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ApiGet, Check, Failing, Finish, kWaitMs, LaunchChromium, NewPage, Open, ParseArgs, Poll, Run, Shot, TabWalk, TestNode, WaitPage}
  from './lib.mjs';

const kPassword = 'browser test password';
const kNewPassword = 'a brand new password';
const kSubject = 'Urgent: lorry PK-4471 at lane 3';
const kReference = 'PG-2026-0777';
const kTotalMs = 120000;
// Unbroken values that would widen a table at 768 px: a goods subtype of
// 64 letters (the statistics by commodity) and a message subject.
const kLongSubtype = 'w'.repeat(64);
const kCountrySubject = `To-PK-${'W'.repeat(90)}`;
const kViewports = [{width: 768, height: 1024}, {width: 1366, height: 768}];

const {node_binary, ncenctl, screenshots} = ParseArgs();

let step = 'start';
let browser = null;
let data_dir = null;
const nodes = [];
const notes = [];

function Cleanup() {
  for (const node of nodes) node.Kill();
  if (data_dir && !process.env.NCEN_KEEP) fs.rmSync(data_dir, {recursive: true, force: true});
}

const {Fail, deadline} = Failing({label: 'browser pages test', step: () => step, browser: () => browser, cleanup: Cleanup,
  total_ms: kTotalMs});

const Text = (page, selector) => page.$eval(selector, (el) => el.textContent);

// A call of the API from inside the page, with its CSRF token.
async function ApiCall(page, method, api_path, body, headers = {}) {
  return page.evaluate(async (m, p, b, extra) => {
    const response = await fetch(p, {method: m, headers: {'Content-Type': 'application/json',
      'X-CSRF-Token': sessionStorage.getItem('ncen.csrf'), ...extra}, body: b === null ? undefined : JSON.stringify(b)});
    const type = response.headers.get('Content-Type') || '';
    return {status: response.status, body: type.startsWith('application/json') ? await response.json() : null};
  }, method, api_path, body, headers).catch((error) => { throw new Error(`${method} ${api_path}: ${error.message}`); });
}

// Signs in on the sign-in page that `page` shows.
async function SignIn(page, name, password) {
  await WaitPage(page, 'login');
  await page.$eval('#login-name', (el) => { el.value = ''; });
  await page.$eval('#login-password', (el) => { el.value = ''; });
  await page.type('#login-name', name);
  await page.type('#login-password', password);
  await page.click('#login-submit');
}

// Goes to `hash` inside the running app (no reload) and waits for `name`.
async function Go(page, hash, name) {
  await page.evaluate((h) => { document.body.dataset.page = ''; location.hash = h; }, hash);
  await WaitPage(page, name);
}

async function Setup() {
  data_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncen-pages-'));
  const root = path.join(data_dir, 'root');
  Run(ncenctl, ['--data', root, 'network', 'create', '--name', 'Browser test network']);
  const common = {node_binary, ncenctl, password: kPassword};
  const hub = new TestNode({...common, dir: path.join(data_dir, 'hub'), name: 'PK national hub', role: 'hub', listen: true, user: 'karim'});
  const post = new TestNode({...common, dir: path.join(data_dir, 'post'), name: 'PK-KHI post', role: 'post', user: 'amina'});
  nodes.push(hub, post);
  // The second file holds every entry the root has: both certificates.
  const file = path.join(data_dir, 'network.net');
  for (const [node, role] of [[hub, 'national-hub'], [post, 'post']]) {
    Run(ncenctl, ['--data', root, 'certify', '--role', role, '--node', node.id, '--name', node.name, '--country', 'PK', '--out', file]);
  }
  for (const node of [hub, post]) node.Ctl('join', file);
  Run(ncenctl, ['--data', post.dir, 'user', 'add', 'adil', '--role', 'admin'], `${kPassword}\n`);
  Run(ncenctl, ['--data', hub.dir, 'user', 'add', 'hana', '--role', 'analyst'], `${kPassword}\n`);
  hub.Ctl('peers', 'add', '--name', 'post', '--id', post.id);
  hub.Ctl('msg', 'send', '--to', 'post', '--subject', kSubject, '--priority', 'urgent', '--body', 'Stop it.');
  await hub.Start();
  post.Ctl('peers', 'add', '--name', 'hub', '--id', hub.id, '--address', hub.peer_address);
  await post.Start();
  return {hub, post};
}

// The hub's analyst releases the post's seizure, then withdraws the report
// on the releases page: the first press only asks, Cancel keeps it, the
// confirmation withdraws it.
async function Withdraw(page, hub, id) {
  step = 'the seizure reaches the hub and is released';
  await Open(page, hub, '#/releases', 'releases');
  await Poll(page, `/api/records/${id}`, (a) => a.status === 200, 'the seizure on the hub');
  const released = await ApiCall(page, 'POST', '/api/releases', {seizures: [id], to: 'regional'});
  Check(released.status === 200 && released.body[0].written, `the release answered ${released.status}: ${JSON.stringify(released.body)}`);
  await Open(page, hub, '#/releases', 'releases');
  const row = '#releases-table tbody tr';
  Check((await Text(page, row)).includes('released'), `the report is not listed as released: ${await Text(page, row)}`);

  step = 'withdrawing asks first';
  await page.click(`${row} .withdraw-start`);
  await page.waitForSelector(`${row} .withdraw-confirm`);
  Check(await page.evaluate(() => document.activeElement.classList.contains('withdraw-confirm')), 'the confirmation does not take the focus');
  Check((await ApiGet(page, '/api/releases')).body[0].state === 'released', 'asking withdrew the report already');
  await page.click(`${row} .withdraw-cancel`);
  await page.waitForSelector(`${row} .withdraw-start`);
  Check((await ApiGet(page, '/api/releases')).body[0].state === 'released', 'Cancel withdrew the report');

  step = 'the confirmed withdrawal';
  await page.click(`${row} .withdraw-start`);
  await page.waitForSelector(`${row} .withdraw-confirm`);
  await Shot(page, screenshots, 'release-withdraw');
  await page.click(`${row} .withdraw-confirm`);
  await page.waitForFunction(() => document.getElementById('releases-message').textContent !== '', {timeout: kWaitMs});
  Check((await Text(page, row)).includes('withdrawn'), `the report is not listed as withdrawn: ${await Text(page, row)}`);
  Check(!(await page.$(`${row} .withdraw-start`)), 'a withdrawn report is still offered for withdrawal');
  Check((await ApiGet(page, '/api/releases')).body[0].state === 'withdrawn', 'the node does not list the report as withdrawn');
}

// Home: the urgent message listed, a seizure of today, the progress bar.
async function Home(page, post) {
  step = 'the message from the hub arrives';
  await Poll(page, '/api/status', (a) => a.status === 200 && a.body.messages && a.body.messages.unread >= 1, 'the message on the post');
  step = 'a seizure added today';
  const added = await ApiCall(page, 'POST', '/api/records', {type: 'seizure', reference: kReference, date: '2026-11-30',
    country: 'PK', office: 'PKKHI', narrative: 'First version.',
    goods: [{category: 'drugs', subtype: 'heroin', quantity: 2, unit: 'kg'}]});
  Check(added.status === 201, `adding a seizure answered ${added.status}: ${JSON.stringify(added.body)}`);
  const id = added.body.id;

  step = 'home lists the unread urgent message and the seizure of today';
  await Open(page, post, '#/home', 'home');
  const unread = await Text(page, '#home-unread');
  Check(unread.includes(kSubject), `home's unread messages do not list "${kSubject}": ${unread}`);
  Check(unread.includes('Urgent'), `the message is not marked urgent on home: ${unread}`);
  Check(await page.$eval('#home-unread a', (a) => a.getAttribute('href')).then((href) => href.startsWith('#/messages/')),
    'the unread message is not a link to the message');
  const today = await Text(page, '#home-today-list');
  Check(today.includes(kReference), `home's seizures of today do not list ${kReference}: ${today}`);
  Check(await page.$(`#home-today-list a[href="#/record/${id}"]`), 'the seizure of today is not a link to its record');
  await Shot(page, screenshots, 'home-today', true);

  step = 'a progress bar while a peer has entries to exchange';
  // The status as the node gives it, with the hub 10 then 4 entries apart.
  const real = (await ApiGet(page, '/api/status')).body;
  const behind = [10, 4];
  let served = 0;
  await page.setRequestInterception(true);
  const intercept = (request) => {
    if (!request.url().endsWith('/api/status')) return request.continue();
    const status = structuredClone(real);
    const hub = status.peers.find((p) => p.name === 'hub');
    Object.assign(hub, {behind: behind[Math.min(served++, behind.length - 1)], ahead: 0, in_sync: false});
    return request.respond({status: 200, contentType: 'application/json', body: JSON.stringify(status)});
  };
  page.on('request', intercept);
  try {
    await Go(page, '#/search', 'search');
    await Go(page, '#/home', 'home');
    const bar = () => page.$eval('#peers tr[data-peer="hub"] progress[data-what="entries"]', (p) => [p.value, p.max]);
    const first = await bar();
    Check(first[0] === 0 && first[1] === 10, `the first look at 10 entries apart shows ${first} (want 0 of 10)`);
    // The page asks again within 2 s; 4 apart then is 6 of 10 done.
    await page.waitForFunction(() => {
      const p = document.querySelector('#peers tr[data-peer="hub"] progress[data-what="entries"]');
      return p && p.value === 6 && p.max === 10;
    }, {timeout: 6000}).catch(async () => { throw new Error(`the bar did not move to 6 of 10: ${await bar().catch(() => 'gone')}`); });
    Check((await Text(page, '#peers tr[data-peer="hub"]')).includes('4 entries to exchange'), 'the row does not say 4 entries are left');
    await Shot(page, screenshots, 'home-progress');
  } finally {
    page.off('request', intercept);
    await page.setRequestInterception(false);
  }
  step = 'the refresh stops when home is left';
  const before = served;
  await Go(page, '#/search', 'search');
  await new Promise((resolve) => setTimeout(resolve, 2500));
  Check(served === before, `home kept asking for the status after it was left (${served - before} more)`);
  return id;
}

async function History(page, post, id) {
  step = 'an edit makes a second version';
  const put = await ApiCall(page, 'PUT', `/api/records/${id}`, {type: 'seizure', reference: kReference, date: '2026-11-30',
    country: 'PK', office: 'PKKHI', narrative: 'Second version.',
    goods: [{category: 'drugs', subtype: 'heroin', quantity: 2.5, unit: 'kg'}]}, {'If-Match': '*'});
  Check(put.status === 200, `the edit answered ${put.status}: ${JSON.stringify(put.body)}`);
  step = 'the record page shows the history';
  const history = await ApiGet(page, `/api/records/${id}/history`);
  await Open(page, post, `#/record/${id}`, 'record');
  if (history.status === 404) {
    Check(await page.$('#history-unavailable'), 'without the history route the page does not say so');
    notes.push('GET /api/records/{id}/history answered 404: only the page\'s notice was checked');
    return;
  }
  Check(history.status === 200, `the history answered ${history.status}`);
  const rows = await page.$$eval('#history-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
  Check(rows.length === 2, `the history shows ${rows.length} versions, not 2: ${rows.join(' | ')}`);
  Check(rows.every((row) => row.includes('adil') && row.includes('PK-KHI post')),
    `a version does not name the officer and the office: ${rows.join(' | ')}`);
  Check(await page.$('#history-table tbody tr.current'), 'no version is marked current');
  await page.$eval('#history', (el) => el.scrollIntoView());
  await Shot(page, screenshots, 'record-history');
}

async function Members(page) {
  step = 'the status page lists the members';
  await Go(page, '#/status', 'status');
  const answer = await ApiGet(page, '/api/members');
  if (answer.status === 404) {
    Check(await page.$('#members-unavailable'), 'without the members route the page does not say so');
    notes.push('GET /api/members answered 404: only the page\'s notice was checked');
    return;
  }
  const text = await Text(page, '#members-table');
  for (const name of ['PK-KHI post', 'PK national hub', 'root']) Check(text.includes(name), `the members table does not list ${name}: ${text}`);
  Check((await Text(page, '#members-table tr[data-id] .badge')).length > 0, 'this node is not marked in the members table');
}

async function Accounts(admin, officer, post) {
  step = 'the users page adds an officer';
  await Go(admin, '#/users', 'users');
  await admin.type('#user-name', 'omar');
  await admin.select('#user-role', 'officer');
  await admin.type('#user-password', kPassword);
  await admin.click('#user-add');
  await admin.waitForSelector('#users-table tr[data-user="omar"]');
  Check((await Text(admin, '#users-table tr[data-user="omar"]')).includes('officer'), 'omar is not listed as an officer');

  step = 'the new officer signs in';
  await officer.goto(`${post.base}/#/home`);
  await SignIn(officer, 'omar', kPassword);
  await WaitPage(officer, 'home');
  Check(!(await officer.$('#nav a[href="#/users"]')), 'an officer is offered the users page');
  Check(await officer.$('#nav a[href="#/account"]'), 'an officer is not offered the account page');

  step = 'disabling the officer ends their session';
  const disable = '#users-table tr[data-user="omar"] button[data-action="disable"]';
  await admin.click(disable);
  Check((await Text(admin, disable)).includes('again'), 'disabling does not ask for a confirmation');
  Check((await ApiGet(admin, '/api/users')).body.find((u) => u.name === 'omar').disabled === false, 'the first press disabled already');
  await admin.click(disable);
  await admin.waitForSelector('#users-table tr[data-user="omar"] button[data-action="enable"]');
  await Go(officer, '#/search', 'search');
  await officer.evaluate(() => { location.hash = '#/home'; });
  await WaitPage(officer, 'login');
  await SignIn(officer, 'omar', kPassword);
  await officer.waitForFunction(() => document.getElementById('login-error').textContent !== '', {timeout: kWaitMs});

  step = 'the admin sets the officer\'s password; enabled again, they sign in with it';
  await admin.click('#users-table tr[data-user="omar"] button[data-action="enable"]');
  await admin.waitForSelector('#users-table tr[data-user="omar"] button[data-action="disable"]');
  await admin.select('#reset-user', 'omar');
  await admin.type('#reset-password', 'a password set by the admin');
  await admin.click('#reset-submit');
  await admin.waitForFunction(() => document.getElementById('reset-message').textContent !== '', {timeout: kWaitMs});
  const reset_said = await Text(admin, '#reset-message');
  Check(reset_said.includes('omar') && !reset_said.includes('wrong'), `the users page says: ${reset_said}`);
  await officer.goto('about:blank');
  await officer.goto(`${post.base}/#/home`);
  await WaitPage(officer, 'login');
  await SignIn(officer, 'omar', kPassword);
  await officer.waitForFunction(() => document.getElementById('login-error').textContent !== '', {timeout: kWaitMs});
  await SignIn(officer, 'omar', 'a password set by the admin');
  await WaitPage(officer, 'home');

  step = 'the admin changes their own password';
  await Go(admin, '#/account', 'account');
  await admin.type('#account-current', kPassword);
  await admin.type('#account-password', kNewPassword);
  await admin.type('#account-again', kNewPassword);
  await admin.click('#account-submit');
  await WaitPage(admin, 'login');
  Check((await Text(admin, '#login-notice')).includes('password was changed'), 'the sign-in page does not say the password changed');
  await SignIn(admin, 'adil', kPassword);
  await admin.waitForFunction(() => document.getElementById('login-error').textContent !== '', {timeout: kWaitMs});
  await SignIn(admin, 'adil', kNewPassword);
  await WaitPage(admin, 'home');
}

// Compose on the post to a country, to every office, and to a country with
// no office; the hub's analyst (`hub_page`) sees what reached its inbox.
async function MessagesOut(page, hub_page) {
  const Send = async (kind, to, subject) => {
    await Go(page, '#/compose', 'compose');
    await page.select('#compose-to_kind', kind);
    Check(await page.$eval('#compose-to', (el) => el.disabled) === (kind === 'all'), `the addressee box is wrongly enabled for ${kind}`);
    if (to !== null) await page.type('#compose-to', to);
    await page.type('#compose-subject', subject);
    await page.type('#compose-body', `Sent to ${kind} ${to || ''}.`);
    await page.click('#compose-send');
  };
  const Sent = async () => {
    await page.waitForFunction(() => document.body.dataset.page === 'messages' && document.querySelector('#message'), {timeout: kWaitMs});
    return page.$eval('#message', (el) => el.dataset.id);
  };
  step = 'a message to country PK';
  await Send('country', 'PK', kCountrySubject);
  await Sent();
  Check((await Text(page, '#message dd:nth-of-type(2)')) === 'country PK', `the message is addressed to ${await Text(page, '#message dd:nth-of-type(2)')}`);
  step = 'a message to every office';
  await Send('all', null, 'To every office');
  await Sent();
  step = 'the national hub\'s inbox has both';
  const subjects = (a) => (a.body || []).map((m) => m.subject);
  const arrived = await Poll(hub_page, '/api/messages', (a) => a.status === 200 &&
    subjects(a).includes(kCountrySubject) && subjects(a).includes('To every office'), 'the messages in the hub\'s inbox');
  notes.push(`messages to PK and to all on the hub's inbox after ${arrived.waited_ms} ms`);
  await Go(hub_page, '#/messages', 'messages');
  Check((await Text(hub_page, '#messages-table')).includes(kCountrySubject), 'the hub\'s inbox page does not list the message to PK');

  step = 'a country with no office: refused, nothing sent';
  const before = (await ApiGet(page, '/api/messages?box=sent')).body.length;
  await Send('country', 'ZZ', 'Nobody there');
  await page.waitForSelector('#compose-form .field-error');
  Check((await Text(page, '#compose-form .field-error')).includes('ZZ'), `the refusal says ${await Text(page, '#compose-form .field-error')}`);
  Check(await page.evaluate(() => document.body.dataset.page === 'compose'), 'a refused message left the compose page');
  Check((await ApiGet(page, '/api/messages?box=sent')).body.length === before, 'a refused message was sent');
}

// Every page of the menu (and a record) at both sizes: no horizontal
// scroll, and the focus on the heading after the route change.
async function Layout(page, id) {
  step = 'a seizure with a 64-letter goods subtype';
  const added = await ApiCall(page, 'POST', '/api/records', {type: 'seizure', reference: 'PG-LONG', date: '2026-11-30',
    country: 'PK', office: 'PKKHI', goods: [{category: 'drugs', subtype: kLongSubtype, quantity: 1, unit: 'kg'}]});
  Check(added.status === 201, `adding the seizure answered ${added.status}: ${JSON.stringify(added.body)}`);
  const links = await page.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href')));
  Check(links.includes('#/users') && links.includes('#/status') && links.includes('#/account'), `the admin's menu lacks pages: ${links}`);
  const pages = [...links, '#/messages?box=sent', `#/record/${id}`, `#/edit/${id}`, '#/search?q=PG-LONG'];
  for (const viewport of kViewports) {
    await page.setViewport(viewport);
    for (const hash of pages) {
      step = `${hash} at ${viewport.width}×${viewport.height}`;
      const name = hash.replace(/^#\//, '').split(/[/?]/)[0];
      await Go(page, '#/search?q=nothing-here', 'search');
      await page.focus('#nav a[href="#/home"]');
      await Go(page, hash, name);
      const [scroll_width, inner_width, wide] = await page.evaluate(() => {
        const width = window.innerWidth;
        // The widest element's tag, to say what overflows.
        let widest = '';
        for (const el of document.querySelectorAll('main *')) {
          const box = el.getBoundingClientRect();
          if (box.right > width + 1) { widest = `${el.tagName.toLowerCase()}#${el.id}.${el.className}`; break; }
        }
        return [document.documentElement.scrollWidth, width, widest];
      });
      Check(scroll_width <= inner_width, `the page scrolls sideways: ${scroll_width} > ${inner_width} (${wide})`);
      const focused = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
      Check(focused === 'H1', `the focus is on ${focused}, not the page's heading, after the route change`);
    }
  }
  await page.setViewport({width: 1366, height: 768});
}

// Tab through the seizure form: each control reached has an accessible
// name (Chromium's own computation) and an outline when focused.
async function Keyboard(page, post) {
  step = 'the skip link';
  await Open(page, post, '#/new/seizure', 'new');
  // Tab from the start of the document (the body focused).
  await page.evaluate(() => {
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
  await page.keyboard.press('Tab');
  Check(await page.evaluate(() => document.activeElement.id === 'skip'), 'the first Tab stop is not the skip link');
  Check(await page.$eval('#skip', (a) => a.getBoundingClientRect().top >= 0), 'the skip link is not on screen when focused');
  await page.keyboard.press('Enter');
  Check(await page.evaluate(() => document.activeElement.tagName === 'H1' && document.querySelector('main').contains(document.activeElement)),
    'the skip link does not move the focus to the page heading');
  Check(await page.evaluate(() => document.body.dataset.page === 'new' && location.hash === '#/new/seizure'), 'the skip link changed the page');

  // Tab through every form, from its heading: [hash, page, controls it has at least].
  const forms = [['#/new/seizure', 'new', 60], ['#/new/suspect', 'new', 15], ['#/new/company', 'new', 10],
    ['#/compose', 'compose', 8], ['#/search', 'search', 12], ['#/account', 'account', 4], ['#/users', 'users', 6],
    ['#/releases', 'releases', 3], ['#/stats', 'stats', 5]];
  const problems = [];
  for (const [hash, name, at_least] of forms) {
    step = `Tab through ${hash}`;
    if (await page.evaluate(() => location.hash) !== hash) await Go(page, hash, name);
    // The search's filters are folded away: unfold them to walk them too.
    await page.evaluate(() => { for (const details of document.querySelectorAll('main details')) details.open = true; });
    const walk = await TabWalk(page);
    notes.push(`${hash}: ${walk.reached.length} controls reached by Tab`);
    if (walk.reached.length < at_least) problems.push(`${hash}: only ${walk.reached.length} controls reached (${walk.reached.join(', ')})`);
    if (walk.unnamed.length) problems.push(`${hash}: no accessible name: ${walk.unnamed.join(', ')}`);
    if (walk.no_outline.length) problems.push(`${hash}: no visible focus: ${walk.no_outline.join(', ')}`);
  }
  step = 'Tab through every form';
  Check(problems.length === 0, problems.join('; '));
}

async function Main() {
  const started = Date.now();
  step = 'make the network, the nodes and the accounts';
  const {hub, post} = await Setup();
  const admin_node = {get base() { return post.base; }, user: 'adil', password: kPassword};
  browser = await LaunchChromium();
  const problems = [];
  const admin = await NewPage(browser, problems, 'admin');
  const officer = await NewPage(browser, problems, 'officer');
  const analyst = await NewPage(browser, problems, 'analyst');
  step = 'sign in as the admin';
  await Open(admin, admin_node, '#/home', 'home');

  const id = await Home(admin, admin_node);
  await History(admin, admin_node, id);
  await Withdraw(analyst, {get base() { return hub.base; }, user: 'hana', password: kPassword}, id);
  await Members(admin);
  await MessagesOut(admin, analyst);
  await Layout(admin, id);
  await Keyboard(admin, admin_node);
  await Accounts(admin, officer, post);

  step = 'no script errors';
  Check(problems.length === 0, problems.join('; '));
  await Finish({browser, nodes, cleanup: Cleanup, deadline});
  browser = null;
  for (const note of notes) console.log(`note: ${note}`);
  console.log(`browser pages test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

Main().catch((error) => Fail(error.stack || error.message));
