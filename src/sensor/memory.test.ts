import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isScanned, parseMaps, regionName, shapeVerdict } from './memory.js';
import { printable } from './yara.js';

const MAPS = `55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]
7f1200000000-7f1282000000 rw-p 00000000 00:00 0 
7f12a0000000-7f12a0010000 r-xp 00001000 08:01 131 /usr/lib/x86_64-linux-gnu/libc.so.6
7f12a0010000-7f12a0020000 r--p 00011000 08:01 131 /usr/lib/x86_64-linux-gnu/libc.so.6
7f12a0020000-7f12a0030000 rw-s 00000000 00:05 9 /dev/zero (deleted)
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
        ['r--p', '[vvar]'],
      ],
    );
    assert.equal(r[0].start, 0x55d0c0000000);
  });

  it('scans private writable or executable regions only', () => {
    assert.deepEqual(parseMaps(MAPS).filter(isScanned).map(regionName), [
      '[heap]@55d0c0000000',
      'anon@7f1200000000',
      'libc.so.6@7f12a0000000',
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
