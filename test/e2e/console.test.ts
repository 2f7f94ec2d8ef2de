/**
 * The web console end to end (issue 16, acceptance 2) in real headless Chromium (Debian's, driven by
 * playwright-core) against a real server on a temporary SQLite store with the bundled kinsing-like
 * example sent in as a sensor sends it (`serve --demo`'s startDemo): an analyst logs in, finds the case
 * in the queue, opens its finding by keyboard, ticks a checklist step, adds a note, moves it to triaged
 * and on to contained (escalated skipped) and closes it as a true positive, then finds it in the cases
 * queue filtered by state; the same executable relaunched after closure (POST /api/v1/events) reopens it; a
 * finding whose command line holds markup and ANSI escapes renders as inert text; a viewer sees no
 * change controls and the API refuses its changes. No console error on any page. Skips when
 * /usr/bin/chromium is absent (CI installs it). First, the console's pure functions (view-model.ts) in Node.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  age,
  caseExportHref,
  computeHours,
  entryCandidates,
  findingFilterQuery,
  findingsExportHref,
  hostScope,
  matchPath,
  processForest,
  suggestedExpiry,
  visible,
  when,
} from '../../console/src/view-model.js';
import { defaultPolicy } from '../../src/model/policy.js';
import { type RunningDemo, startDemo } from '../../src/server/demo.js';
import { an0744Finding } from '../support/an0744-finding.js';
import { an0745Finding } from '../support/an0745-finding.js';
import {
  chromiumSkipReason,
  ensureConsoleBuild,
  launchChromium,
  logIn,
  newPage,
  type PageProblems,
  textOf,
  until,
} from '../support/console-browser.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'kinsing-like');
const HOSTILE = join(ROOT, 'test', 'fixtures', 'report', 'hostile.ndjson');

/** The kinsing-like audit log relaunched `ms` later with new pids: the same executable, a new process. */
function relaunched(ms: number): string {
  const audit = readFileSync(join(EXAMPLE, 'var/log/audit/audit.log'), 'utf8');
  return audit
    .replace(/audit\((\d+)\.(\d{3}):/g, (_, s: string, frac: string) => {
      const t = Number(s) * 1000 + Number(frac) + ms;
      return `audit(${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:`;
    })
    .replace(/\b(p?pid)=(\d+)/g, (_, k: string, pid: string) => `${k}=${Number(pid) + 1000}`);
}

/** What clicking a download link saved (the browser's download, made with the page's session cookie). */
async function download(page: Page, link: Locator): Promise<{ name: string; lines: Record<string, unknown>[] }> {
  const [got] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const text = readFileSync(await got.path(), 'utf8');
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { name: got.suggestedFilename(), lines };
}

let demo: RunningDemo | undefined;
let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  await demo?.close();
});

/** Every console error, page error and dialog of the pages opened, by page. */
const seen: PageProblems = { problems: [], dialogs: [] };
const { problems, dialogs } = seen;

test('telemetry is made visible: ESC, C1, bidi overrides, zero-width and lone surrogates as escapes; markup stays text', () => {
  assert.equal(visible('a\u001b[31mred\u001b[0m'), 'a\\x1b[31mred\\x1b[0m');
  assert.equal(visible('x\u009by\u202ez\u200b\ud800'), 'x\\x9by\\u202ez\\u200b\\ud800');
  assert.equal(visible('<script>alert(1)</script>'), '<script>alert(1)</script>');
  assert.equal(visible(undefined), '');
  assert.equal(visible(42), '42');
});

test("a cost's compute: core-hours, GPU-hours beside them, or GPU-hours alone when no core was counted", () => {
  assert.equal(computeHours({ core_hours: 2, price_per_core_hour: 0.05 }), '2 core-hours at 0.05');
  assert.equal(
    computeHours({ core_hours: 2, price_per_core_hour: 0.05, gpu_hours: 1.48, price_per_gpu_hour: 0.5 }),
    '2 core-hours at 0.05 + 1.48 GPU-hours at 0.5',
  );
  assert.equal(
    computeHours({ core_hours: 0, price_per_core_hour: 0.05, gpu_hours: 1.26, price_per_gpu_hour: 0.5 }),
    '1.26 GPU-hours at 0.5',
  );
});

test('times: UTC to the second, coarse ages, and what is not a time shown as text', () => {
  assert.equal(when('2025-03-14T02:10:02.429Z'), '2025-03-14 02:10:02Z');
  assert.equal(when(0), '1970-01-01 00:00:00Z');
  assert.equal(when('not a time\u001b'), 'not a time\\x1b');
  assert.equal(when(null), '');
  const now = Date.parse('2025-03-14T12:00:00Z');
  assert.equal(age(now - 30_000, now), '30s');
  assert.equal(age(now - 20 * 60_000, now), '20m');
  assert.equal(age(now - 5 * 3600_000, now), '5h');
  assert.equal(age(now - 3 * 86400_000, now), '3d');
  assert.equal(age('garbage', now), '');
});

test("paths: a pattern's parameters decoded; another shape, an empty id or a bad escape is no match", () => {
  assert.deepEqual(matchPath('/findings/:id', '/findings/cm-1'), { id: 'cm-1' });
  assert.deepEqual(matchPath('/hosts/:name', '/hosts/web-%3Cb%3E02'), { name: 'web-<b>02' });
  assert.equal(matchPath('/findings/:id', '/findings/cm-1/x'), null);
  assert.equal(matchPath('/findings/:id', '/findings/'), null);
  assert.equal(matchPath('/findings/:id', '/findings/%E0%A4%A'), null);
  assert.equal(matchPath('/cases/:id', '/findings/cm-1'), null);
});

test("export links: the filters the API applies (an unknown state left out, as the queue leaves it), the format, the case's id encoded", () => {
  const filters = {
    severity: 'high,critical',
    state: 'closed',
    host: 'web-<b>01</b>&x=1',
    analytic: 'AN0742',
    q: 'x',
  };
  assert.equal(
    findingsExportHref(filters, 'ocsf'),
    '/api/v1/findings/export?severity=high%2Ccritical&state=closed&host=web-%3Cb%3E01%3C%2Fb%3E%26x%3D1&analytic=AN0742&format=ocsf',
  );
  // an earlier state name (a bookmark from before the contract's states) is none of the API's: left out
  assert.equal(
    findingsExportHref({ state: 'resolved', tier: 'L1' }, 'ndjson'),
    '/api/v1/findings/export?format=ndjson',
  );
  assert.equal(findingFilterQuery({ severity: '', state: 'in_progress' }).toString(), '');
  for (const state of ['new', 'triaged', 'escalated', 'contained', 'closed'])
    assert.equal(findingFilterQuery({ state }).toString(), `state=${state}`);
  assert.equal(
    caseExportHref('case/../1?x', 'ocsf-incident'),
    '/api/v1/cases/case%2F..%2F1%3Fx/export?format=ocsf-incident',
  );
});

test("a finding's host: a cloud account or a cluster is no host (its hosts and nodes are); a node's or a Docker host's is", () => {
  const cloud = hostScope({
    host: 'aws:123456789012',
    facts: { provider: 'aws', account: '123456789012', hosts: ['web-01', 'web-01', 7, ''] as never },
  });
  assert.deepEqual(cloud, {
    kind: 'cloud',
    name: 'aws:123456789012',
    provider: 'aws',
    account: '123456789012',
    hosts: ['web-01'],
  });
  assert.equal(hostScope({ host: 'gcp', facts: { provider: 'gcp' } }).kind, 'cloud', 'a launch with no account');
  assert.deepEqual(
    hostScope({ host: 'prod', facts: { cluster: 'prod', runtime: 'kubernetes', nodes: ['worker-1', 'worker-2'] } }),
    { kind: 'cluster', name: 'prod', nodes: ['worker-1', 'worker-2'] },
  );
  // one node holds the workload: the finding's host is that node
  assert.equal(hostScope({ host: 'worker-2', facts: { cluster: 'prod', nodes: ['worker-2'] } }).kind, 'host');
  assert.equal(hostScope({ host: 'prod', facts: { cluster: 'prod', nodes: ['prod'] } }).kind, 'host');
  // a Docker workload's cluster is its host's name
  assert.equal(hostScope({ host: 'web-01', facts: { cluster: 'web-01', runtime: 'docker' } }).kind, 'host');
  assert.deepEqual(hostScope({ host: 'web-01', facts: { executable: '/tmp/x' } }), { kind: 'host', name: 'web-01' });
  assert.equal(hostScope({ host: 'aws:1', facts: { provider: 'aws', account: '2' } }).kind, 'host', 'another account');
});

test('process forest: children under their parent, an outside parent a root, a cycle shown flat', () => {
  const forest = processForest([
    { entity: 'p:2', parent: 'p:1' },
    { entity: 'p:1', parent: 'p:0' },
    { entity: 'p:3', parent: 'p:1' },
    { entity: 'p:9' },
  ]);
  assert.deepEqual(
    forest.map((n) => [n.p.entity, n.children.map((c) => c.p.entity)]),
    [
      ['p:1', ['p:2', 'p:3']],
      ['p:9', []],
    ],
  );
  const cycle = processForest([
    { entity: 'a', parent: 'b' },
    { entity: 'b', parent: 'a' },
  ]);
  assert.deepEqual(
    cycle.map((n) => n.p.entity),
    ['a', 'b'],
  );
});

test("an allowlist suggestion's expiry is the form's default, else 90 days on", () => {
  assert.equal(suggestedExpiry('allowlist:\n  - match: {}\n    expires: 2027-03-06'), '2027-03-06');
  assert.equal(suggestedExpiry(undefined, Date.parse('2025-01-01T00:00:00Z')), '2025-04-01');
});

test('allowlist entries a case suggests: one per executable and host, analytics gathered, the latest expiry', () => {
  const suggestion = (d: string) => ({ allowlist_suggestion: `allowlist:\n    expires: ${d}` });
  const got = entryCandidates([
    { host: 'web-01', analytic: 'AN0742', facts: { executable: '/tmp/x' }, triage: suggestion('2027-01-01') },
    { host: 'web-01', analytic: 'AN0745', facts: { executable: '/tmp/x' }, triage: suggestion('2027-02-01') },
    { host: 'web-02', analytic: 'AN0742', facts: { executable: '/tmp/x' } },
    { host: 'acct', analytic: 'AN0744', facts: {} },
  ]);
  assert.deepEqual(
    got.map((c) => [c.match, c.analytics, c.expires]),
    [
      [{ executable: '/tmp/x', host: 'web-01' }, ['AN0742', 'AN0745'], '2027-02-01'],
      [{ executable: '/tmp/x', host: 'web-02' }, ['AN0742'], undefined],
      [{ host: 'acct' }, ['AN0744'], undefined],
    ],
  );
});

test('the console in real Chromium: queue, finding, case work, reopen on recurrence, inert hostile text, viewer', async (t) => {
  if (chromiumSkipReason) {
    t.skip(chromiumSkipReason);
    return;
  }
  ensureConsoleBuild();
  demo = await startDemo({ examples: [EXAMPLE], policy: defaultPolicy(), host: '127.0.0.1', port: 0, log: () => {} });
  const { store, url } = demo.running;
  const caseOf = await until('the kinsing-like case', async () => (await store.cases.list()).items[0]);
  const analyst = (await store.tokens.create({ name: 'ana', role: 'analyst', actor: 'test' })).secret;
  const viewer = (await store.tokens.create({ name: 'vic', role: 'viewer', actor: 'test' })).secret;
  const sensor = (await store.tokens.create({ name: 'sensor-2', role: 'sensor', actor: 'test' })).secret;
  const ingest = (name: string, body: string) =>
    fetch(new URL(`/api/v1/events?name=${name}&host=web-01`, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${sensor}`, 'content-type': 'application/octet-stream' },
      body,
    });

  browser = await launchChromium();
  const analystContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await newPage(analystContext, 'analyst', seen);

  // log in; the case is in the queue
  await logIn(page, url, analyst);
  const caseRow = page.locator(`tr[data-id="${caseOf.id}"]`);
  await caseRow.waitFor();
  assert.match(await textOf(caseRow), /kdevtmpfsi/);
  assert.match(await textOf(caseRow), /high/);

  // keys: g f to the findings queue, j/k, Enter opens the selected finding
  await page.keyboard.press('g');
  await page.keyboard.press('f');
  await page.getByRole('heading', { name: 'Findings' }).waitFor();
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor({ state: 'detached' });
  await page.keyboard.press('/');
  assert.equal(
    await page.evaluate('document.activeElement && document.activeElement.name'),
    'q',
    '/ focuses the filter',
  );
  await page.keyboard.press('Escape');
  await page.locator('tr[data-id]').first().waitFor();
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/findings\/cm-/);
  await page.getByRole('heading', { name: 'Decision' }).waitFor();
  const kinsingFinding = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
  // its case, named in the crumbs (GET /api/v1/findings/{id}/case)
  assert.equal(
    await page.locator('.crumbs a[href^="/cases/"]').getAttribute('href'),
    `/cases/${encodeURIComponent(caseOf.id)}`,
  );
  const findingText = await textOf(page.locator('main'));
  for (const part of ['Tier 2', 'The four questions', 'Process tree', 'Containment (linux)', 'Cost', 'Gaps'])
    assert.ok(findingText.includes(part), `the finding page shows ${part}`);
  assert.match(findingText, /kill -STOP 4130/, 'containment commands');
  assert.match(findingText, /executable: "\/tmp\/kdevtmpfsi"/, 'the suggested allowlist entry');
  await page.locator('.cpu-chart canvas').first().waitFor();
  assert.ok((await page.getByRole('button', { name: 'Copy' }).count()) >= 1, 'copy buttons');
  // filters live in the URL: a severity filter that excludes the finding shows nothing
  await page.goto(new URL('/findings?severity=low', url).href);
  await page.getByText('Nothing here with these filters.').waitFor();
  // the queue's export takes its filters (the server's: severity here; a tier narrows only the page, and it says so)
  await page.goto(new URL('/findings?severity=high&tier=Tier+2', url).href);
  await page.locator('tr[data-id]').first().waitFor();
  assert.match(await textOf(page.locator('.exports')), /not by tier/);
  const highLines = await download(page, page.locator('.exports').getByRole('link', { name: 'NDJSON' }));
  assert.equal(highLines.name, 'coalmine-findings.ndjson');
  assert.ok(
    highLines.lines.some((f) => f.id === kinsingFinding),
    'the kinsing-like finding is exported',
  );
  assert.ok(
    highLines.lines.every((f) => f.severity === 'high'),
    'only what the severity filter selects',
  );
  const detections = await download(page, page.locator('.exports').getByRole('link', { name: 'OCSF' }));
  assert.equal(detections.lines.length, highLines.lines.length);
  assert.ok(detections.lines.every((d) => d.class_uid === 2004));

  // the case: tick a step, add a note, triaged, contained (escalated skipped), closed as a true positive
  await page.goto(new URL(`/cases/${caseOf.id}`, url).href);
  await page.getByRole('heading', { name: 'Checklist' }).waitFor();
  const step = page.locator('input[type="checkbox"][data-step="question:legitimate-process"]');
  await step.click();
  await page.locator('.checklist li', { hasText: 'legitimate business process' }).getByText('— ana').waitFor();
  await page.getByLabel('New note').fill('pool contact confirmed at the firewall <b>not bold</b>');
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.locator('.note-text', { hasText: 'pool contact confirmed' }).waitFor();
  assert.equal(await page.locator('.notes b').count(), 0, 'a note is text');
  const moves = async () => page.locator('.transitions .moves button').allInnerTexts();
  assert.deepEqual(await moves(), ['Triaged', 'Escalated', 'Contained']);
  await page.getByRole('button', { name: 'Triaged' }).click();
  await until('triaged', async () => ((await textOf(page.getByTestId('case-state'))) === 'Triaged' ? true : undefined));
  assert.deepEqual(await moves(), ['Escalated', 'Contained'], 'never back to New');
  await page.getByRole('button', { name: 'Contained' }).click();
  await until('contained', async () =>
    (await textOf(page.getByTestId('case-state'))) === 'Contained' ? true : undefined,
  );
  assert.deepEqual(await moves(), [], 'only closing is left');
  await page.getByLabel('Resolution').selectOption('true-positive');
  await page.getByRole('button', { name: 'Close' }).click();
  await until('closed', async () => ((await textOf(page.getByTestId('case-state'))) === 'Closed' ? true : undefined));
  assert.match(await textOf(page.getByTestId('case-resolution')), /true positive/);
  // its exports: the OCSF incident with the analyst's state, and its findings' lines
  const [incident] = (await download(page, page.getByRole('link', { name: 'OCSF incident' }))).lines;
  assert.equal(incident.class_uid, 2005);
  assert.equal(incident.status, 'Resolved');
  assert.equal(incident.verdict, 'True Positive');
  const members = await download(page, page.locator('.exports').getByRole('link', { name: 'NDJSON' }));
  assert.equal(members.name, `${caseOf.id}.ndjson.ndjson`);
  assert.deepEqual(
    members.lines.map((f) => f.id),
    [kinsingFinding],
  );
  const stored = await store.cases.get(caseOf.id);
  assert.equal(stored?.state, 'closed');
  assert.equal(stored?.resolution, 'true-positive');
  assert.equal(stored?.notes.length, 1);
  assert.ok(stored?.checklist.some((s) => s.id === 'question:legitimate-process' && s.done_by === 'ana'));
  const trail = await textOf(page.locator('table.audit'));
  for (const action of ['tick', 'note', 'transition', 'close'])
    assert.match(trail, new RegExp(action), `audit shows ${action}`);
  // the cases queue filtered by state: the closed case is there, and not among the triaged
  await page.goto(new URL('/cases', url).href);
  await page.getByLabel('state', { exact: true }).selectOption('closed');
  await page.waitForURL(/state=closed/);
  await caseRow.waitFor();
  assert.match(await textOf(caseRow), /closed \(true-positive\)/);
  await page.getByLabel('state', { exact: true }).selectOption('triaged');
  await page.waitForURL(/state=triaged/);
  await caseRow.waitFor({ state: 'detached' });
  await page.goto(new URL(`/cases/${caseOf.id}`, url).href);
  await page.getByRole('heading', { name: 'Checklist' }).waitFor();

  // the same executable relaunched after closure reopens the case: the open page shows it live (SSE)
  assert.equal((await ingest('audit-later', relaunched(6 * 3600_000))).status, 202);
  await until(
    'the case reopened on the open page, without a reload',
    async () => ((await textOf(page.getByTestId('case-state'))) === 'New' ? true : undefined),
    30_000,
  );
  assert.match(await textOf(page.locator('.state-line')), /reopened ×1/);

  // a new finding appears in the open queue live, marked new; its hostile command line is inert text
  await page.getByRole('link', { name: 'Findings', exact: true }).click();
  await page.getByRole('heading', { name: 'Findings' }).waitFor();
  assert.equal((await ingest('hostile.ndjson', readFileSync(HOSTILE, 'utf8'))).status, 202);
  const hostileRow = page.locator('tr.fresh', { hasText: 'web-<b>02</b>' });
  await hostileRow.waitFor({ timeout: 30_000 });
  assert.equal(await hostileRow.locator('.badge').count(), 1);
  await hostileRow.click();
  await page.getByRole('heading', { name: 'Process tree' }).waitFor();
  const text = await textOf(page.locator('main'));
  assert.ok(text.includes("--pass '<script>alert(1)</script>' \\x1b[31mRED\\x1b[0m"), 'markup and ESC shown as text');
  assert.ok(text.includes('web-<b>02</b>'), 'the host as text');
  assert.ok(!text.includes('\u001b'), 'no raw ESC');
  const elements = {
    scripts: await page.locator('script').count(),
    images: await page.locator('img').count(),
    bold: await page.locator('main b').count(),
  };
  assert.deepEqual(elements, { scripts: 1, images: 0, bold: 0 });

  // its case closed as benign creates the allowlist entry it suggests (owner, reason, expiry)
  const hostileId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
  const hostileCase = await until("the hostile finding's case", async () =>
    (await store.cases.list()).items.find((c) => c.findings.includes(hostileId)),
  );
  await page.goto(new URL(`/cases/${encodeURIComponent(hostileCase.id)}`, url).href);
  await page.getByLabel('Resolution').selectOption('benign');
  await page.getByLabel('Owner', { exact: true }).fill('research team');
  await page.getByLabel('Reason', { exact: true }).fill('sanctioned benchmark, ticket OPS-1');
  await page.getByLabel('Expires', { exact: true }).fill('2099-01-31');
  await page.getByRole('button', { name: 'Close' }).click();
  await until('closed as benign', async () =>
    (await textOf(page.getByTestId('case-resolution'))).includes('benign') ? true : undefined,
  );
  // the case holds the kinsing-like findings too (the same pool): one entry per executable and host
  const entries = (await store.allowlist.current())
    .map((e) => ({ ...e.match, owner: e.owner, expires: e.expires, analytics: e.analytics }))
    .sort((a, b) => String(a.executable).localeCompare(String(b.executable)));
  const common = { owner: 'research team', expires: '2099-01-31', analytics: ['AN0742'] };
  assert.deepEqual(entries, [
    { executable: '/tmp/.x/xmrig', host: 'web-<b>02</b>', ...common },
    { executable: '/tmp/kdevtmpfsi', host: 'web-01', ...common },
  ]);

  // a viewer: the pages without change controls; the API refuses its changes (cookie + CSRF, and Bearer)
  const viewerContext = await browser.newContext();
  const vpage = await newPage(viewerContext, 'viewer', seen);
  await logIn(vpage, url, viewer);
  await vpage.goto(new URL(`/cases/${caseOf.id}`, url).href);
  await vpage.getByRole('heading', { name: 'Checklist' }).waitFor();
  await vpage.getByRole('heading', { name: 'Audit trail' }).waitFor();
  const controls = {
    inputs: await vpage.locator('main input, main textarea, main select').count(),
    buttons: (await vpage.locator('main button').allInnerTexts()).filter((b) => b !== 'show all'),
  };
  assert.deepEqual(controls, { inputs: 0, buttons: [] });
  const csrf = (
    (await (await viewerContext.request.get(new URL('/api/v1/session', url).href)).json()) as {
      csrf_token: string;
    }
  ).csrf_token;
  const changes: Array<[string, unknown]> = [
    [`/api/v1/cases/${caseOf.id}/notes`, { text: 'viewer note' }],
    [`/api/v1/cases/${caseOf.id}/checklist/contain:1`, { done: true }],
    [`/api/v1/cases/${caseOf.id}/transitions`, { to: 'triaged' }],
    ['/api/v1/allowlist', { match: { host: 'web-01' }, owner: 'v', reason: 'v', expires: '2099-01-01' }],
  ];
  for (const [path, body] of changes) {
    const viaCookie = await viewerContext.request.post(new URL(path, url).href, {
      data: body,
      headers: { 'x-csrf-token': csrf, origin: url.origin },
    });
    assert.equal(viaCookie.status(), 403, `cookie ${path}`);
    const viaBearer = await fetch(new URL(path, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(viaBearer.status, 403, `bearer ${path}`);
  }
  assert.equal((await store.cases.get(caseOf.id))?.notes.length, 1, 'nothing the viewer sent was stored');

  // coverage per host with its analytics, the host's page from there, the sensors that sent telemetry
  await page.goto(new URL('/coverage', url).href);
  await page.getByRole('heading', { name: 'Hosts' }).waitFor();
  assert.match(await textOf(page.locator('main')), /AN0742/);
  await page.getByRole('link', { name: 'web-01', exact: true }).click();
  await page.getByRole('heading', { name: 'Processes under watch' }).waitFor();
  assert.match(await textOf(page.locator('main')), /kdevtmpfsi/);
  // a sensor's heartbeat with hostile strings: shown as inert text beside its gaps
  const beat = await fetch(new URL('/api/v1/sensors/self', url), {
    method: 'PUT',
    headers: { authorization: `Bearer ${sensor}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      version: '0.9.0',
      hostname: 'web-02\u202e',
      platform: 'linux',
      kernel: '6.1.0',
      root: false,
      interval_s: 60,
      gaps: [{ kind: 'fd_unreadable', count: 12 }],
      cannot_see: ['<img src=x onerror=alert(1)> \u001b[31mno root'],
    }),
  });
  assert.equal(beat.status, 200);
  await page.goto(new URL('/sensors', url).href);
  await page.locator('table.rows').waitFor();
  const sensors = await textOf(page.locator('table.rows'));
  assert.match(sensors, /web-01/);
  assert.ok(sensors.includes('web-02\\u202e'), 'the bidi override shown as an escape');
  assert.ok(sensors.includes('<img src=x onerror=alert(1)> \\x1b[31mno root'), 'markup and ESC shown as text');
  assert.match(sensors, /fd_unreadable × 12/);
  assert.match(sensors, /not root/);
  assert.equal(await page.locator('table.rows img').count(), 0, 'no element from a sensor string');

  // a cloud account's or a cluster's finding: named as text, no link to a host page; its hosts and nodes linked
  const cloudFinding = an0744Finding({ id: 'cm-744-console' }, { hosts: ['web-01'] });
  const clusterFinding = an0745Finding({ id: 'cm-745-console' }, { nodes: ['web-01'] });
  for (const f of [cloudFinding, clusterFinding]) {
    const delivered = await fetch(new URL('/api/v1/findings', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${sensor}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...f, revision: 1 }),
    });
    assert.equal(delivered.status, 201, await delivered.text());
  }
  for (const [f, label, name] of [
    [cloudFinding, 'cloud account', 'aws 123456789012'],
    [clusterFinding, 'cluster', 'prod'],
  ] as const) {
    await page.goto(new URL(`/findings/${f.id}`, url).href);
    await page.getByRole('heading', { name: 'Decision' }).waitFor();
    const facts = page.locator('dl.facts-line');
    assert.equal((await facts.locator('dt').allInnerTexts())[1], label);
    assert.ok((await textOf(page.getByTestId('finding-scope'))).startsWith(name), `${f.id} names its ${label}`);
    const links = await facts.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(links, ['/hosts/web-01'], `${f.id}: only the host on it is a link`);
  }
  await page.locator('dl.facts-line').getByRole('link', { name: 'web-01' }).click();
  await page.getByRole('heading', { name: 'Processes under watch' }).waitFor();

  // a finding's case is found however many cases the store holds: 501 worse ones listed before it
  const holding = (await store.cases.ofFinding(kinsingFinding)).map((c) => c.id);
  assert.equal(holding.length, 1);
  for (let n = 0; n < 501; n++)
    await store.cases.create(
      {
        id: `case-filler-${n}`,
        title: `filler ${n}`,
        severity: 'critical',
        tier: 'Tier 2',
        status: 'new',
        hosts: ['filler'],
        entities: [],
        campaign: { destinations: [], executables: [], hashes: [] },
        findings: [`cm-filler-${n}`],
        first_seen: '2025-03-14T02:00:00.000Z',
        last_seen: '2025-03-14T02:00:00.000Z',
        core_hours: 0,
        cost: null,
        currency: null,
      },
      { actor: 'test' },
    );
  await page.goto(new URL(`/findings/${encodeURIComponent(kinsingFinding)}`, url).href);
  await page.getByRole('heading', { name: 'Decision' }).waitFor();
  await page.locator('.crumbs a[href^="/cases/"]').waitFor();
  assert.equal(
    await page.locator('.crumbs a[href^="/cases/"]').getAttribute('href'),
    `/cases/${encodeURIComponent(holding[0])}`,
    'the case past the first 500 of the list',
  );

  assert.deepEqual(dialogs, [], 'no dialog opened');
  assert.deepEqual(problems, [], 'no console errors');
});
