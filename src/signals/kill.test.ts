import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Signal } from '../model/signal.js';
import { kill } from './kill.js';
import { evt, signalsOf } from './test-events.js';

const summary = (s: Signal[]) => s.map((x) => `${x.kind}/${x.strength} ${x.subject?.victim ?? '-'}`);
const cmd = (command_line: string) =>
  signalsOf(kill, evt('exec', { process: { pid: 4110, name: 'sh', executable: '/bin/sh', command_line } }));

test('a kill signal to a known miner links the killer to its victim', () => {
  const s = signalsOf(
    kill,
    evt('kill', { process: { pid: 4110, name: 'pkill', target: { pid: 3377, name: 'xmrig', signal: 9 } } }),
  );
  assert.deepEqual(summary(s), ['competitor-kill/strong xmrig']);
  assert.equal(s[0].subject?.victimPid, 3377);
  assert.equal(s[0].entity, 'process:web-01:4110');
  assert.equal(s[0].by, 'kill:signal');
  assert.match(s[0].explanation, /pkill \(pid 4110\) sent signal 9 to xmrig \(pid 3377\), a known miner/);
});

test("a kill signal to a rival campaign's process counts, by name or by executable", () => {
  const byName = signalsOf(
    kill,
    evt('kill', { process: { pid: 1, target: { pid: 2, name: 'ksoftirqds', signal: 9 } } }),
  );
  assert.deepEqual(summary(byName), ['competitor-kill/strong ksoftirqds']);
  const byExe = signalsOf(
    kill,
    evt('kill', { process: { pid: 1, target: { pid: 2, executable: '/tmp/.x/kinsing', signal: 15 } } }),
  );
  assert.deepEqual(summary(byExe), ['competitor-kill/strong kinsing']);
});

test('liveness probes, ordinary victims, proxyware and self-signals are not competitor kills', () => {
  for (const target of [
    { pid: 2, name: 'xmrig', signal: 0 },
    { pid: 2, name: 'nginx', signal: 1 },
    { pid: 2, name: 'honeygain', signal: 9 },
    { pid: 1, name: 'xmrig', signal: 15 },
    { pid: 2 },
  ])
    assert.deepEqual(signalsOf(kill, evt('kill', { process: { pid: 1, target } })), [], JSON.stringify(target));
  assert.deepEqual(signalsOf(kill, evt('kill', { process: { pid: 1 } })), []);
});

test('pkill and killall aimed at miner names are strong, the first one named the victim', () => {
  const s = cmd('killall -9 kthreaddi sysupdate networkservice');
  assert.deepEqual(summary(s), ['competitor-kill/strong kthreaddi']);
  assert.match(s[0].explanation, /kills kthreaddi, sysupdate, networkservice/);
  assert.deepEqual(summary(cmd('pkill -f xmrig')), ['competitor-kill/strong xmrig']);
  assert.deepEqual(summary(cmd("pkill -9 -f '[k]devtmpfsi'")), ['competitor-kill/strong kdevtmpfsi']);
  assert.deepEqual(summary(cmd('pkill -u www-data -f /tmp/.x/xmr-stak')), ['competitor-kill/strong xmr-stak']);
  assert.deepEqual(summary(cmd('pkill -f "xmrig|cpuminer|minerd"')), ['competitor-kill/strong xmrig']);
});

test('pkill aimed at pools and mining words is strong', () => {
  assert.deepEqual(summary(cmd('pkill -f pool.minexmr.com')), ['competitor-kill/strong pool.minexmr.com']);
  assert.deepEqual(summary(cmd('pkill -f stratum')), ['competitor-kill/strong stratum']);
  assert.deepEqual(summary(cmd('pkill -f cryptonight')), ['competitor-kill/strong cryptonight']);
});

test('kill picking its victims by name through pidof, pgrep or grep is strong', () => {
  assert.deepEqual(summary(cmd('kill -9 $(pidof kdevtmpfsi)')), ['competitor-kill/strong kdevtmpfsi']);
  assert.deepEqual(summary(cmd('kill -9 `pgrep -f xmr-stak`')), ['competitor-kill/strong xmr-stak']);
  assert.deepEqual(summary(cmd("ps aux | grep -v grep | grep 'xmrig' | awk '{print $2}' | xargs -I % kill -9 %")), [
    'competitor-kill/strong xmrig',
  ]);
});

test('the args of a wrapped or shell -c command are read', () => {
  assert.deepEqual(summary(cmd('sh -c "pkill -f gunicorn; sudo -u root killall kinsing"')), [
    'competitor-kill/strong kinsing',
  ]);
  const byArgs = signalsOf(kill, evt('process-seen', { process: { pid: 1, args: ['killall', '-9', 'kthreaddk'] } }));
  assert.deepEqual(summary(byArgs), ['competitor-kill/strong kthreaddk']);
});

test('kills aimed at pool ports are medium, naming the port', () => {
  assert.deepEqual(summary(cmd('fuser -k 3333/tcp')), ['competitor-kill/medium port 3333']);
  assert.deepEqual(summary(cmd('fuser -k -n tcp 5555')), ['competitor-kill/medium port 5555']);
  assert.deepEqual(summary(cmd('kill -9 $(lsof -t -i:3333)')), ['competitor-kill/medium port 3333']);
  assert.deepEqual(summary(cmd('kill -9 $(lsof -t -i :14444)')), ['competitor-kill/medium port 14444']);
  assert.deepEqual(summary(cmd('fuser -k 8080/tcp')), [], 'not a mining port');
});

test('netstat|grep|xargs kill pipelines by port are left to the Sigma rule', () => {
  assert.deepEqual(
    cmd("netstat -anp | grep :3333 | awk '{print $7}' | awk -F'[/]' '{print $1}' | xargs -I % kill -9 %"),
    [],
  );
});

test('docker kill and rm -f of miner containers or images are strong; of ordinary ones, nothing', () => {
  assert.deepEqual(summary(cmd('docker kill xmrig_miner_1')), ['competitor-kill/strong xmrig_miner_1']);
  assert.deepEqual(summary(cmd('docker rmi -f docker.io/metal3d/xmrig:latest')), [
    'competitor-kill/strong docker.io/metal3d/xmrig:latest',
  ]);
  assert.deepEqual(summary(cmd("docker ps | grep kinsing | awk '{print $1}' | xargs docker rm -f")), [
    'competitor-kill/strong kinsing',
  ]);
  assert.deepEqual(summary(cmd('docker rm -f $(docker ps -aq --filter ancestor=metal3d/xmrig)')), [
    'competitor-kill/strong metal3d/xmrig',
  ]);
  for (const c of ['docker kill webapp', 'docker rm -f db-1', 'docker rm xmrig_1', 'podman stop api'])
    assert.deepEqual(cmd(c), [], c);
});

test('systemctl stopping a miner unit is strong; stopping nginx is not', () => {
  assert.deepEqual(summary(cmd('systemctl stop kinsing.service')), ['competitor-kill/strong kinsing']);
  assert.deepEqual(cmd('systemctl stop nginx'), []);
});

test('crontab -r is weak evidence with no victim', () => {
  const s = cmd('crontab -r');
  assert.deepEqual(summary(s), ['competitor-kill/weak -']);
  assert.equal(s[0].subject?.victim, undefined);
  assert.deepEqual(cmd('crontab -l'), []);
});

test('ordinary kills are not competitor kills', () => {
  for (const c of [
    'kill -HUP 812',
    'kill -HUP $(cat /run/nginx.pid)',
    'pkill -f gunicorn',
    'killall -9 python3',
    'pkill -u bob',
    "pkill -f 'python train.py'",
    'pgrep xmrig',
    'ps aux | grep xmrig',
    'make -j8 && ninja -C out',
  ])
    assert.deepEqual(cmd(c), [], c);
  assert.deepEqual(signalsOf(kill, evt('connect', { process: { pid: 1, command_line: 'pkill xmrig' } })), []);
});

test('hostile command lines never throw and stay bounded', () => {
  const s = cmd(`${'kill -9 $(pidof '.repeat(3000)}xmrig\u001b[2J`);
  assert.ok(s.length <= 1);
  for (const x of s) assert.ok(x.explanation.length < 600);
  assert.deepEqual(cmd(`pkill ${'-'.repeat(100_000)}`), []);
});
