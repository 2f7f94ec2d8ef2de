import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { matchRules, type RuleMatch, windowsRecordFilter } from '../signals/rules.js';
import { loadRules } from '../signals/sigma/index.js';
import {
  countsOf,
  cutLineCase,
  fileInput,
  fixturesClaimedBy,
  memoryInput,
  readAll,
  runSourceContract,
  TEST_CONTEXT,
} from './contract.js';
import { sniffSource } from './index.js';
import { syslogHead, sysmonLinux } from './sysmon-linux.js';

const good = fileInput('test/fixtures/sysmon-linux/good.log');
const bad = fileInput('test/fixtures/sysmon-linux/bad.log');
const goodLines = good.head.toString('utf8').split('\n');

runSourceContract({
  source: sysmonLinux,
  good,
  bad,
  // the file copied while the miner's start was written: the line ends inside its CommandLine
  cut: cutLineCase(good, 12, '<Data Name="CommandLine">', '/tmp/.x/cutminer --url stratum+tcp://192.0.2.99'),
});

/** The good fixture's Sysmon events without their syslog frame, one `<Event>` per line (sysmonLogView). */
const bareText = goodLines
  .filter((l) => l.includes('<Event>'))
  .map((l) => l.slice(l.indexOf('<Event>')))
  .join('\n');

/** The good fixture as `journalctl -o json` prints it: every line's message in MESSAGE. */
const journalText = goodLines
  .filter((l) => l !== '')
  .map((l, i) => {
    const message = l.slice(l.indexOf(': ') + 2);
    const ident = l.includes(' sysmon: ') ? 'sysmon' : 'systemd';
    return JSON.stringify({
      __REALTIME_TIMESTAMP: `${1796637480000000 + i}`,
      _HOSTNAME: 'web-03',
      SYSLOG_IDENTIFIER: ident,
      MESSAGE: message,
    });
  })
  .join('\n');

const byLine = (events: CoalEvent[], line: number) => {
  const e = events.find((x) => x.coalmine.ref.line === line);
  assert.ok(e, `no event from line ${line}`);
  return e;
};

test('the miner story in /var/log/syslog: each Sysmon event mapped as Windows Sysmon is, on a linux host', async () => {
  const { events, issues } = await readAll(sysmonLinux, good);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.dataset, e.event.action, e.process?.name]),
    [
      [4, 'sysmon-linux.sysmon.1', 'exec', 'logrotate'],
      [5, 'sysmon-linux.sysmon.5', 'exit', 'logrotate'],
      [7, 'sysmon-linux.sysmon.1', 'exec', 'dash'],
      [8, 'sysmon-linux.sysmon.1', 'exec', 'curl'],
      [9, 'sysmon-linux.sysmon.3', 'connect', 'curl'],
      [10, 'sysmon-linux.sysmon.11', 'file-write', 'curl'],
      [11, 'sysmon-linux.sysmon.5', 'exit', 'curl'],
      [12, 'sysmon-linux.sysmon.1', 'exec', 'chmod'],
      [13, 'sysmon-linux.sysmon.1', 'exec', 'xmrig'],
      [14, 'sysmon-linux.sysmon.3', 'connect', 'xmrig'],
      [15, 'sysmon-linux.sysmon.1', 'exec', 'apt-get'],
      [16, 'sysmon-linux.sysmon.3', 'connect', 'http'],
    ],
  );
  for (const e of events) assert.deepEqual(e.host, { name: 'web-03', os: { platform: 'linux' } });

  const miner = byLine(events, 13);
  assert.equal(miner['@timestamp'], '2026-12-07T10:01:13.123Z'); // UtcTime, as for Windows Sysmon
  assert.deepEqual(
    [miner.process?.pid, miner.process?.entity_id, miner.process?.executable, miner.process?.user?.name],
    [4203, '8f3c2a10-6f2e-6937-106b-a1b2c3d40000', '/tmp/.x/xmrig', 'www-data'],
  );
  assert.match(miner.process?.command_line ?? '', /^\/tmp\/\.x\/xmrig -o stratum\+tcp:\/\/203\.0\.113\.77:3333 -u 44A/);
  assert.equal(miner.process?.working_directory, '/tmp');
  assert.deepEqual(miner.process?.parent, {
    entity_id: '8f3c2a10-6f2e-6937-1068-a1b2c3d40000',
    pid: 4200,
    executable: '/bin/dash',
    name: 'dash',
    command_line: miner.process?.parent?.command_line,
  });
  assert.match(miner.process?.parent?.command_line ?? '', /^\/bin\/sh -c cd \/tmp && curl -fsSL /);
  // the record as read, Sysmon's names kept for the Sigma rules
  assert.equal(miner.original.Provider, 'Linux-Sysmon');
  assert.equal(miner.original.Channel, 'Linux-Sysmon/Operational');
  assert.equal(miner.original.UserID, '0');
  assert.equal((miner.original.EventData as Record<string, string>).ParentUser, 'www-data');

  const shell = byLine(events, 7);
  assert.deepEqual([shell.process?.user?.name, shell.process?.parent?.executable], ['www-data', '/usr/sbin/apache2']);

  const pool = byLine(events, 14);
  assert.deepEqual(pool.destination, { ip: '203.0.113.77', port: 3333 });
  assert.deepEqual(pool.source, { ip: '10.0.4.13', port: 40122 });
  assert.deepEqual(pool.network, { direction: 'outbound', transport: 'tcp' });
  assert.equal(pool.process?.entity_id, miner.process?.entity_id);

  const drop = byLine(events, 10);
  assert.deepEqual(drop.file, { path: '/tmp/.x/xmrig', name: 'xmrig' });
  assert.equal(drop.process?.pid, 4201);
});

test('other programs’ lines and Sysmon records no analytic reads are counted unused, not issues', async () => {
  // systemd and CRON lines, Sysmon 4 (service state), 16 (config change) and 23 (file delete)
  assert.deepEqual(await countsOf(sysmonLinux, good), { events: 12, issues: 0, unused: 5 });
  // a loaded rule that reads them keeps them as log-records
  const { events } = await readAll(sysmonLinux, good, { ...TEST_CONTEXT, keepWindowsRecord: () => true });
  assert.deepEqual(
    events.filter((e) => e.event.action === 'log-record').map((e) => [e.coalmine.ref.line, e.event.dataset]),
    [
      [2, 'sysmon-linux.linux-sysmon.4'],
      [3, 'sysmon-linux.linux-sysmon.16'],
      [17, 'sysmon-linux.linux-sysmon.23'],
    ],
  );
});

test('bad lines are issues naming their line and reason; the events around them are read', async () => {
  const { events, issues } = await readAll(sysmonLinux, bad);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action]),
    [
      [1, 'exec'],
      [12, 'exit'],
      [13, 'connect'],
    ],
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'SYSMON_LINUX_MALFORMED'],
      [3, 'SYSMON_LINUX_BAD_EVENT'],
      [4, 'SYSMON_LINUX_NOT_SYSLOG'],
      [5, 'SYSMON_LINUX_TRUNCATED'],
      [6, 'SYSMON_LINUX_BAD_EVENT'],
      [7, 'SYSMON_LINUX_MALFORMED'],
      [8, 'SYSMON_LINUX_BAD_RECORD'],
      [9, 'SYSMON_LINUX_BAD_JSON'],
      [10, 'SYSMON_LINUX_BAD_EVENT'],
    ],
  );
  for (const i of issues) assert.equal(i.file, bad.name);
  assert.match(issues[0].reason, /<\/Sytem> does not match/);
  assert.match(issues[4].reason, /Microsoft-Windows-Sysmon" is not Linux-Sysmon/);
  assert.match(issues[5].reason, /DTD/);
  assert.equal((await countsOf(sysmonLinux, bad)).unused, 1); // the CRON line
});

test('bare <Event> lines and journald JSON give the same events as the syslog file', async () => {
  const strip = (events: CoalEvent[]) =>
    events.map((e) => JSON.stringify({ ...e, coalmine: { ...e.coalmine, ref: undefined } }));
  const fromSyslog = strip((await readAll(sysmonLinux, good)).events);
  for (const [name, text] of [
    ['sysmon.xml.log', bareText],
    ['journal.json', journalText],
  ]) {
    const input = memoryInput(name, text);
    assert.equal(sniffSource(input)?.name, 'sysmon-linux', name);
    const { events, issues } = await readAll(sysmonLinux, input);
    assert.deepEqual(issues, [], name);
    assert.deepEqual(strip(events), fromSyslog, name);
  }
});

test('a journald MESSAGE given as bytes (not valid UTF-8 somewhere) is read', async () => {
  const line = goodLines[12];
  const xml = line.slice(line.indexOf('<Event>'));
  const bytes = [...Buffer.from(xml.replace('/tmp</Data>', '/tmp\u00e9</Data>'))];
  const { events, issues } = await readAll(sysmonLinux, memoryInput('j.json', JSON.stringify({ MESSAGE: bytes })));
  assert.deepEqual(issues, []);
  assert.equal(events[0].process?.working_directory, '/tmp\u00e9');
});

test('syslog frames: BSD time, RFC 3339 time, a <PRI> and RFC 5424 all give the host; other shapes none', async () => {
  const xml = goodLines[12].slice(goodLines[12].indexOf('<Event>'));
  assert.deepEqual(syslogHead('Dec  7 10:01:13 web-03 sysmon: <Event>'), { host: 'web-03', rest: 22 });
  assert.equal(syslogHead('2026-12-07T10:01:13.152234+00:00 web-03 sysmon[812]: <Event>')?.host, 'web-03');
  assert.equal(syslogHead('<14>Dec 17 10:01:13 web-03 sysmon: x')?.host, 'web-03');
  assert.equal(syslogHead('Dec 07 10:01:13.152234 web-03 sysmon[812]: x')?.host, 'web-03'); // -o short-precise
  assert.equal(syslogHead('<134>1 2026-12-07T10:01:13Z web-03 sysmon 812 - - <Event>')?.host, 'web-03');
  for (const not of ['Dec  7 web-03 sysmon: x', 'December 7 10:01:13 h x', '<Event>', '2026-12-07 10:01:13 h', ''])
    assert.equal(syslogHead(not), undefined, not);
  const framed = [
    `2026-12-07T10:01:13.152234+00:00 web-03 sysmon[812]: ${xml}`,
    `<134>1 2026-12-07T10:01:13Z web-03 sysmon 812 - - ${xml}`,
  ].join('\n');
  const { events, issues } = await readAll(sysmonLinux, memoryInput('f.log', framed));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.process?.name, e.host?.name]),
    [
      ['xmrig', 'web-03'],
      ['xmrig', 'web-03'],
    ],
  );
});

test('sniff: Sysmon for Linux however framed; not a syslog without Sysmon, not the other formats’ fixtures', () => {
  assert.equal(sniffSource(good)?.name, 'sysmon-linux');
  assert.equal(sniffSource(bad)?.name, 'sysmon-linux');
  // Sysmon events after other programs' lines, as in a busy /var/log/syslog
  const busy = `${'Dec  7 09:00:00 web-03 kernel: [ 12.5] eth0: link up\n'.repeat(200)}${goodLines[12]}\n`;
  assert.equal(sniffSource(memoryInput('syslog', busy))?.name, 'sysmon-linux');
  assert.equal(sysmonLinux.sniff(goodLines[0], { name: 'syslog' }), 0);
  // a Windows export is evtx-xml's: its events are namespaced and not Linux-Sysmon
  assert.equal(sniffSource(fileInput('test/fixtures/evtx-xml/good.xml'))?.name, 'evtx-xml');
  assert.deepEqual(fixturesClaimedBy(sysmonLinux), []);
});

const LINUX_EXEC = '{ product: linux, category: process_creation }';

test('SigmaHQ-style Linux rules match by Sysmon’s own field names; Windows rules do not read these records', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-linux-rules-'));
  try {
    const rule = (id: string, logsource: string, selection: string) =>
      [
        `title: fixture rule ${id}`,
        `id: 00000000-0000-4000-8000-00000000000${id}`,
        'status: test',
        `logsource: ${logsource}`,
        `detection: { selection: ${selection}, condition: selection }`,
        'level: medium',
        '',
      ].join('\n');
    writeFileSync(
      join(dir, 'rules.yml'),
      [
        rule('1', LINUX_EXEC, `{ 'Image|startswith': '/tmp/', 'ParentImage|endswith': '/dash' }`),
        rule('2', LINUX_EXEC, `{ 'CommandLine|contains': 'stratum+tcp://', User: www-data }`),
        rule('3', '{ product: linux, category: network_connection }', `{ DestinationPort: 3333, Initiated: 'true' }`),
        rule(
          '4',
          '{ product: linux, category: file_event }',
          `{ 'Image|endswith': '/curl', 'TargetFilename|startswith': '/tmp/' }`,
        ),
        // Windows rules of the same shapes: Sysmon's ids and names, but not Windows records
        rule('5', '{ product: windows, category: process_creation }', `{ 'CommandLine|contains': 'stratum+tcp://' }`),
        rule('6', '{ product: windows }', `{ EventID: 4, State: Started }`),
      ].join('---\n'),
    );
    const set = await loadRules([dir]);
    assert.deepEqual([set.errors, set.unsupported], [[], []]);
    const context = { ...TEST_CONTEXT, keepWindowsRecord: windowsRecordFilter(set) };
    const seen: string[] = [];
    for await (const batch of sysmonLinux.read(good, context))
      for (const e of batch.events) {
        const m: RuleMatch[] = [];
        matchRules(set, e, m);
        for (const x of m) seen.push(`${e.coalmine.ref.line} ${x.id.slice(-1)}`);
      }
    // 7: the shell's command line holds the pool URL; 13: the miner from /tmp; 14: the pool port; 10: the drop
    assert.deepEqual(seen, ['7 2', '10 4', '13 1', '13 2', '14 3']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an oversized event is reported by line and the next one is read', async () => {
  const one = goodLines[12];
  const huge = one.replace(
    '<Data Name="CurrentDirectory">',
    `<Data Name="Pad">${'x'.repeat(80 * 1024)}</Data><Data Name="CurrentDirectory">`,
  );
  const { events, issues } = await readAll(sysmonLinux, memoryInput('h.log', `${huge}\n${one}\n`));
  assert.deepEqual(
    issues.map((i) => [i.code, i.line]),
    [['LINE_TOO_LONG', 1]],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [2],
  );
});

test('hostile events never throw: nesting, entity tricks and prototype names stay data', async () => {
  const one = goodLines[12];
  const lines = [
    one.replace('<EventData>', `<EventData>${'<a>'.repeat(100)}${'</a>'.repeat(100)}`),
    one.replace(
      '<Data Name="User">www-data</Data>',
      '<Data Name="__proto__">x</Data><Data Name="User">&#0;&#xD800;&amp;</Data>',
    ),
    `Dec  7 10:01:13 web-03 sysmon: <Event>${'<'.repeat(5000)}</Event>`,
    goodLines[1].slice(0, 300),
  ];
  const { events, issues } = await readAll(sysmonLinux, memoryInput('x.log', lines.join('\n')));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [1, 'SYSMON_LINUX_MALFORMED'],
      [3, 'SYSMON_LINUX_MALFORMED'],
      [4, 'SYSMON_LINUX_TRUNCATED'],
    ],
  );
  assert.equal(events.length, 1);
  assert.equal(events[0].process?.user?.name, '&#0;&#xD800;&');
  assert.equal(Object.getPrototypeOf(events[0].original.EventData), Object.prototype);
});
