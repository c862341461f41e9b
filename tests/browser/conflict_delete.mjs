// A conflict where one version is a delete, resolved in the web UI both
// ways, on two real nodes (a post and its hub). Usage:
//   node conflict_delete.mjs NCEN_NODE NCENCTL [--screenshots DIR]
// Two seizures made on the post reach the hub; both daemons stop; with
// ncenctl on each data directory the post deletes the first and edits the
// second, the hub edits the first and deletes the second; both restart and
// each record has two versions, one of them a delete. On the hub:
//   - the record page marks the deleted version and says what resolving
//     offers;
//   - the first record's resolve page offers "Keep it deleted": the first
//     press only asks, Cancel keeps the record, Yes deletes it; the
//     conflicts list says so; both nodes end without the record;
//   - the second's resolve page keeps the hub's live version ("Keep the
//     record"): one version on both nodes, with the post's edit;
//   - a long unbroken reference does not widen the conflicts list at 768 px
//     (the table scrolls in its own box);
//   - Tab through the resolve page: every control reached has an accessible
//     name and a visible focus.
// Every wait is bounded; one line and exit 1 on the first failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ApiGet, Check, Failing, Finish, LaunchChromium, NewPage, Open, ParseArgs, Poll, Shot, TabWalk, TestNode, WaitPage} from './lib.mjs';

const kPassword = 'browser test password';
const kTotalMs = 90000;
// Longer than any screen is wide, with no place to break.
const kLongReference = `CD-${'W'.repeat(61)}`;  // 64 bytes, the most a reference may have

const {node_binary, ncenctl, screenshots} = ParseArgs();

let step = 'start';
let browser = null;
let data_dir = null;
let hub_page = null;
const nodes = [];
const timings = [];

function Cleanup() {
  for (const node of nodes) node.Kill();
  if (data_dir && !process.env.NCEN_KEEP) fs.rmSync(data_dir, {recursive: true, force: true});
}

const {Fail, deadline} = Failing({label: 'browser conflict-delete test', step: () => step, browser: () => browser,
  cleanup: Cleanup, total_ms: kTotalMs, pages: () => (hub_page ? {hub: hub_page} : {})});

function Seizure(reference, narrative, place) {
  return {type: 'seizure', reference, date: '2026-11-20', country: 'PK', office: 'PKKHI', place, direction: 'import',
    narrative, goods: [{category: 'drugs', subtype: 'opium', quantity: 3, unit: 'kg'}]};
}

// ncenctl update ID with `record` on the standard input.
function Update(node, id, record) {
  const file = path.join(data_dir, `${node.name}-${id}.json`);
  fs.writeFileSync(file, JSON.stringify(record));
  node.Ctl('update', id, '--json', file);
}

const AllDeleted = (a) => a.status === 200 && Array.isArray(a.body.versions) && a.body.versions.length === 2 &&
  a.body.versions.every((v) => v.op === 'delete');
const TwoVersions = (a) => a.status === 200 && Array.isArray(a.body.versions) && a.body.versions.length === 2 &&
  a.body.versions.some((v) => v.op === 'delete');

async function Main() {
  Check(node_binary && ncenctl, 'usage: node conflict_delete.mjs NCEN_NODE NCENCTL [--screenshots DIR]');
  const started = Date.now();
  step = 'two nodes that peer, two seizures on the post';
  data_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncen-browser-cd-'));
  const common = {node_binary, ncenctl, password: kPassword};
  const hub = new TestNode({...common, dir: path.join(data_dir, 'hub'), name: 'hub', role: 'hub', listen: true, user: 'karim'});
  const post = new TestNode({...common, dir: path.join(data_dir, 'post'), name: 'post', role: 'post', user: 'amina'});
  nodes.push(hub, post);
  const input = path.join(data_dir, 'two.json');
  fs.writeFileSync(input, JSON.stringify([Seizure(kLongReference, 'First.', 'Lane 1'), Seizure('CD-2', 'Second.', 'Lane 2'),
    Seizure('CD-3', 'Third.', 'Lane 3')]));
  const [first, second, third] = post.Ctl('import', '--json', input).trim().split(/\s+/);
  Check(/^[0-9a-f-]{36}$/.test(first) && /^[0-9a-f-]{36}$/.test(second), `ncenctl import printed ${first} ${second}`);
  hub.Ctl('peers', 'add', '--name', 'post', '--id', post.id);
  await hub.Start();
  post.Ctl('peers', 'add', '--name', 'hub', '--id', hub.id, '--address', hub.peer_address);
  await post.Start();

  browser = await LaunchChromium();
  const problems = [];
  hub_page = await NewPage(browser, problems, 'hub');
  const post_page = await NewPage(browser, problems, 'post');
  step = 'the seizures reach the hub';
  await Open(hub_page, hub, '#/conflicts', 'conflicts');
  for (const id of [first, second, third]) await Poll(hub_page, `/api/records/${id}`, (a) => a.status === 200, `${id} on the hub`);

  step = 'apart: the post deletes the first and edits the second, the hub the other way round';
  await post.Stop();
  await hub.Stop();
  post.Ctl('delete', first);
  Update(post, second, Seizure('CD-2', 'Second, weighed again on the post.', 'Lane 2'));
  Update(hub, first, Seizure(kLongReference, 'First, seen again at the hub.', 'Lane 1'));
  hub.Ctl('delete', second);
  post.Ctl('delete', third);  // and both delete the third
  hub.Ctl('delete', third);
  await hub.Start();
  await post.Start();
  await Open(hub_page, hub, '#/conflicts', 'conflicts');
  await Open(post_page, post, '#/conflicts', 'conflicts');
  for (const id of [first, second]) {
    const met = await Poll(hub_page, `/api/records/${id}`, TwoVersions, `a live and a deleted version of ${id} on the hub`);
    timings.push(`versions met ${met.waited_ms} ms`);
  }
  await Poll(hub_page, `/api/records/${third}`, AllDeleted, `two deletions of ${third} on the hub`);

  step = 'a long unbroken reference does not widen the conflicts list at 768 px';
  await hub_page.setViewport({width: 768, height: 1024});
  await Open(hub_page, hub, '#/conflicts', 'conflicts');
  await hub_page.waitForSelector('#conflicts-table');
  const [scroll_width, inner_width] = await hub_page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  Check(scroll_width <= inner_width, `the conflicts page scrolls sideways: ${scroll_width} > ${inner_width}`);
  Check(await hub_page.$eval('#conflicts-table', (table) => table.parentElement.classList.contains('table-wrap')),
    'the conflicts table is not in a scrolling box');
  await hub_page.setViewport({width: 1366, height: 768});

  step = 'the record page marks the deleted version';
  await Open(hub_page, hub, `#/record/${first}`, 'record');
  await hub_page.waitForSelector('#conflict');
  Check(await hub_page.$('#conflict-deleted'), 'the record page does not say that a version is a deletion');
  const headers = await hub_page.$$eval('#versions thead th', (ths) => ths.map((th) => th.textContent));
  Check(headers.filter((text) => text.includes('deleted')).length === 1, `the versions' headers are ${JSON.stringify(headers)}`);

  step = 'resolve the first: keep it deleted, asked first';
  await Open(hub_page, hub, `#/conflicts/${first}`, 'conflicts');
  await hub_page.waitForSelector('#keep-deleted');
  Check(await hub_page.$('#resolve-form'), 'the live version is not offered next to the deletion');
  await hub_page.click('#resolve-delete');
  await hub_page.waitForSelector('#resolve-delete-confirm');
  Check(await hub_page.evaluate(() => document.activeElement.id === 'resolve-delete-confirm'), 'the question does not take the focus');
  Check(TwoVersions(await ApiGet(hub_page, `/api/records/${first}`)), 'asking deleted the record already');
  await Shot(hub_page, screenshots, 'conflict-keep-deleted', true);
  await hub_page.click('#resolve-delete-cancel');
  await hub_page.waitForSelector('#resolve-delete');
  Check(await hub_page.evaluate(() => document.activeElement.id === 'resolve-delete'), 'Cancel does not give the focus back');
  Check(TwoVersions(await ApiGet(hub_page, `/api/records/${first}`)), 'Cancel deleted the record');

  step = 'Tab through the resolve page';
  const walk = await TabWalk(hub_page);
  for (const control of ['button#resolve-delete', 'textarea#merged', 'button#resolve']) {
    Check(walk.reached.includes(control), `Tab does not reach ${control} (reached ${walk.reached.join(', ')})`);
  }
  Check(walk.unnamed.length === 0, `controls without an accessible name: ${walk.unnamed.join(', ')}`);
  Check(walk.no_outline.length === 0, `controls without a visible focus: ${walk.no_outline.join(', ')}`);

  step = 'resolve the first: Yes, delete it';
  await hub_page.click('#resolve-delete');
  await hub_page.waitForSelector('#resolve-delete-confirm');
  await hub_page.click('#resolve-delete-confirm');
  await hub_page.waitForSelector('#conflicts-status');
  Check((await hub_page.$eval('#conflicts-status', (p) => p.textContent)).includes(first), 'the conflicts list does not say which record was deleted');
  Check(!(await hub_page.$(`#conflicts-table a[href="#/conflicts/${first}"]`)), 'the deleted record is still listed in conflict');
  Check((await ApiGet(hub_page, `/api/records/${first}`)).status === 404, 'the record is not deleted on the hub');

  step = 'resolve the second: keep the hub\'s live version';
  await Open(hub_page, hub, `#/conflicts/${second}`, 'conflicts');
  await hub_page.waitForSelector('#resolve-form');
  Check(await hub_page.$('#keep-deleted'), 'the deletion is not offered');
  Check((await hub_page.$$('fieldset.pick')).length === 0, 'a choice is offered with one live version');
  const merged = JSON.parse(await hub_page.$eval('#merged', (el) => el.value));
  Check(merged.narrative === 'Second, weighed again on the post.', `the record kept would be ${JSON.stringify(merged)}`);
  Check((await hub_page.$eval('#resolve', (b) => b.textContent)) === 'Keep the record', 'the resolve button does not say it keeps the record');
  await hub_page.click('#resolve');
  await WaitPage(hub_page, 'record');
  await hub_page.waitForSelector('#field-narrative');
  Check(!(await hub_page.$('#conflict')), 'the record page still shows a conflict after keeping it');

  step = 'resolve the third, deleted on both: keep it deleted';
  await Open(hub_page, hub, `#/conflicts/${third}`, 'conflicts');
  await hub_page.waitForSelector('#keep-deleted');
  Check(!(await hub_page.$('#resolve-form')), 'a live version is offered where every version is a deletion');
  const hint = await hub_page.$eval('#keep-deleted .hint', (p) => p.textContent);
  Check(hint.startsWith('Every version deletes this record'), `the page says: ${hint}`);
  await hub_page.click('#resolve-delete');
  await hub_page.waitForSelector('#resolve-delete-confirm');
  await hub_page.click('#resolve-delete-confirm');
  await hub_page.waitForSelector('#conflicts-status');
  Check((await ApiGet(hub_page, `/api/records/${third}`)).status === 404, 'the third is not settled as deleted on the hub');

  step = 'both nodes: the first deleted, the second one live version';
  const gone = await Poll(post_page, `/api/records/${first}`, (a) => a.status === 404, 'the first deleted on the post');
  const kept = await Poll(post_page, `/api/records/${second}`,
    (a) => a.status === 200 && !a.body.versions && a.body.narrative === 'Second, weighed again on the post.', 'the second kept on the post');
  await Poll(post_page, `/api/records/${third}`, (a) => a.status === 404, 'the third settled on the post');
  timings.push(`deletion hub → post ${gone.waited_ms} ms, resolution +${kept.waited_ms} ms`);
  for (const page of [hub_page, post_page]) {
    const conflicts = (await ApiGet(page, '/api/conflicts')).body;
    Check(conflicts.length === 0, `conflicts are still listed: ${JSON.stringify(conflicts)}`);
  }

  step = 'no script errors or dialogs';
  Check(problems.length === 0, problems.join(' | '));
  await Finish({browser, nodes, cleanup: Cleanup, deadline});
  browser = null;
  console.log(`browser conflict delete: ${timings.join('; ')}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  console.log('browser conflict delete: 1 passed, 0 failed');
}

Main().catch((error) => Fail(error && error.message ? error.message.split('\n')[0] : String(error)));
