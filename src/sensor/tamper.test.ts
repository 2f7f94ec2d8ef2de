import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Issue } from '../model/issue.js';
import { parseProcModules, scanKernelModules } from './kernel-modules.js';
import { parseDpkgDiversions, parseDpkgStatus, parseRpmVerify, readDpkg, usrForm } from './package-db.js';
import { ldPreloadOf, scanPreload, splitPreload } from './preload.js';

const dirs: string[] = [];
function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'coalmine-tamper-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function put(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

describe('preloaded libraries', () => {
  it('splits LD_PRELOAD on spaces and colons, ld.so.preload on whitespace only', () => {
    assert.deepEqual(splitPreload('/a.so:/b.so /c.so', true), ['/a.so', '/b.so', '/c.so']);
    assert.deepEqual(splitPreload('/a.so\n /b:c.so', false), ['/a.so', '/b:c.so']);
    assert.equal(splitPreload(' x'.repeat(1000), true).length, 256);
  });

  it('finds LD_PRELOAD in an environment block, not a look-alike key', () => {
    assert.equal(ldPreloadOf(Buffer.from('A=1\0MY_LD_PRELOAD=/x\0LD_PRELOAD=/lib/h.so\0B=2\0')), '/lib/h.so');
    assert.equal(ldPreloadOf(Buffer.from('A=1\0XLD_PRELOAD=/x')), undefined);
  });

  it('judges ld.so.preload entries against the package records, line by line', async () => {
    const root = tempRoot();
    put(root, 'etc/ld.so.preload', '# comment\n/usr/local/lib/libhide.so\n/usr/lib/libjemalloc.so.2 /gone.so\n');
    put(root, 'usr/local/lib/libhide.so', 'ELF');
    put(root, 'usr/lib/libjemalloc.so.2', 'ELF');
    const scan = await scanPreload({
      root,
      owner: (p) => (p === '/usr/lib/libjemalloc.so.2' ? 'libjemalloc2' : undefined),
    });
    assert.deepEqual(
      scan.entries.map((e) => [e.library, e.line, e.package ?? null, e.missing ?? false]),
      [
        ['/usr/local/lib/libhide.so', 2, null, false],
        ['/usr/lib/libjemalloc.so.2', 3, 'libjemalloc2', false],
        ['/gone.so', 3, null, true],
      ],
    );
  });

  it('never follows a preload file that is a link out of the root', async () => {
    const root = tempRoot();
    const outside = tempRoot();
    put(outside, 'preload', '/evil.so\n');
    mkdirSync(join(root, 'etc'));
    symlinkSync(join(outside, 'preload'), join(root, 'etc/ld.so.preload'));
    assert.deepEqual((await scanPreload({ root })).entries, []);
  });
});

describe('kernel modules', () => {
  it('reads /proc/modules lines with their taint', () => {
    assert.deepEqual(
      parseProcModules(
        'diamorphine 16384 0 - Live 0x0000000000000000 (OE)\next4 1000000 2 - Live 0xffffffffc0000000\nbad line\n',
      ),
      [{ name: 'diamorphine', taint: 'OE' }, { name: 'ext4' }],
    );
  });

  it('reports a module loaded per sysfs but absent from /proc/modules, and the reverse', () => {
    const proc = tempRoot();
    const sys = tempRoot();
    put(proc, 'modules', 'ext4 1 2 - Live 0x0\nshy_mod 1 0 - Live 0x0 (O)\n');
    put(sys, 'module/ext4/initstate', 'live\n');
    put(sys, 'module/hider/initstate', 'live\n');
    mkdirSync(join(sys, 'module/printk'), { recursive: true }); // built-in: no initstate
    const scan = scanKernelModules(proc, sys);
    assert.deepEqual(scan.missingFromProc, ['hider']);
    assert.deepEqual(scan.missingFromSys, ['shy_mod']);
    assert.deepEqual(scan.tainted, [{ name: 'shy_mod', taint: 'O' }]);
    assert.equal(scan.listed, 2);
  });

  it('says which side it could not read', () => {
    const scan = scanKernelModules(join(tempRoot(), 'none'), tempRoot());
    assert.equal(scan.unreadable.length, 2);
    assert.deepEqual(scan.missingFromProc, []);
  });
});

describe('package records', () => {
  it('keeps installed packages and their conffiles from dpkg status', () => {
    const s = parseDpkgStatus(
      'Package: a\nStatus: install ok installed\nConffiles:\n /etc/a.conf 0123456789abcdef0123456789abcdef\n /etc/b bad\n\nPackage: gone\nStatus: deinstall ok config-files\n',
    );
    assert.deepEqual([...s.installed], ['a']);
    assert.deepEqual(s.conffiles, [
      { path: '/etc/a.conf', md5: '0123456789abcdef0123456789abcdef', package: 'a', conffile: true },
    ]);
  });

  it('names merged-/usr paths in their /usr form', () => {
    assert.equal(usrForm('/bin/ls', true), '/usr/bin/ls');
    assert.equal(usrForm('/bin/ls', false), '/bin/ls');
    assert.equal(usrForm('/etc/passwd', true), '/etc/passwd');
    assert.equal(usrForm('/binary', true), '/binary');
  });

  it('reads lists and md5sums of installed packages and reports a bad record by file and line', async () => {
    const root = tempRoot();
    put(
      root,
      'var/lib/dpkg/status',
      'Package: procps\nStatus: install ok installed\n\nPackage: old\nStatus: deinstall ok config-files\n',
    );
    put(root, 'var/lib/dpkg/info/procps.list', '/.\n/bin\n/bin/ps\n');
    put(root, 'var/lib/dpkg/info/procps:amd64.md5sums', '0123456789abcdef0123456789abcdef  bin/ps\nnot a record\n');
    put(root, 'var/lib/dpkg/info/old.list', '/usr/bin/old\n');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    symlinkSync('usr/bin', join(root, 'bin'));
    const issues: Issue[] = [];
    const db = await readDpkg(root, (i) => issues.push(i));
    assert.ok(db);
    assert.equal(db.packages, 1);
    assert.equal(db.owner('/usr/bin/ps'), 'procps');
    assert.equal(db.owner('/bin/ps'), 'procps');
    assert.equal(db.owner('/usr/bin/old'), undefined);
    assert.deepEqual(db.files, [{ path: '/usr/bin/ps', md5: '0123456789abcdef0123456789abcdef', package: 'procps' }]);
    assert.deepEqual(
      issues.map((i) => [i.file.endsWith('procps:amd64.md5sums'), i.line, i.code]),
      [[true, 2, 'VERIFY_BAD_RECORD']],
    );
  });

  it('reads diversions in threes and skips a broken record', () => {
    assert.deepEqual(
      [...parseDpkgDiversions('/usr/bin/pg_config\n/usr/bin/pg_config.libpq-dev\npostgresql-common\n/etc/x\nbad\n:\n')],
      [['/usr/bin/pg_config', { to: '/usr/bin/pg_config.libpq-dev', by: 'postgresql-common' }]],
    );
  });

  it("checks a diverted file where it was put, and owns the diverting package's own file", async () => {
    const root = tempRoot();
    put(
      root,
      'var/lib/dpkg/status',
      'Package: libpq-dev\nStatus: install ok installed\n\nPackage: postgresql-common\nStatus: install ok installed\n\nPackage: dash\nStatus: install ok installed\n',
    );
    put(
      root,
      'var/lib/dpkg/diversions',
      '/usr/bin/pg_config\n/usr/bin/pg_config.libpq-dev\npostgresql-common\n/bin/sh\n/bin/sh.distrib\ndash\n',
    );
    put(root, 'var/lib/dpkg/info/libpq-dev.list', '/usr/bin/pg_config\n');
    put(root, 'var/lib/dpkg/info/libpq-dev.md5sums', '0123456789abcdef0123456789abcdef  usr/bin/pg_config\n');
    put(root, 'var/lib/dpkg/info/postgresql-common.list', '/usr/bin/pg_config\n');
    put(root, 'var/lib/dpkg/info/postgresql-common.md5sums', 'fedcba9876543210fedcba9876543210  usr/bin/pg_config\n');
    // the diverting package's own file is never moved, even where it lists itself
    put(root, 'var/lib/dpkg/info/dash.md5sums', '00112233445566778899aabbccddeeff  bin/sh\n');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    symlinkSync('usr/bin', join(root, 'bin'));
    const db = await readDpkg(root, () => {});
    assert.ok(db);
    assert.deepEqual(
      db.files.map((f) => [f.package, f.path]),
      [
        ['dash', '/usr/bin/sh'],
        ['libpq-dev', '/usr/bin/pg_config.libpq-dev'],
        ['postgresql-common', '/usr/bin/pg_config'],
      ],
    );
    assert.equal(db.owner('/usr/bin/pg_config.libpq-dev'), 'libpq-dev');
    assert.equal(db.owner('/usr/bin/pg_config'), 'postgresql-common');
  });

  it('has nothing to say for a root without dpkg', async () => {
    assert.equal(await readDpkg(tempRoot(), () => {}), undefined);
  });

  it('parses rpm -V lines', () => {
    assert.deepEqual(
      parseRpmVerify('S.5....T.  c /etc/ssh/sshd_config\nmissing     /usr/bin/x\n..5......    /usr/bin/ps\nnoise\n'),
      [
        { flags: 'S.5....T.', conffile: true, path: '/etc/ssh/sshd_config' },
        { flags: 'missing', conffile: false, path: '/usr/bin/x' },
        { flags: '..5......', conffile: false, path: '/usr/bin/ps' },
      ],
    );
  });
});
