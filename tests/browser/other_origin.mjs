// A page of another origin cannot change anything (issue 19). Usage:
//   node other_origin.mjs NCEN_NODE NCENCTL
// One node; an officer signed in to the UI in the browser (the session
// cookie is there). A tiny static server of this script's, on another
// loopback port, serves an attacker's page that tries, with that browser:
//   - an HTML form POST to /api/records (enctype text/plain, a JSON body),
//   - an HTML form POST, urlencoded,
//   - fetch POST with credentials, mode no-cors, text/plain JSON,
//   - fetch POST with credentials, application/json (needs a preflight),
//   - fetch POST to /api/messages (no-cors) and DELETE of the officer's
//     seizure (with credentials, needs a preflight).
// It is served twice: from http://127.0.0.1:PORT (another origin, the same
// site: SameSite cookies do not help) and from http://localhost:PORT
// (another site). Nothing may be written: the node's records and messages
// are counted through the API before and after, and the seizure is intact;
// then the officer's own page sends the forged seizure, which is accepted
// (the attempts failed for want of the token and origin, not the body).
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ApiGet, Check, LaunchChromium, NewPage, Open, Sleep, TestNode} from './lib.mjs';

const kPassword = 'browser test password';
const kTotalMs = 120000;
const [node_binary, ncenctl] = process.argv.slice(2);

let step = 'start';
let browser = null;
let data_dir = null;
let node = null;
let server = null;

async function Fail(message) {
  console.error(`browser other-origin test FAILED at "${step}": ${message}`);
  try { if (browser) await browser.close(); } catch (error) { /* closing anyway */ }
  if (node) node.Kill();
  if (server) server.close();
  if (data_dir) fs.rmSync(data_dir, {recursive: true, force: true});
  process.exit(1);
}
const deadline = setTimeout(() => Fail(`the whole test took longer than ${kTotalMs / 1000} s`), kTotalMs);

// The attacker's page: it fires every attempt at `target` and records in
// window.attempts what the browser let it see.
function ForgedSeizure() {
  return JSON.stringify({type: 'seizure', reference: 'FORGED', date: '2026-11-21', country: 'PK', office: 'PKKHI',
    goods: [{category: 'drugs', subtype: 'heroin', quantity: 1, unit: 'kg'}]});
}

function AttackPage(target, victim_id) {
  const seizure = ForgedSeizure();
  // A text/plain form sends "name=value": the name holds the JSON up to a
  // string that swallows the "=" and the value.
  const name = seizure.slice(0, -1) + ',"x":"';
  const escape = (text) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<!doctype html><html><head><meta charset="utf-8"><title>attacker</title></head><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="plain" method="POST" action="${target}/api/records" enctype="text/plain" target="sink1">
<input name="${escape(name)}" value='"}'></form>
<form id="urlencoded" method="POST" action="${target}/api/records" target="sink2">
<input name="type" value="seizure"><input name="reference" value="FORGED2"></form>
<script>
window.attempts = [];
const note = (what, result) => window.attempts.push(what + ': ' + result);
document.getElementById('plain').submit();
document.getElementById('urlencoded').submit();
const body = ${JSON.stringify(seizure)};
Promise.allSettled([
  fetch('${target}/api/records', {method: 'POST', mode: 'no-cors', credentials: 'include', headers: {'Content-Type': 'text/plain'}, body})
    .then((r) => note('no-cors', r.type), (e) => note('no-cors', 'error ' + e.message)),
  fetch('${target}/api/records', {method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json'}, body})
    .then((r) => note('cors json', r.status), (e) => note('cors json', 'error ' + e.message)),
  fetch('${target}/api/messages', {method: 'POST', mode: 'no-cors', credentials: 'include', headers: {'Content-Type': 'text/plain'},
    body: JSON.stringify({to: {nodes: ['x']}, subject: 'forged', body: 'forged'})})
    .then((r) => note('message', r.type), (e) => note('message', 'error ' + e.message)),
  fetch('${target}/api/records/${victim_id}', {method: 'DELETE', credentials: 'include'})
    .then((r) => note('delete', r.type), (e) => note('delete', 'error ' + e.message)),
]).then(() => { window.attempts_done = true; });
</script></body></html>`;
}

async function Counts(page) {
  const status = (await ApiGet(page, '/api/status')).body;
  const records = (await ApiGet(page, '/api/records?limit=10000')).body;
  const sent = (await ApiGet(page, '/api/messages?box=sent')).body;
  return {entries: status.entries, records: records.length, sent: sent.length};
}

async function Main() {
  Check(node_binary && ncenctl, 'usage: node other_origin.mjs NCEN_NODE NCENCTL');
  step = 'start a node';
  data_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncen-browser3-'));
  node = new TestNode({node_binary, ncenctl, dir: path.join(data_dir, 'node'), name: 'Browser test post', role: 'post',
    user: 'amina', password: kPassword});
  await node.Start();

  step = 'sign in and write a seizure';
  browser = await LaunchChromium();
  const problems = [];
  const page = await NewPage(browser, problems, 'victim');
  await Open(page, node, '#/home', 'home');
  const created = await page.evaluate(async () => {
    const response = await fetch('/api/records', {method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('ncen.csrf')},
      body: JSON.stringify({type: 'seizure', reference: 'VICTIM-1', date: '2026-11-21', country: 'PK', office: 'PKKHI',
        goods: [{category: 'drugs', subtype: 'opium', quantity: 2, unit: 'kg'}]})});
    return {status: response.status, body: await response.json()};
  });
  Check(created.status === 201, `the officer's own write answered ${created.status}: ${JSON.stringify(created.body)}`);
  const victim_id = created.body.id;
  const before = await Counts(page);

  step = 'serve the attacker\'s page';
  const target = node.base;
  server = http.createServer((request, response) => {
    response.writeHead(200, {'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store'});
    response.end(AttackPage(target, victim_id));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;

  const results = [];
  for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
    step = `the attacker's page at ${origin}`;
    // The same browser context as the officer's tab: the cookie is there.
    const attacker = await page.browserContext().newPage();
    await attacker.goto(`${origin}/`, {waitUntil: 'load'});
    await attacker.waitForFunction(() => window.attempts_done === true, {timeout: 15000});
    await Sleep(1000);  // the forms' navigations in their frames
    results.push(`${origin}: ${(await attacker.evaluate(() => window.attempts)).join(', ')}`);
    await attacker.close();
  }

  step = 'nothing was written';
  const after = await Counts(page);
  Check(JSON.stringify(after) === JSON.stringify(before), `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
  const victim = await ApiGet(page, `/api/records/${victim_id}`);
  Check(victim.status === 200 && victim.body.reference === 'VICTIM-1', `the officer's seizure is now ${victim.status}`);
  const forged = (await ApiGet(page, '/api/search?q=FORGED')).body;
  Check(Array.isArray(forged) ? forged.length === 0 : true, `a forged record is found: ${JSON.stringify(forged)}`);
  Check(problems.length === 0, problems.join(' | '));

  step = 'control: the forged seizure is one the node accepts from its own page';
  // So the test can fail: had the attacker's requests been let through,
  // this body would have been written.
  const control = await page.evaluate(async (body) => (await fetch('/api/records', {method: 'POST', body,
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('ncen.csrf')}})).status, ForgedSeizure());
  Check(control === 201, `the forged seizure sent by the officer's own page answered ${control}, not 201`);

  await browser.close();
  browser = null;
  server.close();
  await node.Stop();
  fs.rmSync(data_dir, {recursive: true, force: true});
  clearTimeout(deadline);
  console.log(`browser other origin: what the attacker's page saw: ${results.join(' | ')}`);
  console.log(`browser other origin: records ${before.records}, entries ${before.entries}, sent messages ${before.sent}: unchanged`);
  console.log('browser other origin: 1 passed, 0 failed');
}

Main().catch((error) => Fail(error && error.message ? error.message.split('\n')[0] : String(error)));
