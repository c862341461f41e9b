// The search page on a node of many seizures (issue 19: "search results on
// 1,000,000 records appear < 200 ms after typing stops"): ncen-bench ui-node
// makes the node, then Chromium types queries into the search page the way
// an officer does (a key every 60 ms) and the page's own clock measures from
// the last keystroke to the frame after the results for that text are in the
// page. Printed as `browser: timing:` lines; fails over --max-ms.
//
//   node search_timing.mjs NCEN_NODE NCENCTL NCEN_BENCH [--records N] [--max-ms 200]
//
// ctest runs it on 100,000 seizures; the README's number is from
// --records 1000000 (docs/ui.md §4).
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {Check, LaunchChromium, NewPage, Open, TestNode} from './lib.mjs';

const argv = process.argv.slice(2);
const [node_binary, ncenctl, ncen_bench] = argv;
const option = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const records = option('--records', 100000);
const max_ms = option('--max-ms', 200);
Check(node_binary && ncenctl && ncen_bench, 'usage: search_timing.mjs NCEN_NODE NCENCTL NCEN_BENCH [--records N] [--max-ms MS]');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ncen-search-timing-'));
let node = null;
let browser = null;
const problems = [];
try {
  const made_at = Date.now();
  // A million seizures take a minute or two to make: longer than Run's 30 s.
  const bench = spawnSync(ncen_bench, ['ui-node', '--records', String(records), '--out', path.join(root, 'node')],
    {encoding: 'utf8', timeout: 900000});
  Check(bench.status === 0, `ncen-bench ui-node exited ${bench.status}: ${(bench.stderr || '').trim() || bench.error}`);
  const made = JSON.parse(bench.stdout);
  console.log(`browser: a node of ${records} seizures made in ${((Date.now() - made_at) / 1000).toFixed(1)} s`);
  node = new TestNode({node_binary, ncenctl, dir: made.dir, name: 'sink', user: 'amina', password: 'search timing password',
    existing: true});
  await node.Start();
  browser = await LaunchChromium();
  const page = await NewPage(browser, problems, 'search');
  await Open(page, node, '#/search', 'search');

  // The page's clock: the last input event, and the frame after results for
  // the wanted text are in #results.
  await page.evaluate(() => {
    window.ncenTiming = {want: null, last: 0, shown: 0};
    const q = document.getElementById('search-q');
    q.addEventListener('input', () => { window.ncenTiming.last = performance.now(); }, true);
    const results = document.getElementById('results');
    new MutationObserver(() => {
      const t = window.ncenTiming;
      if (t.want === null || t.shown || results.dataset.q !== t.want) return;
      requestAnimationFrame(() => setTimeout(() => { t.shown = performance.now(); }, 0));
    }).observe(results, {childList: true, subtree: true, attributes: true});
  });

  const queries = [made.reference, made.word, 'cigarettes', made.reference.slice(0, -1), 'pangolin scales',
    made.word, made.reference];
  const times = [];
  for (const text of queries) {
    await page.click('#search-q', {clickCount: 3});
    await page.keyboard.press('Backspace');
    await page.evaluate((want) => { Object.assign(window.ncenTiming, {want, last: 0, shown: 0}); }, text);
    await page.keyboard.type(text, {delay: 60});
    await page.waitForFunction(() => window.ncenTiming.shown > 0, {timeout: 10000});
    const {ms, rows} = await page.evaluate(() => ({
      ms: window.ncenTiming.shown - window.ncenTiming.last,
      rows: document.querySelectorAll('#results-table tbody tr').length,
    }));
    times.push(ms);
    console.log(`browser: search "${text}": ${rows} rows shown ${ms.toFixed(1)} ms after the last keystroke`);
    Check(rows > 0 || text === made.reference.slice(0, -1), `no results for "${text}"`);
  }
  // 260 Arabic letters are 520 bytes: over the server's 500, said on the
  // page without asking the server.
  let asked = 0;
  page.on('request', (request) => { if (request.url().includes('/api/search')) asked += 1; });
  await page.evaluate(() => {
    const q = document.getElementById('search-q');
    q.value = 'ب'.repeat(260);
    q.dispatchEvent(new Event('input', {bubbles: true}));
  });
  await page.waitForSelector('#results .error', {timeout: 5000});
  const said = await page.$eval('#results .error', (p) => p.textContent);
  Check(said.includes('at most 500 bytes'), `a text over 500 bytes: the page says "${said}"`);
  Check(asked === 0, `a text over 500 bytes was sent to the server ${asked} time(s)`);

  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)], worst = times[times.length - 1];
  console.log(`browser: timing: search on ${records} seizures, results after typing stops: median ${median.toFixed(1)} ms, ` +
    `worst ${worst.toFixed(1)} ms (${times.length} queries; target < ${max_ms} ms)`);
  Check(worst < max_ms, `search results took ${worst.toFixed(1)} ms after typing stopped (target < ${max_ms} ms)`);
  Check(problems.length === 0, `page problems: ${problems.join('; ')}`);
  console.log('browser: 1 passed, 0 failed');
} catch (error) {
  console.error(`browser: FAILED: ${error.stack || error.message}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  if (node) await node.Stop();
  fs.rmSync(root, {recursive: true, force: true});
}
