import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  forEachNetLine,
  type NetProto,
  type NetSocket,
  parseCgroup,
  parseCmdline,
  parseExeLink,
  parseHexAddress,
  parseMeminfo,
  parseNetLine,
  parsePidStat,
  parseProcStat,
  parseSocketLink,
  parseStatusUid,
} from './proc-parse.js';

test('stat: comm with spaces and parens ends at the last )', () => {
  const line =
    '4242 (evil ) (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 123456 1000000 300 18446744073709551615';
  const s = parsePidStat(line);
  assert.ok(s);
  assert.equal(s.pid, 4242);
  assert.equal(s.comm, 'evil ) (x) y');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 1);
  assert.equal(s.utime, 250);
  assert.equal(s.stime, 50);
  assert.equal(s.starttime, 123456);
  assert.equal(s.rssPages, 300);
  assert.equal(parsePidStat('garbage'), undefined);
  assert.equal(parsePidStat('1 (x) S 1 2'), undefined);
});

test('status Uid, cmdline, meminfo', () => {
  assert.deepEqual(parseStatusUid('Name:\tx\nUid:\t1000\t0\t1000\t1000\nGid:\t1\n'), { uid: 1000, euid: 0 });
  assert.equal(parseStatusUid('Name: x\n'), undefined);
  const c = parseCmdline(Buffer.from('/usr/bin/xmrig\0-o\0pool:3333\0--pass\0a b\0'));
  assert.deepEqual(c?.args, ['/usr/bin/xmrig', '-o', 'pool:3333', '--pass', 'a b']);
  assert.equal(c?.commandLine, '/usr/bin/xmrig -o pool:3333 --pass "a b"');
  assert.equal(parseCmdline(Buffer.alloc(0)), undefined);
  assert.ok((parseCmdline(Buffer.alloc(20000, 0x41))?.commandLine.length ?? 0) <= 8192);
  assert.deepEqual(parseMeminfo('MemTotal:       2000 kB\nMemFree: 1 kB\nMemAvailable:   1000 kB\n'), {
    totalBytes: 2048000,
    availableBytes: 1024000,
  });
});

test('/proc/stat: busy = total - idle - iowait, cores, btime', () => {
  const s = parseProcStat(
    'cpu  100 10 50 800 40 0 0 0 0 0\ncpu0 50 5 25 400 20 0 0 0 0 0\ncpu1 50 5 25 400 20 0 0 0 0 0\nintr 1\nbtime 1700000000\n',
  );
  assert.ok(s);
  assert.equal(s.total, 1000);
  assert.equal(s.idle, 840);
  assert.equal(s.busy, 160);
  assert.equal(s.cores, 2);
  assert.equal(s.btime, 1700000000);
});

test('hex addresses: IPv4 little-endian, IPv6 words, mapped IPv4', () => {
  assert.equal(parseHexAddress('0100007F'), '127.0.0.1');
  assert.equal(parseHexAddress('00000000000000000000000001000000'), '::1');
  assert.equal(parseHexAddress('0000000000000000FFFF00000100007F'), '127.0.0.1');
  // 2001:db8::7 → words 2001 0db8 0000 0007 in network order, each word little-endian
  assert.equal(parseHexAddress('B80D0120000000000000000007000000'), '2001:db8::7');
  assert.equal(parseHexAddress('zz'), undefined);
});

/** The sampler's path: forEachNetLine finds each data line, parseNetLine decodes it. */
function netTable(proto: NetProto, text: string, max = Number.POSITIVE_INFINITY): NetSocket[] {
  const buf = Buffer.from(text, 'latin1');
  const out: NetSocket[] = [];
  forEachNetLine(buf, max, (_inode, start, end) => {
    const socket = parseNetLine(proto, buf.toString('latin1', start, end));
    if (socket) out.push(socket);
  });
  return out;
}

test('net files: states, ports, inode', () => {
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000  1000        0 22222 1 0000000000000000 20 4 30 10 -1
`;
  const s = netTable('tcp', tcp);
  assert.equal(s.length, 2);
  assert.deepEqual(s[0], {
    proto: 'tcp',
    localIp: '127.0.0.1',
    localPort: 3306,
    remoteIp: '0.0.0.0',
    remotePort: 0,
    state: '0A',
    uid: 1000,
    inode: 11111,
  });
  assert.equal(s[1].localPort, 54321);
  assert.equal(s[1].remotePort, 3306);
  assert.equal(s[1].state, '01');
  const tcp6 =
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
    '   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000200000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1\n';
  const s6 = netTable('tcp6', tcp6);
  assert.equal(s6[0].localIp, '127.0.0.1');
  assert.equal(s6[0].remoteIp, '10.0.0.2');
  assert.equal(netTable('tcp', tcp, 1).length, 1);
});

test('cgroup: each runtime, kubepods, systemd unit', () => {
  const id = 'a'.repeat(64);
  assert.deepEqual(parseCgroup(`12:cpu:/docker/${id}\n`).containerId, id);
  assert.equal(parseCgroup(`0::/system.slice/docker-${id}.scope\n`).runtime, 'docker');
  assert.equal(parseCgroup(`0::/system.slice/docker-${id}.scope\n`).containerId, id);
  const k = parseCgroup(`0::/kubepods.slice/kubepods-burstable.slice/x/cri-containerd-${id}.scope\n`);
  assert.equal(k.runtime, 'containerd');
  assert.equal(k.containerId, id);
  assert.equal(parseCgroup(`0::/kubepods.slice/kubepods-pod1.slice/crio-${id}.scope\n`).runtime, 'cri-o');
  assert.equal(parseCgroup(`0::/user.slice/user-1000.slice/libpod-${id}.scope\n`).runtime, 'podman');
  assert.equal(parseCgroup(`11:memory:/kubepods/burstable/pod123/${id}\n`).runtime, 'kubepods');
  const sys = parseCgroup('0::/system.slice/cron.service\n');
  assert.equal(sys.containerId, undefined);
  assert.equal(sys.unit, 'cron.service');
});

test('exe link and socket link', () => {
  assert.deepEqual(parseExeLink('/tmp/.x/kdevtmpfsi (deleted)'), { executable: '/tmp/.x/kdevtmpfsi', deleted: true });
  assert.deepEqual(parseExeLink('/usr/bin/bash'), { executable: '/usr/bin/bash', deleted: false });
  assert.equal(parseSocketLink('socket:[12345]'), 12345);
  assert.equal(parseSocketLink('pipe:[1]'), undefined);
});
