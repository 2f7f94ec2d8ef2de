/**
 * End to end: `coalmine hunt … --report FILE` on the bundled Kinsing-like scenario (CPU telemetry) plus
 * a hostile NDJSON fixture (markup and ANSI in the command line, host and cron line), opened in real
 * headless Chromium (Debian's, driven by playwright-core): no console error, no request but the file,
 * no dialog, the hostile text visible as text and never as an element, the SVG timeline drawn.
 * Skips when /usr/bin/chromium is absent (CI installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'kinsing-like');
const HOSTILE = join(ROOT, 'test', 'fixtures', 'report', 'hostile.ndjson');
const CHROMIUM = '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'coalmine-report-'));
after(() => rmSync(work, { recursive: true, force: true }));

const run = (args: string[]) => runCli(args, { cwd: work });

test('--report writes the HTML report beside the normal output; a write error is exit 3 with the reason', () => {
  const out = join(work, 'plain.html');
  const r = run(['hunt', EXAMPLE, '--format', 'ndjson', '--report', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"analytic":"AN0742"/, 'normal output still on stdout');
  const html = readFileSync(out, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);

  const bad = run(['hunt', EXAMPLE, '--format', 'ndjson', '--report', join(work, 'no', 'such', 'dir', 'r.html')]);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /coalmine: cannot write report .*r\.html: ENOENT/);
  assert.match(run(['hunt', '--help']).stdout, /--report <file>/);
});

test('the report in real Chromium: inert hostile text, no requests, no console errors, the CPU timeline', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (apt-get install chromium); the browser check needs it`);
    return;
  }
  const out = join(work, 'out.html');
  const r = run(['hunt', EXAMPLE, HOSTILE, '--format', 'ndjson', '--report', out]);
  assert.equal(r.code, 0, r.stderr);
  const findings = r.stdout.trim().split('\n');
  assert.equal(findings.length, 2, 'the Kinsing finding and the hostile one');

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('request', (req) => requests.push(req.url()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const url = pathToFileURL(out).href;
    await page.goto(url, { waitUntil: 'load' });

    assert.deepEqual(consoleErrors, [], 'no console errors (CSP violations are console errors)');
    assert.deepEqual(requests, [url], 'no request but the report itself');
    assert.deepEqual(dialogs, [], 'no dialog fired');

    const text = (await page.textContent('body')) ?? '';
    assert.ok(text.includes(`--pass '<script>alert(1)</script>'`), 'hostile markup shown as text');
    assert.ok(text.includes('\\u001b[31mRED\\u001b[0m'), 'ANSI escapes shown as visible escapes');
    assert.ok(text.includes('Cryptomining on web-<b>02</b>'), 'hostile host name shown as text');
    assert.ok(text.includes('<img src=x onerror=alert(2)>'), 'hostile cron line shown as text');
    assert.equal(await page.locator('script').count(), 0, 'no script element');
    assert.equal(await page.locator('body img, body b, body iframe').count(), 0, 'no injected element');
    assert.equal(await page.locator('[onerror], [onload], [onclick]').count(), 0, 'no event handler attribute');

    const timeline = page.locator('svg.timeline');
    assert.equal(await timeline.count(), 1, 'one finding has CPU telemetry');
    assert.ok((await timeline.locator('polyline').count()) >= 1, 'a polyline per series');
    const points = (await timeline.locator('polyline').first().getAttribute('points')) ?? '';
    assert.ok(points.split(' ').length > 10, 'the Kinsing CPU series is drawn');
    assert.ok((await timeline.locator('g.marker').count()) > 0, 'evidence markers');
    assert.ok((await timeline.locator('text').allTextContents()).includes('time (UTC)'));
    const box = await timeline.boundingBox();
    assert.ok(box && box.width > 300 && box.height > 100, 'the chart is laid out');
    assert.equal(await page.locator('.no-cpu').count(), 1, 'the hostile finding says it has no CPU telemetry');
    assert.ok(text.includes('Containment plan (linux'));
    assert.ok(text.includes('core-hours ×'));
    assert.ok(text.includes('Telemetry coverage'), 'the coverage of what the hunt read');

    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-output', 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
