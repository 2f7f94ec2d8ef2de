import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPoolAddress, mayHoldMinerOptions, minerOptions, readMinerOptions } from './miner-args.js';
import { testIntel } from './test-events.js';

const intel = testIntel();
const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

test('pool options say miner whatever the program is called, in a string or an argument vector', () => {
  const cases: Array<[string | string[], string[]]> = [
    [`/usr/bin/systemd-helper -o pool.example:443 -u ${XMR}`, ['-o pool.example:443', '-u <Monero address>']],
    ['/x -o 198.51.100.7:3333 -a rx/0', ['-o 198.51.100.7:3333', '-a rx/0']],
    ['/x --url=pool.example:14444 --user worker1 -p x', ['--url pool.example:14444', '--user worker1', '-p x']],
    ['/x -opool.example:443 --pass x', ['-o pool.example:443', '--pass x']],
    ['/x -o stratum+ssl://pool.example:443', ['-o stratum+ssl://pool.example:443']],
    ['/x stratum+tcp://10.0.0.5:3333', ['stratum+tcp://10.0.0.5:3333']],
    ['/x --donate-level=1 --cpu-max-threads-hint 50', ['--donate-level', '--cpu-max-threads-hint']],
    ['/x --rig-id box1', ['--rig-id']],
    ['/x --coin monero -o pool.example:443', ['--coin', '-o pool.example:443']],
    [
      ['/x', '-o', 'pool.example:443', '-u', XMR],
      ['-o pool.example:443', '-u <Monero address>'],
    ],
    [`/x --algo=rx/0 --wallet ${XMR}`, ['--algo rx/0', '--wallet <Monero address>']],
  ];
  for (const [command, shown] of cases) {
    const found = minerOptions(command, intel);
    assert.equal(found?.conclusive, true, String(command));
    assert.equal(found?.login, true, String(command));
    assert.deepEqual(found?.shown, shown, String(command));
  }
});

test('-o, -u, -p and -a are not enough on their own: other tools use them too', () => {
  for (const command of [
    'ssh -o StrictHostKeyChecking=no -o ConnectTimeout=5 -p 22 deploy@10.0.0.4',
    'curl -sS -o out.tar.gz -u user:secret https://example.com/out.tar.gz',
    'gcc -O2 -o out main.c',
    'mount -o remount,rw /',
    'sudo -u app -p x /opt/app/run',
    'tar -a -cf x.tar.gz dir',
    'rsync -a -e "ssh -o BatchMode=yes" src/ host:/dst/',
  ])
    assert.equal(minerOptions(command, intel), undefined, command);
  // a pool address alone is a hint (a login beside it counts), never conclusive
  const bare = minerOptions('/usr/bin/tool -o 203.0.113.9:8080', intel);
  assert.deepEqual([bare?.conclusive, bare?.login], [false, true]);
  assert.equal(minerOptions('sudo -u app -p x -a rx/0 /opt/app/run', intel), undefined);
});

test('a pool address is a host and a port, with an optional scheme', () => {
  for (const v of [
    'pool.example:443',
    '1.2.3.4:3333',
    'tcp://pool.example:3333',
    'stratum+ssl://x.y:443/path',
    'localhost:3333',
  ])
    assert.equal(isPoolAddress(v), true, v);
  for (const v of [
    'out.json',
    'StrictHostKeyChecking=no',
    'x:0',
    'x:99999',
    ':443',
    '-x:1',
    'a b:1',
    `${'a'.repeat(400)}:1`,
    'C:\\x',
  ])
    assert.equal(isPoolAddress(v), false, v);
});

test('hostile input stays bounded', () => {
  const started = performance.now();
  const found = minerOptions(`/x ${'-o a:1 '.repeat(50_000)}`, intel);
  assert.ok(found && found.shown.length <= 8);
  assert.equal(minerOptions('-'.repeat(100_000), intel), undefined);
  assert.ok(performance.now() - started < 500);
});

test('the gate before the word split never hides a miner option: quoted, any whitespace, any case, argv or line', () => {
  // a seeded generator of lines from option names, values, quotes inside words and every kind of space
  let seed = 15;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const words = [
    ...['-o', '-P', '-u', '-pool', '-wal', '--url', '--pool', '--server', '--user', '--wallet'],
    ...['--donate-level', '--cpu-priority', '--randomx-mode', '--coin', '--nicehash', '--rig-id'],
    ...['-opool.example:443', '--url=pool.example:3333', '--user=w1', '-u=w1'],
    ...['stratum+tcp://198.51.100.7:3333', 'STRATUM+SSL://pool.example:443', 'Stratum2+tcp://p.example:1'],
    ...['pool.example:3333', XMR, 'rx/0', 'x', '-p', '--pass', '-a', '--algo', 'w1'],
    ...['ls', '-la', '--sort=-%cpu', 'a-o', '-', '--', '--ff-only', '-only', '/usr/bin/x'],
  ];
  const spaces = [' ', '  ', '\t', '\n', '\u00a0', '\u2003', '\u3000', '\ufeff'];
  const quoted = (w: string) => {
    if (next(4) !== 0) return w;
    const at = next(w.length + 1);
    return `${w.slice(0, at)}${next(2) === 0 ? '"' : "'"}${w.slice(at)}`;
  };
  let found = 0;
  for (let i = 0; i < 4000; i++) {
    const argv = Array.from({ length: 1 + next(7) }, () => quoted(words[next(words.length)]));
    let line = argv[0];
    for (const w of argv.slice(1)) line += spaces[next(spaces.length)] + w;
    for (const command of [line, argv]) {
      const read = readMinerOptions(command, intel);
      if (read) found++;
      assert.deepEqual(minerOptions(command, intel), read, JSON.stringify(command));
    }
  }
  assert.ok(found > 1000, `the generator makes miner options (${found})`);
});

test('routine command lines skip the miner-option reading', () => {
  for (const line of [
    'ls -la /var/www/alpha',
    'ps aux --sort=-%cpu',
    'git pull --ff-only',
    'find /var/cache/orders -name "*.tmp" -delete',
    'sh -c "test -x /usr/sbin/anacron || run-parts /etc/cron.daily"',
    'nvidia-smi --query-gpu=utilization.gpu --format=csv',
  ])
    assert.equal(mayHoldMinerOptions(line), false, line);
});
