/**
 * End to end: the real CLI (bin/coalmine.js) as a user runs it, on the bundled example and on our
 * scenario fixtures, including hostile input. Asserts on stdout/stderr/exit code only.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ndjsonFindings, runCli } from '../support/cli.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');
const BENIGN = join(import.meta.dirname, '..', 'fixtures', 'scenarios', 'benign-heavy');
const work = mkdtempSync(join(tmpdir(), 'coalmine-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));

const cli = runCli;
const findings = ndjsonFindings;

test('the demo finds one high AN0742 finding whose evidence names each step of the intrusion', () => {
  const r = cli(['hunt', EXAMPLE, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  const all = findings(r.stdout);
  const high = all.filter((f) => f.severity === 'high');
  assert.equal(high.length, 1, r.stdout);
  const f = high[0];
  assert.equal(f.analytic, 'AN0742');
  assert.deepEqual(f.attack, ['T1496.001']);
  assert.equal(f.host, 'web-01');
  assert.equal(f.facts.executable, '/tmp/kdevtmpfsi');
  assert.equal(f.facts.pid, 4130);
  assert.equal(f.suppressed_by, null);
  assert.deepEqual(f.gaps, []);
  const kinds = new Set(f.evidence.map((e) => e.kind));
  for (const k of [
    'dropper',
    'competitor-kill',
    'persistence',
    'miner-process',
    'masquerade',
    'pool-contact',
    'sustained-cpu',
  ])
    assert.ok(kinds.has(k as never), `evidence lacks ${k}: ${[...kinds].join(', ')}`);
  for (const e of f.evidence) assert.match(e.source, /^.+:\d+$/);
  assert.ok(
    f.evidence.some((e) => e.source.endsWith('var/spool/cron/crontabs/redis:5')),
    'cites the cron line',
  );
  assert.match(r.stderr, /findings: high 1/);
  // the benign full-core reindex job on the same host is not a finding
  assert.ok(!all.some((x) => String(x.facts.command_line ?? '').includes('reindex.py')));
});

test('the same intrusion without CPU telemetry is graded lower and names the gap', () => {
  const dir = join(work, 'no-cpu');
  cpSync(EXAMPLE, dir, { recursive: true });
  rmSync(join(dir, 'var', 'log', 'metrics'), { recursive: true });
  const r = cli(['hunt', dir, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  const f = findings(r.stdout).find((x) => x.facts.executable === '/tmp/kdevtmpfsi');
  assert.ok(f, r.stdout);
  assert.equal(f.severity, 'medium');
  assert.match(f.gaps.join('\n'), /per-process CPU telemetry missing for web-01/);
});

test('benign heavy work raises nothing; the allowlisted research job is reported as suppressed', () => {
  const r = cli(['hunt', BENIGN, '--format', 'ndjson', '--policy', `${BENIGN}-policy.yaml`, '--fail-on', 'low']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const all = findings(r.stdout);
  assert.equal(all.length, 1, r.stdout);
  assert.equal(all[0].host, 'lab-01');
  assert.ok(all[0].suppressed_by);
  assert.equal(all[0].suppressed_by.owner, 'research-computing@example.org');
  assert.match(all[0].suppressed_by.list, /benign-heavy-policy\.yaml:\d+$/);
  assert.match(r.stderr, /findings: none; suppressed 1/);
});

test('--fail-on high exits 1 when the demo finds a high finding', () => {
  assert.equal(cli(['hunt', EXAMPLE, '--format', 'ndjson', '--fail-on', 'high']).code, 1);
});

test('the same input gives the same bytes', () => {
  const a = cli(['hunt', EXAMPLE, '--format', 'ndjson', '--no-summary']);
  const b = cli(['hunt', EXAMPLE, '--format', 'ndjson', '--no-summary']);
  assert.equal(a.stdout, b.stdout);
  assert.ok(a.stdout.length > 0);
});

test('bad input is reported with file:line, counted, and good records around it are still read', () => {
  const dir = join(work, 'hostile');
  cpSync(EXAMPLE, dir, { recursive: true });
  const audit = join(dir, 'var', 'log', 'audit', 'audit.log');
  const text = readFileSync(audit, 'utf8');
  const lines = text.split('\n');
  // truncated record, garbage and a huge line in the middle of the log
  lines.splice(
    10,
    0,
    'type=SYSCALL msg=audit(1741918200.1',
    '\u0000\u0001binary\u00ff garbage',
    'x'.repeat(50 * 1024 * 1024),
  );
  writeFileSync(audit, lines.join('\n'));
  // a duplicate copy of the log (rotated file that overlaps), a binary file, a wrong-format file
  writeFileSync(join(dir, 'var', 'log', 'audit', 'audit.log.1'), text);
  writeFileSync(
    join(dir, 'var', 'log', 'core.bin'),
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
  );
  writeFileSync(join(dir, 'var', 'log', 'notes.txt'), 'meeting notes\nnothing to see here\n');
  // metrics out of order within the allowed lateness: each pair of rows swapped
  const csv = join(dir, 'var', 'log', 'metrics', 'cpu.csv');
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  for (let i = 1; i + 1 < rows.length; i += 2) [rows[i], rows[i + 1]] = [rows[i + 1], rows[i]];
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const r = cli(['hunt', dir, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /bad input: \d+/);
  assert.match(r.stderr, /audit\.log:\d+: LINE_TOO_LONG/);
  assert.match(r.stderr, /audit\.log:\d+: AUDITD_/);
  assert.match(r.stderr, /core\.bin:1: SOURCE_UNKNOWN_FORMAT/);
  assert.match(r.stderr, /notes\.txt:1: SOURCE_UNKNOWN_FORMAT/);
  const high = findings(r.stdout).filter((f) => f.severity === 'high');
  assert.equal(high.length, 1, 'the intrusion is still found, once');
  assert.equal(high[0].facts.executable, '/tmp/kdevtmpfsi');
});

test('OCSF output is a Detection Finding per line', () => {
  const r = cli(['hunt', EXAMPLE, '--format', 'ocsf', '--no-summary']);
  const first = JSON.parse(r.stdout.split('\n')[0]) as Record<string, unknown>;
  assert.equal(first.class_uid, 2004);
  assert.equal(first.type_uid, 200401);
  assert.equal(first.severity_id, 4);
});

test('the table output makes hostile strings inert', () => {
  const evil = `{"@timestamp":"2025-03-14T02:10:00Z","event":{"kind":"event","category":["process"],"action":"exec","dataset":"x"},"host":{"name":"h\\u001b[31m"},"process":{"pid":7,"name":"xmrig","executable":"/tmp/xmrig","command_line":"xmrig \\u001b]0;pwned\\u0007 -o stratum+tcp://pool.supportxmr.com:3333"},"original":{}}\n`;
  const r = cli(['hunt', '-', '--format', 'table', '--no-summary'], { input: evil });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('\u001b'), 'no raw escape reaches the terminal');
  assert.match(r.stdout, /\\u001b/);
});

test('usage errors exit 2 with a clear message', () => {
  const a = cli(['hunt', EXAMPLE, '--format', 'xml']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /unknown --format "xml"/);
  const policy = join(work, 'bad-policy.yaml');
  writeFileSync(policy, 'thresholds:\n  sustian: 10m\nallowlist:\n  - match: { executable: /x }\n    owner: me\n');
  const b = cli(['hunt', EXAMPLE, '--policy', policy]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /bad-policy\.yaml:2: POLICY_UNKNOWN_KEY: unknown threshold "sustian"/);
  assert.match(b.stderr, /bad-policy\.yaml:4: POLICY_ALLOWLIST_INCOMPLETE/);
});

test('records later than the allowed lateness are counted, not dropped', () => {
  // coalmine's own NDJSON that runs forward is read in file order (one that runs backward is sorted first:
  // test/e2e/ndjson-newest-first.test.ts), so the first samples given again at its end come late
  const file = join(work, 'reversed.ndjson');
  const inOrder = readFileSync(join(EXAMPLE, 'var', 'log', 'metrics', 'cpu.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const rows = [...inOrder, ...inOrder.slice(0, 10)];
  const lines = rows.map((row) => {
    const [timestamp, entity, cpu] = row.split(',');
    const [host, pid] = entity.split('/');
    return JSON.stringify({
      '@timestamp': timestamp,
      event: { kind: 'metric', category: [pid ? 'process' : 'host'], action: 'metric', dataset: 'test.sample' },
      host: { name: host },
      ...(pid ? { process: { pid: Number(pid) } } : {}),
      metrics: { cpu_pct: Number(cpu) },
      original: {},
    });
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = cli(['hunt', file, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /late events \(beyond allowed lateness, processed out of order\): \d+/);
  assert.match(r.stderr, /ENGINE_LATE_EVENT \d+/);
  assert.match(r.stderr, new RegExp(`${rows.length} events`));
  // and what they could not count for is said: each sample came after a newer one of its process or host
  assert.match(
    r.stderr,
    /CPU\/GPU samples too late to count for a sustained run or its cost \(older than one already counted for their process, host, container or instance\): \d+/,
  );
  assert.match(r.stderr, /reversed\.ndjson:\d+: ENGINE_LATE_SAMPLE/);
});

test('every registered format is sniffed from its own fixture by the real CLI', () => {
  const fixtures: Record<string, string> = {
    auditd: 'test/fixtures/auditd/good.log',
    osquery: 'test/fixtures/osquery/good.log',
    ndjson: 'test/fixtures/ndjson/good.ndjson',
    'metrics-csv': 'test/fixtures/metrics-csv/good.csv',
    'evtx-xml': 'test/fixtures/evtx-xml/good.xml',
    'evtx-json': 'test/fixtures/evtx-json/good.jsonl',
    winlogbeat: 'test/fixtures/winlogbeat/good.ndjson',
    typeperf: 'test/fixtures/typeperf/good.csv',
    prometheus: 'test/fixtures/prometheus/query_range.json',
    'docker-stats': 'test/fixtures/docker-stats/good.jsonl',
    'k8s-inventory': 'test/fixtures/k8s-inventory/good.json',
    'docker-inspect': 'test/fixtures/docker-inspect/good.json',
    'docker-events': 'test/fixtures/docker-events/good.jsonl',
    'k8s-audit': 'test/fixtures/k8s-audit/good.log',
    tetragon: 'test/fixtures/tetragon/export.json',
    falco: 'test/fixtures/falco/events.json',
  };
  for (const [format, path] of Object.entries(fixtures)) {
    const r = cli(['hunt', join(import.meta.dirname, '..', '..', path), '--format', 'ndjson', '--host', 'web-01']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`files \\(${format} 1\\)`), `${path} was not read as ${format}: ${r.stderr}`);
  }
});

test("an analytic's threshold overrides in coalmine.yaml reach the CPU evidence it grades, and only its hosts", () => {
  const longer = join(work, 'an0742-sustain.yaml');
  writeFileSync(longer, 'analytics:\n  AN0742:\n    sustain: 1h\n');
  const linux = findings(cli(['hunt', EXAMPLE, '--format', 'ndjson', '--policy', longer]).stdout);
  assert.equal(linux.length, 1);
  assert.ok(
    !linux[0].evidence.some((e) => e.kind === 'sustained-cpu'),
    '35 minutes of mining is not the hour asked for',
  );
  assert.ok(!linux[0].legs.includes('resource'));

  const windowsOnly = join(work, 'an0741-sustain.yaml');
  writeFileSync(windowsOnly, 'analytics:\n  AN0741:\n    sustain: 30m\n');
  const same = findings(cli(['hunt', EXAMPLE, '--format', 'ndjson', '--policy', windowsOnly]).stdout);
  assert.ok(
    same[0].evidence.some((e) => e.kind === 'sustained-cpu'),
    'a Windows override leaves Linux hosts alone',
  );
  assert.equal(same[0].severity, 'high');
});

test('symlinks in a collection are followed as the host resolves them, inside the root; loops and escapes are reported', () => {
  const dir = join(work, 'linked');
  cpSync(EXAMPLE, dir, { recursive: true });
  // the miner's cron line moved out of the spool: the spool entry is now a link (absolute, as on the host)
  const spool = join(dir, 'var', 'spool', 'cron', 'crontabs');
  mkdirSync(join(dir, 'opt', 'x'), { recursive: true });
  renameSync(join(spool, 'redis'), join(dir, 'opt', 'x', 'tab'));
  symlinkSync('/opt/x/tab', join(spool, 'redis'));
  // on the collector's machine this absolute path holds a cron file; in the collection it does not exist
  const outside = join(work, 'collector-only');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'tab'), '* * * * * root /tmp/collector-only-marker\n');
  symlinkSync(join(outside, 'tab'), join(dir, 'etc', 'collector-link'));
  mkdirSync(join(dir, 'etc', 'cron.d'), { recursive: true });
  symlinkSync('../../../../../../opt/x/tab', join(dir, 'etc', 'cron.d', 'climber'));
  symlinkSync('..', join(dir, 'etc', 'cron.d', 'up'));
  symlinkSync('chain-b', join(dir, 'etc', 'cron.d', 'chain-a'));
  symlinkSync('chain-a', join(dir, 'etc', 'cron.d', 'chain-b'));

  const r = cli(['hunt', dir, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  const high = findings(r.stdout).filter((f) => f.severity === 'high');
  assert.equal(high.length, 1, r.stdout);
  assert.ok(
    high[0].evidence.some((e) => e.kind === 'persistence' && e.source.endsWith('var/spool/cron/crontabs/redis:5')),
    'the cron line is cited at the link, where the host reads it',
  );
  assert.ok(!r.stdout.includes('collector-only-marker'), "the collector's own file is never read");
  assert.match(r.stderr, /etc\/collector-link: INPUT_LINK_TARGET_MISSING: link to .*collector-only\/tab/);
  assert.match(r.stderr, /cron\.d\/climber: INPUT_LINK_OUTSIDE_ROOT: .* read as \/opt\/x\/tab inside it/);
  assert.match(r.stderr, /cron\.d\/up: INPUT_LINK_LOOP/);
  assert.match(r.stderr, /cron\.d\/chain-a: INPUT_LINK_LOOP: .*more than 40 links/);
});

test('a symlink given as an argument is read', () => {
  const link = join(work, 'audit-link.log');
  symlinkSync(join(EXAMPLE, 'var', 'log', 'audit', 'audit.log'), link);
  const r = cli(['hunt', link, '--format', 'ndjson', '--host', 'web-01']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 files \(auditd 1\)/);
});

test('when no input can be read, exit 4 names each input and why, and hints --input-format, even with --no-summary', () => {
  const dir = join(work, 'unreadable-only');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'meeting notes\n');
  writeFileSync(join(dir, 'empty.log'), '');
  writeFileSync(join(dir, 'broken.log.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
  const emptyDir = join(work, 'empty-dir');
  mkdirSync(emptyDir, { recursive: true });
  const inputs = [dir, emptyDir, join(work, 'no-such-file')];
  for (const args of [
    ['hunt', ...inputs, '--no-summary'],
    ['coverage', ...inputs],
    ['explain', 'cm-0', ...inputs],
  ]) {
    const r = cli(args);
    const command = args[0];
    assert.equal(r.code, 4, `${command}: ${r.stderr}`);
    assert.match(r.stderr, /no input could be read/);
    assert.match(r.stderr, /notes\.txt:1: SOURCE_UNKNOWN_FORMAT/);
    assert.match(r.stderr, /empty\.log: INPUT_EMPTY/);
    assert.match(r.stderr, /broken\.log\.gz: INPUT_GZIP_CORRUPT: .*at compressed byte \d+/);
    assert.match(r.stderr, /empty-dir: INPUT_NO_FILES/);
    assert.match(r.stderr, /no-such-file: INPUT_UNREADABLE/);
    assert.match(r.stderr, /--input-format NAME \(see coalmine formats\)/);
  }
  // one readable input is enough: the rest are reported, and the run is a normal one
  const some = cli(['hunt', dir, join(EXAMPLE, 'var', 'log', 'audit', 'audit.log'), '--format', 'ndjson']);
  assert.equal(some.code, 0, some.stderr);
  assert.match(some.stderr, /not read: 3 inputs/);
});

test('a .gz with junk after it, or cut short, is read up to the break and the break is reported', () => {
  const text = readFileSync(join(EXAMPLE, 'var', 'log', 'audit', 'audit.log'));
  const gz = gzipSync(text);
  const whole = cli(['hunt', '-', '--format', 'ndjson', '--host', 'web-01'], { input: text.toString('latin1') });
  const events = /(\d+) events/.exec(whole.stderr)?.[1];
  const junk = join(work, 'junk.log.gz');
  writeFileSync(junk, Buffer.concat([gz, Buffer.from('trailing junk')]));
  const a = cli(['hunt', junk, '--format', 'ndjson', '--host', 'web-01']);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, new RegExp(`auditd 1\\), ${events} events`), 'every event before the junk is read');
  assert.match(a.stderr, new RegExp(`junk\\.log\\.gz: INPUT_GZIP_TRAILING_JUNK: .* at compressed byte ${gz.length};`));
  const cut = join(work, 'cut.log.gz');
  writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
  const b = cli(['hunt', cut, '--format', 'ndjson', '--host', 'web-01']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /cut\.log\.gz: INPUT_GZIP_CORRUPT: the gzip data is cut short/);
  assert.ok(Number(/(\d+) events/.exec(b.stderr)?.[1]) > 0, 'what inflated is read');
});

test('an audit log cut inside the miner quoted exe path: reported in the summary, and no plan names the cut path', () => {
  const dir = join(work, 'cut-exe');
  cpSync(EXAMPLE, dir, { recursive: true });
  const audit = join(dir, 'var', 'log', 'audit', 'audit.log');
  const lines = readFileSync(audit, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes('pid=4130') && l.includes('syscall=59'));
  const exe = lines[at].indexOf('exe="/tmp/kdevtmpfsi"');
  assert.ok(at >= 0 && exe > 0, 'the miner exec record');
  // the file ends inside the path, as when it is copied while auditd writes it
  writeFileSync(audit, [...lines.slice(0, at), lines[at].slice(0, exe + 'exe="/tmp/kdevtm'.length)].join('\n'));
  const r = cli(['hunt', dir, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /bad input: \d+ \(.*AUDITD_TRUNCATED 1/);
  assert.match(r.stderr, new RegExp(`audit\\.log:${at + 1}: AUDITD_TRUNCATED: the record ends inside field "exe"`));
  const all = findings(r.stdout);
  assert.ok(
    all.some((f) => f.severity === 'high'),
    'the intrusion is still found from the rest',
  );
  assert.doesNotMatch(r.stdout, /kdevtm(?!pfsi)/, 'the cut path reaches no finding or containment command');
});
