/**
 * End to end: `coalmine hunt … --report FILE` on the bundled Kinsing-like scenario (CPU telemetry) plus
 * a hostile NDJSON fixture (markup and ANSI in the command line, host and cron line), opened in real
 * headless Chromium (Debian's, driven by playwright-core): no console error, no request but the file,
 * no dialog, the hostile text visible as text and never as an element, the SVG timeline drawn. And
 * the container scenario (a miner DaemonSet: audit log, Tetragon, Prometheus): its AN0745 finding
 * under its cluster/namespace, its container CPU drawn, AN0745's coverage per cluster/namespace. And
 * the CloudTrail fixture with GuardDuty and CloudWatch: its AN0744 launches under their provider/
 * account/region with instances, count, types, principal, key and source IP; AN0744's coverage rows.
 * Skips when /usr/bin/chromium is absent (CI installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'kinsing-like');
const HOSTILE = join(ROOT, 'test', 'fixtures', 'report', 'hostile.ndjson');
const MINER_DAEMONSET = join(ROOT, 'test', 'fixtures', 'scenarios', 'containers', 'miner-daemonset');
const CLOUD = ['cloudtrail/trail.json', 'guardduty/get-findings.json', 'cloudwatch-metrics/stream.json'].map((p) =>
  join(ROOT, 'test', 'fixtures', p),
);
const CHROMIUM = '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'coalmine-report-'));
after(() => rmSync(work, { recursive: true, force: true }));

const run = (args: string[]) => runCli(args, { cwd: work });

/** The report opened in a new page, with every console error, request and dialog collected. */
async function openReport(
  browser: Browser,
  file: string,
): Promise<{ page: Page; url: string; consoleErrors: string[]; requests: string[]; dialogs: string[] }> {
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
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, url, consoleErrors, requests, dialogs };
}

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
    const { page, url, consoleErrors, requests, dialogs } = await openReport(browser, out);

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

test('the container report in real Chromium: the AN0745 finding by cluster/namespace, its CPU, coverage per namespace', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (apt-get install chromium); the browser check needs it`);
    return;
  }
  const out = join(work, 'containers.html');
  const r = run(['hunt', MINER_DAEMONSET, '--format', 'ndjson', '--report', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"analytic":"AN0745"/);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const { page, url, consoleErrors, requests, dialogs } = await openReport(browser, out);
    assert.deepEqual(consoleErrors, [], 'no console errors (CSP violations are console errors)');
    assert.deepEqual(requests, [url], 'no request but the report itself');
    assert.deepEqual(dialogs, []);

    // the finding listed under its cluster/namespace with the workload facts, linked to its section
    assert.deepEqual(await page.locator('h3.namespace').allTextContents(), ['cluster/kube-system']);
    const rows = page.locator('table.workloads tbody tr');
    assert.equal(await rows.count(), 1);
    const cells = await rows.first().locator('td').allTextContents();
    assert.match(cells[0], /^high cm-/);
    assert.equal(cells[1], 'DaemonSet/kube-netmon');
    assert.equal(cells[2], '3', 'replicas');
    assert.match(cells[3], /alpine:3\.19/, 'the image');
    assert.match(cells[4], /^system:anonymousfrom 203\.0\.113\.45$/, 'the creator and where from');
    assert.equal(cells[5], 'worker-1, worker-2, worker-3', 'the nodes');
    const href = (await rows.first().locator('a').getAttribute('href')) ?? '';
    const section = page.locator(`section.finding${href}`);
    assert.equal(await section.count(), 1, 'the link reaches the finding');
    const own = (await section.locator('dl.facts').first().textContent()) ?? '';
    assert.ok(own.includes('namespacekube-system') && own.includes('workloadDaemonSet/kube-netmon'), own);
    assert.ok((await section.locator('svg.timeline polyline').count()) >= 1, 'container CPU drawn');

    // AN0745 coverage: the scenario's namespaces, each with the three classes
    const nsRows = page.locator('table.coverage-containers tbody tr');
    const texts = await nsRows.allTextContents();
    const sys = texts.find((x) => x.startsWith('cluster/kube-system'));
    assert.ok(sys, texts.join('\n'));
    assert.equal(
      await nsRows.first().locator('td').count(),
      8,
      'namespace, runtime, workloads, telemetry, 3 classes, AN0745',
    );
    const sysCells = await nsRows.filter({ hasText: 'cluster/kube-system' }).locator('td').allTextContents();
    assert.match(sysCells[4], /^present: audit log/, 'authorization from the audit log');
    assert.match(sysCells[5], /^present: CPU of 2 of 2 workloads, a limit for 2/);
    assert.match(sysCells[6], /^present: processes inside/);
    assert.equal(sysCells[7], 'covered', 'audit log, Prometheus and Tetragon cover kube-system');
    const gaps = (await page.locator('.container-gaps').textContent()) ?? '';
    assert.ok(gaps.includes('cluster/ci: partial, missing container CPU, in-container processes'), gaps);
    assert.ok(gaps.includes('no container CPU metrics for cluster/ci'), gaps);
    assert.ok(!gaps.includes('cluster/kube-system'), 'a covered namespace without notes has no gap entry');
  } finally {
    await browser.close();
  }
});

test('the cloud report in real Chromium: AN0744 launches by provider/account/region, coverage per account/region', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (apt-get install chromium); the browser check needs it`);
    return;
  }
  const out = join(work, 'cloud.html');
  const r = run(['hunt', ...CLOUD, '--format', 'ndjson', '--report', out]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  assert.match(r.stdout, /"analytic":"AN0744"/);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const { page, url, consoleErrors, requests, dialogs } = await openReport(browser, out);
    assert.deepEqual(consoleErrors, [], 'no console errors (CSP violations are console errors)');
    assert.deepEqual(requests, [url], 'no request but the report itself');
    assert.deepEqual(dialogs, []);

    // the leaked-key launches of the trail under the region they were launched in; the GuardDuty
    // instance (no launch read) under its own
    assert.deepEqual(await page.locator('h3.region').allTextContents(), [
      'aws/123456789012/ap-southeast-3',
      'aws/123456789012/us-east-1',
    ]);
    const rows = page.locator('table.launches tbody tr');
    const all = await Promise.all(
      Array.from({ length: await rows.count() }, (_, i) => rows.nth(i).locator('td').allTextContents()),
    );
    const fleet = all.find((c) => c[2] === '20');
    assert.ok(fleet, JSON.stringify(all));
    assert.match(fleet[1], /^i-0a003b4c5d6e7f8091, .*, … 12 more$/, 'the instances, then how many more');
    assert.equal(fleet[3], 'g4dn.xlarge');
    assert.equal(fleet[4], 'arn:aws:iam::123456789012:user/build-botIAMUser', 'the principal and its type');
    assert.equal(fleet[5], 'AKIAI44QH8DHBEXAMPLE', 'the access key');
    assert.equal(fleet[6], '203.0.113.77', 'the source IP');
    const attempt = all.find((c) => c[2] === '8');
    assert.ok(attempt, JSON.stringify(all));
    assert.equal(attempt[1], 'none seen', 'a denied attempt launched nothing');
    const seen = all.find((c) => c[1] === 'i-0a1b2c3d4e5f60718');
    assert.ok(seen, JSON.stringify(all));
    assert.equal(seen[2], '1');
    const section = page.locator(`section.finding${(await rows.first().locator('a').getAttribute('href')) ?? ''}`);
    assert.equal(await section.count(), 1, 'the link reaches the finding');
    const own = (await section.locator('dl.facts').first().textContent()) ?? '';
    assert.ok(own.includes('regionap-southeast-3') && own.includes('access keyAKIAI44QH8DHBEXAMPLE'), own);

    // AN0744 coverage: a row per account/region with the three classes
    const cov = page.locator('table.coverage-cloud tbody tr');
    assert.deepEqual(
      (await cov.allTextContents()).map((x) => x.split(/audit/)[0]),
      ['aws/123456789012/ap-southeast-3', 'aws/123456789012/us-east-1'],
    );
    const east = await cov.filter({ hasText: 'us-east-1' }).locator('td').allTextContents();
    assert.equal(east.length, 6, 'account/region, telemetry, 3 classes, AN0744');
    assert.equal(east[1], 'audit, cpu, detector');
    assert.match(east[2], /^present: control-plane audit log/);
    assert.match(east[3], /^present: a provider detector's findings/);
    assert.match(east[4], /^present: instance CPU metrics/);
    assert.equal(east[5], 'covered');
    const gaps = (await page.locator('.cloud-gaps').textContent()) ?? '';
    assert.ok(
      gaps.includes('aws/123456789012/ap-southeast-3: partial, missing flows, DNS or detector, instance CPU'),
      gaps,
    );
    assert.ok(gaps.includes('no flow or DNS logs for aws account 123456789012 ap-southeast-3'), gaps);
  } finally {
    await browser.close();
  }
});
