import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  isReadable,
  isScanned,
  type MemoryRegion,
  msrDriver,
  parseMaps,
  readRegions,
  regionName,
  shapeVerdict,
} from './memory.js';
import { printable } from './yara.js';

const MAPS = `55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]
7f1200000000-7f1282000000 rw-p 00000000 00:00 0 
7f12a0000000-7f12a0010000 r-xp 00001000 08:01 131 /usr/lib/x86_64-linux-gnu/libc.so.6
7f12a0010000-7f12a0020000 r--p 00011000 08:01 131 /usr/lib/x86_64-linux-gnu/libc.so.6
7f12a0020000-7f12a0030000 rw-s 00000000 00:05 9 /dev/zero (deleted)
7f12b0000000-7f12b0004000 r--p 00000000 00:00 0 
7f12b0004000-7f12b0008000 r--p 00000000 00:01 77 /memfd:payload (deleted)
7f12b0008000-7f12b000c000 r--p 00002000 08:01 99 /tmp/.x/kworker (deleted)
7f12b000c000-7f12b0010000 r--s 00000000 08:01 98 /tmp/shared (deleted)
7f12b0010000-7f12b0014000 ---p 00000000 00:00 0 
7ffd1000-7ffd2000 r--p 00000000 00:00 0                          [vvar]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
garbage line
`;

describe('process memory maps', () => {
  it('parses regions, skipping lines it cannot read and addresses past 2^53', () => {
    const r = parseMaps(MAPS);
    assert.deepEqual(
      r.map((x) => [x.perms, x.path]),
      [
        ['rw-p', '[heap]'],
        ['rw-p', ''],
        ['r-xp', '/usr/lib/x86_64-linux-gnu/libc.so.6'],
        ['r--p', '/usr/lib/x86_64-linux-gnu/libc.so.6'],
        ['rw-s', '/dev/zero (deleted)'],
        ['r--p', ''],
        ['r--p', '/memfd:payload (deleted)'],
        ['r--p', '/tmp/.x/kworker (deleted)'],
        ['r--s', '/tmp/shared (deleted)'],
        ['---p', ''],
        ['r--p', '[vvar]'],
      ],
    );
    assert.equal(r[0].start, 0x55d0c0000000);
  });

  it('scans private writable or executable regions, and read-only ones no file on disk holds (unpacked, fileless)', () => {
    assert.deepEqual(parseMaps(MAPS).filter(isScanned).map(regionName), [
      '[heap]@55d0c0000000',
      'anon@7f1200000000',
      'libc.so.6@7f12a0000000',
      'anon@7f12b0000000',
      'memfd:payload (deleted)@7f12b0004000',
      'kworker (deleted)@7f12b0008000',
    ]);
  });

  it('reads every readable region but the kernel pages and devices when the whole address space is asked for', () => {
    assert.deepEqual(parseMaps(MAPS).filter(isReadable).map(regionName), [
      '[heap]@55d0c0000000',
      'anon@7f1200000000',
      'libc.so.6@7f12a0000000',
      'libc.so.6@7f12a0010000',
      'anon@7f12b0000000',
      'memfd:payload (deleted)@7f12b0004000',
      'kworker (deleted)@7f12b0008000',
      'shared (deleted)@7f12b000c000',
    ]);
  });

  it("calls a 2 GiB anonymous dataset on huge pages, or MSR access, a miner's shape, and ordinary memory nothing", () => {
    const gib = 1024 ** 3;
    assert.match(
      shapeVerdict({ largeAnonBytes: 2.03 * gib, anonHugeBytes: 2 * gib, hugetlbBytes: 0, msrOpen: 0 }) ?? '',
      /RandomX dataset/,
    );
    assert.match(
      shapeVerdict({ largeAnonBytes: 0, anonHugeBytes: 0, hugetlbBytes: 0, msrOpen: 2 }) ?? '',
      /2 \/dev\/cpu\/\*\/msr open/,
    );
    // a JVM or a database: large anonymous heaps with transparent huge pages, but no dataset-sized one
    assert.equal(
      shapeVerdict({ largeAnonBytes: 1.5 * gib, anonHugeBytes: 1.2 * gib, hugetlbBytes: 0, msrOpen: 0 }),
      undefined,
    );
  });

  it('shows matched bytes as printable text, escaping the rest and backslashes, clipped', () => {
    assert.equal(printable(Buffer.from('ok"\x1b[31m\\\0')), 'ok"\\x1b[31m\\x5c\\x00');
    assert.equal(printable('a'.repeat(130)), `${'a'.repeat(120)}…[+10]`);
  });
});

describe('the msr driver', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const host = (files: Record<string, string>) => {
    const root = mkdtempSync(join(tmpdir(), 'coalmine-msr-'));
    dirs.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return msrDriver(join(root, 'proc'), join(root, 'sys'), join(root, 'dev'));
  };

  it('is a module when /proc/modules lists it, or sysfs does when /proc/modules is hidden', () => {
    assert.equal(host({ 'proc/modules': 'ext4 1 2 - Live 0x0\nmsr 16384 0 - Live 0x0\n' }), 'module');
    assert.equal(host({ 'sys/module/msr/initstate': 'live\n', 'dev/cpu/0/msr': '' }), 'module');
  });

  it('is built in when the device exists without a module, and absent otherwise', () => {
    assert.equal(host({ 'proc/modules': 'ext4 1 2 - Live 0x0\n', 'dev/cpu/0/msr': '' }), 'built-in');
    assert.equal(host({ 'proc/modules': 'msrx 1 0 - Live 0x0\n', 'dev/cpu/0/cpuid': '' }), undefined);
  });
});

describe('reading regions within the bounds', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  /** A stand-in for /proc/PID/mem: a file whose offsets are the addresses, `count` regions of `mib` MiB. */
  const fakeProcess = (count = 20, mib = 1) => {
    const root = mkdtempSync(join(tmpdir(), 'coalmine-mem-'));
    dirs.push(root);
    mkdirSync(join(root, '42'));
    writeFileSync(join(root, '42', 'mem'), Buffer.alloc(count * mib * 1024 * 1024, 0x61));
    const regions: MemoryRegion[] = Array.from({ length: count }, (_, i) => ({
      start: i * mib * 1024 * 1024,
      end: (i + 1) * mib * 1024 * 1024,
      perms: 'rw-p',
      path: '',
    }));
    return { root, regions };
  };
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {}
  };

  it('reads every region in whole when the bounds allow, one at a time', () => {
    const { root, regions } = fakeProcess();
    const seen: number[] = [];
    const r = readRegions(
      root,
      42,
      regions,
      { maxRegionBytes: 2 * 1024 ** 2, maxProcessBytes: 64 * 1024 ** 2, deadline: performance.now() + 600_000 },
      ({ data, clipped }) => {
        assert.equal(clipped, false);
        seen.push(data.length);
      },
    );
    assert.deepEqual(r, { regions: 20, bytes: 20 * 1024 ** 2, failedReads: 0 });
    assert.equal(seen.length, 20);
  });

  it('stops at the process bound, the last region read in part, and says so', () => {
    const { root, regions } = fakeProcess();
    const clipped: boolean[] = [];
    const r = readRegions(
      root,
      42,
      regions,
      { maxRegionBytes: 4 * 1024 ** 2, maxProcessBytes: 2.5 * 1024 ** 2, deadline: performance.now() + 600_000 },
      (x) => clipped.push(x.clipped),
    );
    assert.equal(r.bytes, 2.5 * 1024 ** 2);
    assert.equal(r.truncated, 'bytes');
    assert.deepEqual(clipped, [false, false, true]);
  });

  it('stops at the deadline when scanning is slow, not after every region', () => {
    const { root, regions } = fakeProcess();
    // each region's scan takes 50 ms (a loaded host); 100 ms are allowed for 20 of them
    const r = readRegions(
      root,
      42,
      regions,
      { maxRegionBytes: 4 * 1024 ** 2, maxProcessBytes: 64 * 1024 ** 2, deadline: performance.now() + 100 },
      () => busy(50),
    );
    assert.equal(r.truncated, 'time');
    assert.ok(r.regions < 20, `${r.regions} regions read`);
  });

  it('never starts a whole region its pace so far says cannot end before the deadline', () => {
    const { root, regions } = fakeProcess(4, 4);
    // scanning takes at least 25 ms a MiB: the first 4 MiB region takes ≥ 100 ms of the 150 allowed, so
    // the time left fits less than another whole one (the bound would otherwise be overrun by a region)
    const r = readRegions(
      root,
      42,
      regions,
      { maxRegionBytes: 4 * 1024 ** 2, maxProcessBytes: 64 * 1024 ** 2, deadline: performance.now() + 150 },
      ({ data }) => busy((data.length / 1024 ** 2) * 25),
    );
    assert.equal(r.truncated, 'time');
    assert.ok(r.bytes < 8 * 1024 ** 2, `${r.bytes} bytes read`);
  });
});
