// Helpers shared by the browser tests (run.mjs, two_nodes.mjs, other_origin.mjs):
// temporary nodes started, stopped and restarted on the same addresses,
// Chromium, and the page actions every test uses. Every wait is bounded.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const kRepo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const kChromium = process.env.CHROMIUM || '/usr/bin/chromium';
export const kWaitMs = 15000;

// The command line every browser test takes: NCEN_NODE NCENCTL
// [--screenshots DIR] (default docs/ui/).
export function ParseArgs(argv = process.argv.slice(2)) {
  const [node_binary, ncenctl] = argv;
  const at = argv.indexOf('--screenshots');
  const screenshots = at >= 0 ? path.resolve(argv[at + 1]) : path.join(kRepo, 'docs', 'ui');
  return {node_binary, ncenctl, screenshots};
}

// How every browser test fails: one line naming the step (`step()`), what
// each page of `pages()` ({name: page}) shows, Chromium closed, the test's
// own `cleanup`, exit 1; the same when the whole test takes longer than
// `total_ms`. Returns {Fail, deadline} (Finish clears the deadline).
export function Failing({label, step, browser, cleanup, total_ms, pages = () => ({})}) {
  async function Fail(message) {
    console.error(`${label} FAILED at "${step()}": ${message}`);
    for (const [name, page] of Object.entries(pages())) {
      try {
        const text = await page.evaluate(() => `${location.hash}: ${document.querySelector('main').innerText}`);
        console.error(`  ${name} page: ${text.replace(/\s+/g, ' ').slice(0, 400)}`);
      } catch (error) { /* the page may be gone */ }
    }
    try { const open = browser(); if (open) await open.close(); } catch (error) { /* closing anyway */ }
    cleanup();
    process.exit(1);
  }
  const deadline = setTimeout(() => Fail(`the whole test took longer than ${total_ms / 1000} s`), total_ms);
  return {Fail, deadline};
}

// How every browser test ends when it passed: Chromium closed, the nodes
// stopped cleanly, the test's own `cleanup`, the deadline cleared.
export async function Finish({browser, nodes, cleanup, deadline}) {
  await browser.close();
  for (const node of nodes) await node.Stop();
  cleanup();
  clearTimeout(deadline);
}

export function Check(condition, message) { if (!condition) throw new Error(message); }
export async function Sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

export function Run(binary, argv, input) {
  const result = spawnSync(binary, argv, {input, encoding: 'utf8', timeout: 30000});
  if (result.error) throw new Error(`${binary} ${argv.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${path.basename(binary)} ${argv.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

// Waits until `file` exists and is not empty; returns its text. Fails
// early when `process` has exited.
async function WaitFile(file, process, log) {
  for (let waited = 0; waited < kWaitMs; waited += 50) {
    if (process.exitCode !== null) throw new Error(`ncen-node exited ${process.exitCode}: ${fs.readFileSync(log, 'utf8').trim()}`);
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, 'utf8').trim();
      if (text) return text;
    }
    await Sleep(50);
  }
  throw new Error(`ncen-node wrote no ${file} within ${kWaitMs} ms`);
}

// One temporary node: `ncenctl init`, an officer, http_static = ui/.
// Start() the first time takes any free ports and keeps them, so that a
// restart listens where its peer and the browser expect it.
export class TestNode {
  // With `existing`, `dir` already holds a node (no `ncenctl init`).
  constructor({node_binary, ncenctl, dir, name, role, listen, user, password, existing = false}) {
    Object.assign(this, {node_binary, ncenctl, dir, name, user, password});
    this.process = null;
    this.peer_address = null;  // where it accepts peers, once started
    this.http_address = null;
    const init = ['--data', dir, 'init', '--name', name, '--role', role];
    if (listen) init.push('--listen', '127.0.0.1:0');
    if (!existing) Run(ncenctl, init);
    Run(ncenctl, ['--data', dir, 'user', 'add', user, '--role', 'officer'], `${password}\n`);
    fs.appendFileSync(path.join(dir, 'ncen.toml'), `http_static = ${JSON.stringify(path.join(kRepo, 'ui'))}\n`);
    this.id = Run(ncenctl, ['--data', dir, 'id']).trim().split(/\s+/)[0];
    this.listens = !!listen;
  }

  Ctl(...argv) { return Run(this.ncenctl, ['--data', this.dir, ...argv]); }

  get base() { return `http://${this.http_address}`; }

  async Start() {
    const log = `${this.dir}.log`;
    const argv = ['--data', this.dir, '--http-listen', this.http_address || '127.0.0.1:0'];
    if (this.listens && this.peer_address) argv.push('--listen', this.peer_address);
    for (const file of ['ncen-node.address', 'ncen-node.http-address']) fs.rmSync(path.join(this.dir, file), {force: true});
    this.process = spawn(this.node_binary, argv, {stdio: ['ignore', fs.openSync(log, 'a'), fs.openSync(log, 'a')]});
    this.http_address = await WaitFile(path.join(this.dir, 'ncen-node.http-address'), this.process, log);
    Check(/^127\.0\.0\.1:\d+$/.test(this.http_address), `not a loopback address: ${this.http_address}`);
    if (this.listens) this.peer_address = await WaitFile(path.join(this.dir, 'ncen-node.address'), this.process, log);
  }

  async Stop() {
    if (!this.process || this.process.exitCode !== null) return;
    this.process.kill('SIGTERM');
    for (let waited = 0; waited < kWaitMs && this.process.exitCode === null; waited += 50) await Sleep(50);
    Check(this.process.exitCode !== null, `${this.name}: ncen-node did not stop within ${kWaitMs} ms of SIGTERM`);
  }

  Kill() { if (this.process && this.process.exitCode === null) this.process.kill('SIGKILL'); }
}

export async function LaunchChromium() {
  let puppeteer;
  try {
    puppeteer = (await import('puppeteer-core')).default;
  } catch (error) {
    throw new Error(`puppeteer-core is not installed: run "npm ci" in tests/browser (${error.message})`);
  }
  Check(fs.existsSync(kChromium), `${kChromium} is not installed (apt-get install chromium; scripts/install-deps does)`);
  return puppeteer.launch({
    executablePath: kChromium, headless: true, timeout: kWaitMs,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions', '--lang=en-US',
      '--proxy-server=direct://', '--proxy-bypass-list=*'],
  });
}

// A page in its own incognito context (its own cookies: two nodes on
// 127.0.0.1 would otherwise share the session cookie's name), with script
// errors and dialogs collected into `problems`.
export async function NewPage(browser, problems, label) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({width: 1366, height: 768});
  page.setDefaultTimeout(kWaitMs);
  page.on('dialog', async (dialog) => { problems.push(`${label}: dialog ${dialog.message()}`); await dialog.dismiss(); });
  page.on('pageerror', (error) => problems.push(`${label}: ${error.message}`));
  return page;
}

export async function WaitPage(page, name) {
  await page.waitForFunction((n) => document.body.dataset.page === n, {timeout: kWaitMs}, name);
}

// Opens `hash` on `node`, signing in first if the page asks for it (a
// restarted node has forgotten its sessions).
// Always a fresh document: a goto that changes only the hash would keep
// the old one, with its old idea of the session.
export async function Open(page, node, hash, page_name) {
  await page.goto('about:blank');
  await page.goto(`${node.base}/${hash}`);
  await page.waitForFunction(() => ['login', 'home', 'record', 'conflicts', 'edit', 'new', 'search', 'messages', 'compose',
    'releases', 'stats', 'status', 'account', 'users']
    .includes(document.body.dataset.page), {timeout: kWaitMs});
  if (await page.evaluate(() => document.body.dataset.page) === 'login') {
    await page.type('#login-name', node.user);
    await page.type('#login-password', node.password);
    await page.click('#login-submit');
    await page.waitForFunction(() => document.body.dataset.page && document.body.dataset.page !== 'login', {timeout: kWaitMs});
    await page.goto('about:blank');
    await page.goto(`${node.base}/${hash}`);
  }
  if (page_name) await WaitPage(page, page_name);
}

// Sets a control's value as typing would (input and change events).
export async function Fill(page, data_path, value) {
  const found = await page.evaluate((p, v) => {
    const el = document.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (!el) return false;
    el.value = v;
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
    return true;
  }, data_path, value);
  Check(found, `no control for ${data_path}`);
}

// GET `api_path` from inside the page (its session): {status, body}.
export async function ApiGet(page, api_path) {
  return page.evaluate(async (p) => {
    const response = await fetch(p, {cache: 'no-store'});
    const type = response.headers.get('Content-Type') || '';
    return {status: response.status, body: type.startsWith('application/json') ? await response.json() : null};
  }, api_path);
}

// Polls until `test(answer)` holds for GET `api_path`; at most `limit_ms`.
export async function Poll(page, api_path, test, what, limit_ms = 30000) {
  const started = Date.now();
  let last = null;
  while (Date.now() - started < limit_ms) {
    last = await ApiGet(page, api_path);
    if (test(last)) return {answer: last, waited_ms: Date.now() - started};
    await Sleep(250);
  }
  throw new Error(`${what}: not within ${limit_ms / 1000} s (last answer ${last && last.status}: ${JSON.stringify(last && last.body).slice(0, 300)})`);
}

export async function Shot(page, dir, name, full_page = false) {
  fs.mkdirSync(dir, {recursive: true});
  await page.screenshot({path: path.join(dir, `${name}.png`), fullPage: full_page});
}

// Tabs from the page's heading through every control of `main` until the
// focus leaves it (at most `stops_max` presses). For each control reached
// once: Chromium's own accessible name (page.accessibility.snapshot) and
// whether the focus is drawn (an outline or a box shadow). Returns
// {reached: [what], unnamed: [what], no_outline: [what]}, `what` naming the
// element by tag, id, data-path or name.
export async function TabWalk(page, stops_max = 400) {
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('*')) delete el.ncenTabSeen;
    const heading = document.querySelector('main h1');
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading.focus();
  });
  const reached = [], unnamed = [], no_outline = [];
  for (let stops = 0; stops < stops_max; ++stops) {
    await page.keyboard.press('Tab');
    const handle = await page.evaluateHandle(() => document.activeElement);
    const info = await handle.evaluate((el) => {
      const seen = !!el.ncenTabSeen;
      el.ncenTabSeen = true;
      const style = getComputedStyle(el);
      return {
        inside: document.querySelector('main').contains(el), seen,
        what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.dataset.path ? `[${el.dataset.path}]` : ''}` +
          `${!el.id && el.name ? `[name=${el.name}]` : ''}${!el.id && el.dataset.action ? `[${el.dataset.action}]` : ''}`,
        outline: style.outlineStyle !== 'none' || style.boxShadow !== 'none',
      };
    });
    if (!info.inside) { await handle.dispose(); break; }
    if (info.seen) { await handle.dispose(); continue; }
    reached.push(info.what);
    const node = await page.accessibility.snapshot({root: handle, interestingOnly: false});
    if (!node || !node.name || !node.name.trim()) unnamed.push(info.what);
    if (!info.outline) no_outline.push(info.what);
    await handle.dispose();
  }
  return {reached, unnamed, no_outline};
}
