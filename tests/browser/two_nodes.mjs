// End-to-end test of the web UI across two real nodes, a border post and
// its hub, on loopback (issue 19's main scenario). Usage:
//   node two_nodes.mjs NCEN_NODE NCENCTL [--screenshots DIR]
// A seizure entered on the post in the UI reaches the hub; both daemons
// stop, the seizure is edited differently on each in the UI (each node
// started alone), both restart and sync; the conflict is resolved in the UI
// on the hub (one value picked per field, a server error shown next to its
// field first), and both nodes end with one version. A message written on
// the post in the UI is read on the hub in the UI, and the hub's reply on
// the post with its thread.
// Every wait is bounded; the first failure prints one line naming its part
// and step, and exits 1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ApiGet, Check, Failing, Fill, Finish, LaunchChromium, NewPage, Open, ParseArgs, Poll, Shot, Sleep, TestNode, WaitPage} from './lib.mjs';

const kPassword = 'browser test password';
const kReference = 'BT2-2026-0077';
const kTotalMs = 240000;

const {node_binary, ncenctl, screenshots} = ParseArgs();

let part = 'setup';
let step = 'start';
let browser = null;
let data_dir = null;
const nodes = [];
const pages = {};
const timings = [];

function Cleanup() {
  for (const node of nodes) node.Kill();
  if (data_dir && process.env.NCEN_KEEP) console.error(`kept ${data_dir}`);
  else if (data_dir) fs.rmSync(data_dir, {recursive: true, force: true});
}

const {Fail, deadline} = Failing({label: 'browser two-node test', step: () => `${part}: ${step}`,
  browser: () => browser, cleanup: Cleanup, total_ms: kTotalMs, pages: () => pages});

async function StartBoth(post, hub) {
  await hub.Start();
  await post.Start();
}

// Part 1: a seizure entered on the post in the UI syncs to the hub.
async function SeizureSyncs(post, hub, post_page, hub_page) {
  part = 'a seizure entered on the post reaches the hub';
  step = 'enter the seizure on the post';
  await Open(post_page, post, '#/new/seizure', 'new');
  await Fill(post_page, 'seizure.reference', kReference);
  await Fill(post_page, 'seizure.date', '2026-11-20');
  await Fill(post_page, 'seizure.country', 'PK');
  await Fill(post_page, 'seizure.office', 'PKKHI');
  await Fill(post_page, 'seizure.place', 'Torkham, lane 1');
  await post_page.select('[data-path="seizure.direction"]', 'import');
  await post_page.select('[data-path="seizure.status"]', 'open');
  await Fill(post_page, 'seizure.narrative', 'Found in the spare tyre.');
  await post_page.select('[data-path="seizure.goods[0].category"]', 'drugs');
  await Fill(post_page, 'seizure.goods[0].subtype', 'opium');
  await Fill(post_page, 'seizure.goods[0].quantity', '3');
  await Fill(post_page, 'seizure.goods[0].unit', 'kg');
  await post_page.click('#save');
  await WaitPage(post_page, 'record');
  const id = post_page.url().split('/').pop();
  Check(/^[0-9a-f-]{36}$/.test(id), `the record page's address does not end in a record id: ${post_page.url()}`);

  step = 'the seizure appears on the hub';
  await Open(hub_page, hub, '#/home', 'home');
  const {waited_ms} = await Poll(hub_page, `/api/records/${id}`, (a) => a.status === 200, 'the seizure on the hub');
  timings.push(`seizure post → hub ${waited_ms} ms`);
  await Open(hub_page, hub, `#/record/${id}`, 'record');
  await hub_page.waitForFunction((r) => document.querySelector('main').textContent.includes(r), {}, kReference);
  await Shot(hub_page, screenshots, 'hub-record');
  return id;
}

// Edits the seizure on `node` alone, in the UI's edit page (the seizure form).
async function EditAlone(node, page, id, values) {
  await node.Start();
  await Open(page, node, `#/edit/${id}`, 'edit');
  for (const [key, value] of Object.entries(values)) await Fill(page, `seizure.${key}`, value);
  await page.click('#save');
  await WaitPage(page, 'record');
  const {body} = await ApiGet(page, `/api/records/${id}`);
  for (const [key, value] of Object.entries(values)) Check(body[key] === value, `${node.name}: ${key} is ${JSON.stringify(body[key])} after the edit`);
  Check(!body.versions, `${node.name}: the record has versions after an edit while alone`);
  await node.Stop();
}

// Part 2: both nodes apart, the seizure edited on each, both back.
async function ConflictMade(post, hub, post_page, hub_page, id) {
  part = 'edits on two nodes apart make a conflict';
  step = 'stop both daemons';
  await post.Stop();
  await hub.Stop();
  step = 'edit on the post alone';
  await EditAlone(post, post_page, id, {narrative: 'Post: found in the spare tyre, 3 kg.', status: 'closed'});
  step = 'edit on the hub alone';
  await EditAlone(hub, hub_page, id, {narrative: 'Hub: weighed again, 2.9 kg.', place: 'Torkham, lane 3'});
  step = 'restart both; the versions meet';
  await StartBoth(post, hub);
  await Open(hub_page, hub, '#/home', 'home');
  await Open(post_page, post, '#/home', 'home');
  const two = (a) => a.status === 200 && Array.isArray(a.body.versions) && a.body.versions.length === 2;
  const on_hub = await Poll(hub_page, `/api/records/${id}`, two, 'two versions on the hub');
  const on_post = await Poll(post_page, `/api/records/${id}`, two, 'two versions on the post');
  timings.push(`versions met after restart: hub ${on_hub.waited_ms} ms, post +${on_post.waited_ms} ms`);
}

// Part 3: resolved in the UI on the hub; one version on both nodes.
async function ConflictResolved(post, hub, post_page, hub_page, id) {
  part = 'the conflict resolved in the UI';
  step = 'the edit page of a record in conflict opens its resolve page';
  await Open(hub_page, hub, `#/edit/${id}`);
  await hub_page.waitForFunction((i) => location.hash === `#/conflicts/${i}` && document.querySelector('#resolve-form'),
    {}, id);
  Check(!(await hub_page.$('#seizure-form')), 'the seizure form is shown for a record in conflict');

  step = 'the conflicts list names the seizure';
  await Open(hub_page, hub, '#/conflicts', 'conflicts');
  await hub_page.waitForSelector('#conflicts-table');
  const listed = await hub_page.$$eval('#conflicts-table a.resolve-open', (links) => links.map((a) => a.getAttribute('href')));
  Check(listed.length === 1 && listed[0] === `#/conflicts/${id}`, `the conflicts list has ${JSON.stringify(listed)}`);
  await hub_page.click('#conflicts-table a.resolve-open');
  await hub_page.waitForSelector('#resolve-form');

  step = 'the differing fields are highlighted and offered';
  const highlighted = await hub_page.$$eval('#versions tr.differs th', (cells) => cells.map((c) => c.textContent));
  for (const label of ['Narrative', 'Status', 'Place']) {
    Check(highlighted.includes(label), `${label} is not highlighted (highlighted: ${JSON.stringify(highlighted)})`);
  }
  const offered = await hub_page.$$eval('fieldset.pick', (sets) => sets.map((s) => s.dataset.field).sort());
  Check(JSON.stringify(offered) === JSON.stringify(['narrative', 'place', 'status']), `the choices offered are ${JSON.stringify(offered)}`);

  step = 'pick the post\'s narrative and status, the hub\'s place';
  // Which column is which office's version: the one whose option shows its text.
  const Pick = async (field, text) => {
    const picked = await hub_page.evaluate((f, x) => {
      for (const option of document.querySelectorAll(`fieldset[data-field="${f}"] .pick-option`)) {
        if (option.querySelector('.pick-value').textContent === x) { option.querySelector('input').click(); return true; }
      }
      return false;
    }, field, text);
    Check(picked, `no choice of ${field} shows ${JSON.stringify(text)}`);
  };
  await Pick('narrative', 'Post: found in the spare tyre, 3 kg.');
  await Pick('status', 'Closed');
  await Pick('place', 'Torkham, lane 3');
  const merged = JSON.parse(await hub_page.$eval('#merged', (el) => el.value));
  Check(merged.narrative === 'Post: found in the spare tyre, 3 kg.' && merged.status === 'closed' && merged.place === 'Torkham, lane 3',
    `the merged record is ${JSON.stringify(merged)}`);
  await Shot(hub_page, screenshots, 'conflict-resolve', true);

  step = 'a value the server refuses: its message next to the field';
  await hub_page.$eval('#merged', (el) => {
    const record = JSON.parse(el.value);
    record.status = 'not-a-status';
    el.value = JSON.stringify(record, null, 2);
  });
  await hub_page.click('#resolve');
  await hub_page.waitForSelector('fieldset[data-field="status"] .field-error');
  const message = await hub_page.$eval('fieldset[data-field="status"] .field-error', (el) => el.textContent);
  Check(/status/i.test(message), `the error next to Status says ${JSON.stringify(message)}`);
  Check((await ApiGet(hub_page, `/api/records/${id}`)).body.versions.length === 2, 'a refused resolve changed the record');
  await Shot(hub_page, screenshots, 'conflict-resolve-error');

  step = 'resolve';
  await Pick('status', 'Closed');  // choosing again rewrites the merged record from the choices
  await hub_page.click('#resolve');
  await WaitPage(hub_page, 'record');
  await hub_page.waitForSelector('#field-narrative');
  Check(!(await hub_page.$('#conflict')), 'the record page still shows a conflict after resolving');
  Check((await hub_page.$eval('#field-narrative', (el) => el.textContent)) === 'Post: found in the spare tyre, 3 kg.',
    'the record page does not show the chosen narrative');
  await Shot(hub_page, screenshots, 'conflict-resolved');

  step = 'one version on both nodes';
  const one = (a) => a.status === 200 && !a.body.versions && a.body.narrative === 'Post: found in the spare tyre, 3 kg.' &&
    a.body.status === 'closed' && a.body.place === 'Torkham, lane 3';
  await Poll(hub_page, `/api/records/${id}`, one, 'one merged version on the hub');
  const {waited_ms} = await Poll(post_page, `/api/records/${id}`, one, 'one merged version on the post');
  timings.push(`resolution hub → post ${waited_ms} ms`);
  Check((await ApiGet(post_page, '/api/conflicts')).body.length === 0, 'the post still lists a conflict');
  await Open(post_page, post, `#/record/${id}`, 'record');
  await post_page.waitForSelector('#field-narrative');
  Check(!(await post_page.$('#conflict')), 'the post\'s record page still shows a conflict');
  // And as ncenctl sees it, on both data directories.
  for (const node of [post, hub]) {
    const record = JSON.parse(node.Ctl('get', id, '--json'));
    Check(!record.versions && record.place === 'Torkham, lane 3', `${node.name}: ncenctl get shows ${JSON.stringify(record).slice(0, 200)}`);
  }
}

// Part 4: a message written on the post in the UI, read on the hub in the
// UI; the hub's reply read on the post with its thread.
async function MessageCrosses(post, hub, post_page, hub_page, id) {
  part = 'a message from the post read on the hub';
  step = 'compose on the post';
  const subject = 'Opium at Torkham <b>check</b>';
  const body = 'Same vehicle as last week.\n<img src=x onerror=alert(3)>';
  await Open(post_page, post, '#/compose', 'compose');
  await post_page.type('#compose-to', 'hub');
  await post_page.type('#compose-subject', subject);
  await post_page.$eval('#compose-body', (el, text) => { el.value = text; }, body);
  await post_page.select('#compose-priority', 'urgent');
  await post_page.type('#compose-links', id);
  await Shot(post_page, screenshots, 'message-compose');
  await post_page.click('#compose-send');
  await WaitPage(post_page, 'messages');
  await post_page.waitForSelector('#message');
  const sent_id = await post_page.$eval('#message', (el) => el.dataset.id);

  step = 'the message reaches the hub';
  // Polled as the inbox shows it: GET /api/messages brings the mailbox up
  // to date with what arrived by sync.
  const arrived = await Poll(hub_page, '/api/messages', (a) => a.status === 200 && a.body.length === 1,
    'the message listed on the hub');
  timings.push(`message post → hub ${arrived.waited_ms} ms`);
  step = 'the hub\'s inbox lists it, unread and urgent';
  await Open(hub_page, hub, '#/messages', 'messages');
  await hub_page.waitForSelector('#messages-table');
  const row = await hub_page.$eval('#messages-table tbody tr', (tr) => ({class: tr.className, text: tr.textContent}));
  Check(row.class.includes('priority-urgent') && row.class.includes('state-unread') && row.text.includes(subject),
    `the inbox's row is ${JSON.stringify(row)}`);
  await Shot(hub_page, screenshots, 'messages-inbox');
  step = 'read it on the hub';
  await hub_page.click('#messages-table tbody a');
  await hub_page.waitForSelector('#message');
  Check((await hub_page.$eval('#message .message-body', (el) => el.textContent)) === body, 'the body is not shown as its exact text');
  Check((await hub_page.$eval('#message h2', (el) => el.textContent)) === subject, 'the subject is not shown as its exact text');
  Check(await hub_page.evaluate(() => document.querySelectorAll('main img, main b, main script').length) === 0,
    'the message made elements from its text');
  Check((await hub_page.$eval('#message .message-from', (el) => el.textContent)).length > 0, 'the sender is not named');
  Check(await hub_page.$eval('#message .message-links a', (a) => a.getAttribute('href')) === `#/record/${id}`, 'the linked seizure is not a link');
  await Shot(hub_page, screenshots, 'message-read');
  const state = (await ApiGet(hub_page, `/api/messages?unread=1`)).body;
  Check(state.length === 0, `the message is still unread on the hub after reading it: ${JSON.stringify(state)}`);

  part = 'a reply from the hub read on the post, with its thread';
  step = 'reply on the hub';
  await hub_page.click('#reply-link');
  await WaitPage(hub_page, 'compose');
  await hub_page.waitForSelector('#compose-form');
  Check((await hub_page.$eval('#compose-to', (el) => el.value)).length > 0, 'the reply is not addressed to the sender');
  await hub_page.$eval('#compose-body', (el) => { el.value = 'Noted; the hub will check the plate.'; });
  await hub_page.click('#compose-send');
  await WaitPage(hub_page, 'messages');
  await hub_page.waitForSelector('#message');
  const reply_id = await hub_page.$eval('#message', (el) => el.dataset.id);
  step = 'the reply reaches the post';
  await Poll(post_page, '/api/status', (a) => a.status === 200 && a.body.messages.received === 1, 'the reply counted on the post');
  await Open(post_page, post, `#/messages/${reply_id}`, 'messages');
  await post_page.waitForSelector('#thread');
  const thread = await post_page.$eval('#thread', (el) => el.textContent);
  Check(thread.includes('Same vehicle as last week.'), 'the thread on the post does not hold the first message');
  await Shot(post_page, screenshots, 'message-thread', true);
}

async function Main() {
  Check(node_binary && ncenctl, 'usage: node two_nodes.mjs NCEN_NODE NCENCTL [--screenshots DIR]');
  for (const binary of [node_binary, ncenctl]) Check(fs.existsSync(binary), `${binary} does not exist (build it first)`);
  const started = Date.now();
  step = 'make two nodes that peer';
  data_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncen-browser2-'));
  const common = {node_binary, ncenctl, password: kPassword};
  const hub = new TestNode({...common, dir: path.join(data_dir, 'hub'), name: 'Browser test hub', role: 'hub', listen: true, user: 'karim'});
  const post = new TestNode({...common, dir: path.join(data_dir, 'post'), name: 'Browser test post', role: 'post', user: 'amina'});
  nodes.push(hub, post);
  hub.Ctl('peers', 'add', '--name', 'post', '--id', post.id);
  step = 'start the hub';
  await hub.Start();
  post.Ctl('peers', 'add', '--name', 'hub', '--id', hub.id, '--address', hub.peer_address);
  step = 'start the post';
  await post.Start();

  step = 'launch Chromium';
  browser = await LaunchChromium();
  const problems = [];
  const post_page = await NewPage(browser, problems, 'post');
  const hub_page = await NewPage(browser, problems, 'hub');
  Object.assign(pages, {post: post_page, hub: hub_page});

  const id = await SeizureSyncs(post, hub, post_page, hub_page);
  await ConflictMade(post, hub, post_page, hub_page, id);
  await ConflictResolved(post, hub, post_page, hub_page, id);
  await MessageCrosses(post, hub, post_page, hub_page, id);

  part = 'end';
  step = 'no script errors or dialogs';
  Check(problems.length === 0, problems.join(' | '));
  await Finish({browser, nodes, cleanup: Cleanup, deadline});
  browser = null;
  console.log(`browser two nodes: ${timings.join('; ')}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  console.log('browser two nodes: 1 passed, 0 failed');
}

Main().catch((error) => Fail(error && error.message ? error.message.split('\n')[0] : String(error)));
