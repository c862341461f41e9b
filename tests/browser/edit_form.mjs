// Editing a seizure with the seizure form, in headless Chromium against a
// real ncen-node. Usage:
//   node edit_form.mjs NCEN_NODE NCENCTL [--screenshots DIR]
// A seizure is made through the API; #/edit/ID opens the seizure form
// filled from it (pickers showing the codes and labels). The officer
// changes a goods quantity, adds a route point (keyboard picker) and a new
// company, saves: the record page shows all three, the company linked by
// name, the office with its label; the new seizure's draft was not touched
// by the edit's. A quantity the server refuses is shown next to its field.
// Then a 409: the record is changed through the API while the form is
// open; saving says so, lists what changed, keeps the officer's text;
// saving again without choosing is refused again; "keep my changes" and
// Save write them; a second 409 and "load the current version" shows the
// other text. Every wait is bounded; prints one line and exits 1 on the
// first failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ApiGet, Check, Failing, Fill, Finish, LaunchChromium,
  NewPage, Open, ParseArgs, Shot, TestNode, WaitPage} from './lib.mjs';

const kPassword = 'edit form test password';
const kTotalMs = 60000;
const kCompany = 'Qaraqum Logistika';
const kMine = 'The officer\'s narrative, typed <b>while</b> another office wrote.';
const kTheirs = 'Narrative written through the API meanwhile.';

const {node_binary, ncenctl, screenshots} = ParseArgs();
let step = 'start';
let browser = null;
let node = null;
let data_dir = null;

function Cleanup() {
  if (node) node.Kill();
  if (data_dir) fs.rmSync(data_dir, {recursive: true, force: true});
}

const {Fail, deadline} = Failing({label: 'browser test', step: () => step, browser: () => browser, cleanup: Cleanup,
  total_ms: kTotalMs});

// A call of the API from inside the page, with its session and the CSRF
// token of GET /api/session: {status, etag, body}.
async function Api(page, method, api_path, body, headers = {}) {
  return page.evaluate(async (m, p, b, extra) => {
    const session = await (await fetch('/api/session', {cache: 'no-store'})).json();
    const response = await fetch(p, {method: m, cache: 'no-store', headers: {'Content-Type': 'application/json',
      'X-CSRF-Token': session.csrf_token, ...extra}, body: b === null ? undefined : JSON.stringify(b)});
    const type = response.headers.get('Content-Type') || '';
    return {status: response.status, etag: response.headers.get('ETag'),
      body: type.startsWith('application/json') ? await response.json() : null};
  }, method, api_path, body ?? null, headers);
}

// Another office's edit: the record read and written back with `changes`.
async function ChangeThroughApi(page, id, changes) {
  const read = await Api(page, 'GET', `/api/records/${id}`);
  const written = await Api(page, 'PUT', `/api/records/${id}`, {...read.body, ...changes}, {'If-Match': read.etag});
  Check(written.status === 200, `the API's edit answered ${written.status}: ${JSON.stringify(written.body)}`);
}

// Focuses the picker for `data_path`, types `text`, ArrowDown, Enter.
async function Pick(page, data_path, text) {
  const selector = `[data-path="${data_path}"]`;
  await page.focus(selector);
  await page.keyboard.type(text);
  await page.waitForFunction((s) => {
    const input = document.querySelector(s);
    return input.getAttribute('aria-expanded') === 'true' &&
      document.getElementById(input.getAttribute('aria-controls')).children.length > 0;
  }, {}, selector);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  return page.$eval(selector, (input) => input.dataset.code);
}

const Value = (page, data_path) => page.$eval(`[data-path="${data_path}"]`, (el) => el.dataset.code ?? el.value);

async function OpenEdit(page, id, form = '#seizure-form') {
  await Open(page, node, `#/edit/${id}`, 'edit');
  await page.waitForSelector(form);
}

async function Main() {
  Check(node_binary && ncenctl, 'usage: node edit_form.mjs NCEN_NODE NCENCTL [--screenshots DIR]');
  step = 'make a node with an office list';
  data_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncen-edit-'));
  node = new TestNode({node_binary, ncenctl, dir: path.join(data_dir, 'post'), name: 'edit-post', role: 'post',
    user: 'amina', password: kPassword});
  fs.mkdirSync(path.join(node.dir, 'code-lists'), {recursive: true});
  fs.writeFileSync(path.join(node.dir, 'code-lists', 'offices.tsv'), 'PKKHI\tKarachi port\nAFTKM\tTorkham border crossing\n');
  fs.writeFileSync(path.join(node.dir, 'code-lists', 'hs.tsv'), '293911\tConcentrates of poppy straw; heroin salts\n');
  await node.Start();
  step = 'launch Chromium';
  browser = await LaunchChromium();
  const problems = [];
  const page = await NewPage(browser, problems, 'officer');

  step = 'a seizure made through the API; a draft of a new seizure';
  await Open(page, node, '#/new/seizure', 'new');
  await Fill(page, 'seizure.reference', 'NEW-DRAFT-1');
  await page.waitForFunction(() => (localStorage.getItem('ncen.draft.amina.seizure') || '').includes('NEW-DRAFT-1'));
  const made = await Api(page, 'POST', '/api/records', {type: 'seizure', reference: 'ED-2026-7', date: '2026-11-20',
    country: 'PK', office: 'PKKHI', detection_method: 'nii_xray', narrative: 'First narrative.',
    goods: [{category: 'drugs', subtype: 'heroin', hs_code: '293911', quantity: 10, unit: 'kg'}]});
  Check(made.status === 201, `the seizure was not made: ${JSON.stringify(made)}`);
  const id = made.body.id;

  step = 'the edit page is the seizure form, filled';
  await OpenEdit(page, id);
  const filled = {'seizure.reference': 'ED-2026-7', 'seizure.office': 'PKKHI', 'seizure.country': 'PK',
    'seizure.detection_method': 'nii_xray', 'seizure.goods[0].category': 'drugs', 'seizure.goods[0].subtype': 'heroin',
    'seizure.goods[0].hs_code': '293911', 'seizure.goods[0].quantity': '10', 'seizure.goods[0].unit': 'kg',
    'seizure.narrative': 'First narrative.'};
  for (const [data_path, value] of Object.entries(filled)) {
    Check(await Value(page, data_path) === value, `${data_path} is ${JSON.stringify(await Value(page, data_path))}, not ${value}`);
  }
  Check(await page.$eval('#f-seizure-office', (el) => el.value) === 'PKKHI — Karachi port', 'the office picker shows no label');

  step = 'a quantity the server refuses goes next to its field';
  await Fill(page, 'seizure.goods[0].quantity', '-3');
  await page.click('#save');
  await page.waitForSelector('#error-seizure-goods-0--quantity');
  Check(await page.$eval('[data-path="seizure.goods[0].quantity"]', (el) => el.getAttribute('aria-invalid')) === 'true',
    'the quantity is not marked invalid');

  step = 'change a quantity, add a route point and a new company';
  await Fill(page, 'seizure.goods[0].quantity', '12.5');
  await page.click('#add-route');
  await page.select('[data-path="seizure.route[0].role"]', 'origin');
  Check(await Pick(page, 'seizure.route[0].country', 'afghan') === 'AF', 'route country not picked');
  await Fill(page, 'company.name', kCompany);
  Check(await Pick(page, 'company.country', 'turkmen') === 'TM', 'company country not picked');
  await page.waitForFunction((i) => (localStorage.getItem(`ncen.draft.amina.edit.${i}`) || '').includes('12.5'), {}, id);
  Check((await page.evaluate(() => localStorage.getItem('ncen.draft.amina.seizure')) || '').includes('NEW-DRAFT-1'),
    'the edit clobbered the new seizure\'s draft');
  await Shot(page, screenshots, 'edit-form', true);
  await page.click('#save');
  await WaitPage(page, 'record');
  Check(page.url().endsWith(`#/record/${id}`), `saving opened ${page.url()}`);

  step = 'the record page shows the edit, the company and the office label';
  await page.waitForSelector('#field-office');
  const office = await page.$eval('#field-office', (el) => el.textContent);
  Check(office === 'PKKHI — Karachi port', `the office is shown as ${JSON.stringify(office)}`);
  const goods = await page.$eval('#field-goods', (el) => el.textContent);
  Check(goods.includes('12.5') && goods.includes('293911 — Concentrates of poppy straw'),
    `the goods table shows ${JSON.stringify(goods)}`);
  Check((await page.$$('#field-route tbody tr')).length === 1, 'the record page shows no route point');
  await page.waitForFunction((name) => [...document.querySelectorAll('a.link-company')].some((a) => a.textContent === name),
    {}, kCompany);
  const record = (await ApiGet(page, `/api/records/${id}`)).body;
  Check(record.goods[0].quantity === 12.5 && record.route[0].country === 'AF' && record.companies.length === 1 &&
    !record.versions, `the record holds ${JSON.stringify(record).slice(0, 400)}`);
  Check((await ApiGet(page, `/api/records/${record.companies[0]}`)).body.country === 'TM', 'the company has not its country');
  Check(await page.evaluate((i) => localStorage.getItem(`ncen.draft.amina.edit.${i}`) === null, id), 'the edit draft was not cleared');
  Check((await page.evaluate(() => localStorage.getItem('ncen.draft.amina.seizure')) || '').includes('NEW-DRAFT-1'),
    'the new seizure\'s draft is gone after the edit');
  await Shot(page, screenshots, 'edit-record', true);

  step = 'another office writes while the form is open: 409';
  await OpenEdit(page, id);
  await Fill(page, 'seizure.narrative', kMine);
  await ChangeThroughApi(page, id, {narrative: kTheirs, place: 'Gate 4'});
  await page.click('#save');
  await page.waitForSelector('#edit-conflict #edit-changes');
  Check(await Value(page, 'seizure.narrative') === kMine, 'the officer\'s narrative is not on screen after the 409');
  const changed = await page.$$eval('#edit-changes tbody th', (cells) => cells.map((c) => c.textContent));
  Check(changed.includes('Narrative') && changed.includes('Place'), `the changes listed: ${JSON.stringify(changed)}`);
  Check((await page.$eval('#edit-changes', (el) => el.textContent)).includes(kTheirs), 'the other narrative is not shown');
  await Shot(page, screenshots, 'edit-conflict', true);
  step = 'saving again without choosing is refused again';
  await page.click('#save');
  await page.waitForSelector('#edit-conflict #edit-changes');
  Check((await ApiGet(page, `/api/records/${id}`)).body.narrative === kTheirs, 'a save without choosing overwrote the other version');
  step = 'keep my changes, then save';
  await page.click('#edit-keep-mine');
  await page.waitForSelector('#edit-kept');
  await page.click('#save');
  await WaitPage(page, 'record');
  Check((await ApiGet(page, `/api/records/${id}`)).body.narrative === kMine, 'the kept changes were not written');
  await page.waitForFunction((text) => document.querySelector('#field-narrative').textContent === text, {}, kMine);

  step = 'a second 409: load the current version';
  await OpenEdit(page, id);
  await Fill(page, 'seizure.narrative', 'To be dropped.');
  await ChangeThroughApi(page, id, {narrative: kTheirs});
  await page.click('#save');
  await page.waitForSelector('#edit-load-current');
  await page.click('#edit-load-current');
  await page.waitForFunction((text) => {
    const narrative = document.querySelector('[data-path="seizure.narrative"]');
    return narrative && narrative.value === text && !document.querySelector('#edit-conflict');
  }, {}, kTheirs);
  Check(!(await page.$('#edit-draft-restored')), 'loading the current version restored the dropped draft');

  step = 'the record deleted while the form is open: said so, and saving brings it back';
  await OpenEdit(page, id);
  await Fill(page, 'seizure.narrative', 'Restored by the officer.');
  const read = await Api(page, 'GET', `/api/records/${id}`);
  const deleted = await Api(page, 'DELETE', `/api/records/${id}`, null, {'If-Match': read.etag});
  Check(deleted.status === 200, `the API's delete answered ${deleted.status}: ${JSON.stringify(deleted.body)}`);
  await page.click('#save');
  await page.waitForSelector('#edit-conflict #edit-keep-mine');
  const said = await page.$eval('#edit-conflict h2', (el) => el.textContent);
  Check(said === 'Someone deleted this record', `the panel says "${said}"`);
  Check(await Value(page, 'seizure.narrative') === 'Restored by the officer.', 'the officer\'s text is gone after the deletion');
  await page.click('#edit-keep-mine');
  await page.waitForSelector('#edit-kept');
  await page.click('#save');
  await WaitPage(page, 'record');
  const back = await ApiGet(page, `/api/records/${id}`);
  Check(back.status === 200 && back.body.narrative === 'Restored by the officer.', `the record did not come back: ${JSON.stringify(back)}`);

  step = 'a new suspect typed in an edit that meets a 409: nothing written, nothing orphaned';
  await OpenEdit(page, id);
  await Fill(page, 'suspect.surname', 'Orphanova');
  await ChangeThroughApi(page, id, {narrative: 'Changed by the other office again.'});
  await page.click('#save');
  await page.waitForSelector('#edit-conflict #edit-load-current');
  const orphans = await ApiGet(page, '/api/search?q=Orphanova&type=suspect');
  Check(orphans.status === 200 && orphans.body.length === 0, `a suspect was written before the 409: ${JSON.stringify(orphans.body)}`);
  await page.click('#edit-load-current');
  await page.waitForFunction(() => !document.querySelector('#edit-conflict') && document.querySelector('[data-path="seizure.narrative"]'));

  step = 'a suspect edited with its form: a second nationality by picker';
  const suspect = await Api(page, 'POST', '/api/records', {type: 'suspect', surname: 'Tursunova', nationalities: ['UZ'],
    documents: [{type: 'passport', number: 'AB1234567', country: 'UZ', expires: '2030-01-01'}]});
  Check(suspect.status === 201, `the suspect was not made: ${JSON.stringify(suspect)}`);
  await OpenEdit(page, suspect.body.id, '#suspect-form');
  Check(await page.$eval('#f-suspect-nationalities-1', (el) => el.dataset.code) === 'UZ', 'the nationality is not shown');
  Check(await Value(page, 'suspect.document_number') === 'AB1234567', 'the document number is not shown');
  await page.click('#f-suspect-nationalities-add');
  Check(await Pick(page, 'suspect.nationalities[2]', 'kazakh') === 'KZ', 'a second nationality not picked');
  await Fill(page, 'suspect.occupation', 'Driver');
  await Shot(page, screenshots, 'edit-suspect', true);
  await page.click('#save');
  await WaitPage(page, 'record');
  const edited = (await ApiGet(page, `/api/records/${suspect.body.id}`)).body;
  Check(JSON.stringify(edited.nationalities) === '["UZ","KZ"]' && edited.occupation === 'Driver' &&
    edited.documents[0].expires === '2030-01-01', `the suspect holds ${JSON.stringify(edited)}`);

  step = 'search by a country picked by name';
  await Open(page, node, '#/search', 'search');
  await page.click('#search-filters summary');
  Check(await Pick(page, 'country', 'pakist') === 'PK', 'the search country was not picked');
  await page.click('#search-submit');
  await page.waitForFunction(() => /country=PK/.test(location.hash) && document.querySelector('#results-table'));
  const found = await page.$$eval('#results-table tbody a', (links) => links.map((a) => a.textContent));
  Check(found.length === 1 && found[0].includes('ED-2026-7'), `the search by country found ${JSON.stringify(found)}`);
  Check(await page.$eval('#search-country', (el) => el.value) === 'PK — Pakistan', 'the country filter lost its label');

  Check(problems.length === 0, `script errors or dialogs: ${problems.join('; ')}`);
  step = 'stop ncen-node';
  await Finish({browser, nodes: [node], cleanup: Cleanup, deadline});
  browser = null;
  console.log('browser: edit form: 1 passed, 0 failed');
}

Main().catch((error) => Fail(error.message));
