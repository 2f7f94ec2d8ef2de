import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SampleStats } from '../sensor/proc-sampler.js';
import { cannotSee, heartbeatBody, hidepidOf, sampleGaps, sensorIdentity } from './sensor-report.js';

const stats = (over: Partial<SampleStats> = {}): SampleStats => ({
  sample: 3,
  processes: 200,
  vanished: 0,
  denied: 0,
  errors: 0,
  exeUnreadable: 0,
  fdUnreadable: 0,
  sockets: 40,
  socketsUnattributed: 0,
  processesTruncated: false,
  socketsTruncated: false,
  durationMs: 4,
  ...over,
});

const MOUNTINFO = [
  '22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '23 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible',
  '99 23 0:50 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - binfmt_misc binfmt_misc rw',
  '',
].join('\n');

test('sensor-report: hidepid is read from the proc mount at the sampled point, the last mount there winning', () => {
  assert.equal(hidepidOf(MOUNTINFO, '/proc'), 'invisible');
  assert.equal(hidepidOf(MOUNTINFO, '/host/proc'), undefined);
  assert.equal(hidepidOf(`${MOUNTINFO}30 1 0:60 / /proc rw shared:1 - proc proc rw,hidepid=0\n`, '/proc'), undefined);
  // per-mount options (newer kernels), and garbage lines that are not mountinfo at all
  assert.equal(hidepidOf('7 1 0:5 / /proc rw,hidepid=2 - proc proc rw\n\u001b[31m - - -\n', '/proc'), '2');
  assert.equal(hidepidOf('not mountinfo', '/proc'), undefined);
});

test('sensor-report: a sample gives the kinds of gap it met with counts, none for a clean one', () => {
  assert.deepEqual(sampleGaps(stats(), 0), []);
  assert.deepEqual(
    sampleGaps(
      stats({ fdUnreadable: 12, exeUnreadable: 3, processesTruncated: true, vanished: 2, socketsUnattributed: 5 }),
      4,
    ),
    [
      { kind: 'exe_unreadable', count: 3 },
      { kind: 'fd_unreadable', count: 12 },
      { kind: 'sockets_unattributed', count: 5 },
      { kind: 'processes_truncated', count: 1 },
      { kind: 'containers_unnamed', count: 4 },
      { kind: 'vanished', count: 2 },
    ],
  );
});

test('sensor-report: cannot-see statements name what is hidden, without counts, and nothing for races', () => {
  const user = { version: '1', hostname: 'h', platform: 'linux', kernel: '6', root: false };
  assert.match(cannotSee(user, [])[0], /not running as root/);
  assert.equal(cannotSee({ ...user, hidepid: '2' }, []).length, 2);
  // as root the permission kinds mean something else refused; hidepid hides nothing from root
  const root = { ...user, root: true, hidepid: '2' };
  assert.deepEqual(cannotSee(root, [{ kind: 'vanished', count: 9 }]), []);
  assert.deepEqual(
    cannotSee(root, [{ kind: 'fd_unreadable', count: 1 }]),
    cannotSee(root, [{ kind: 'fd_unreadable', count: 99 }]),
  );
  assert.match(cannotSee(root, [{ kind: 'fd_unreadable', count: 1 }]).join(), /even as root/);
});

test('sensor-report: the heartbeat body is clipped and bounded to what the server stores', () => {
  const body = heartbeatBody(
    { version: 'v'.repeat(100), hostname: 'h'.repeat(600), platform: 'linux', kernel: 'k'.repeat(300), root: false },
    Array.from({ length: 80 }, (_, i) => ({ kind: `kind-${i}-${'x'.repeat(70)}`, count: 2 ** 40 })),
    1000,
  );
  assert.equal(body.interval_s, 5);
  assert.match(body.version, /…\[\+36\]$/);
  assert.match(body.hostname, /…\[\+88\]$/);
  assert.equal(body.gaps.length, 64);
  assert.equal(body.gaps[0].count, 2 ** 31 - 1);
  assert.match(body.gaps[0].kind, /…/);
  assert.equal(heartbeatBody({ ...sensorIdentity('1') }, [], 60_000).interval_s, 60);
});

test('sensor-report: this process as a sensor says its host, kernel and whether it is root', () => {
  const me = sensorIdentity('0.1.0');
  assert.equal(me.version, '0.1.0');
  assert.equal(me.platform, process.platform);
  assert.equal(me.root, process.getuid?.() === 0);
  assert.ok(me.hostname.length > 0 && me.kernel.length > 0);
});
