/**
 * `coalmine verify` end to end: a collected root built here (a tiny dpkg database and its files) with a
 * trojaned /usr/bin/ps and an unowned binary in /usr/local/sbin; a baseline of the persistence places
 * taken, then a cron file dropped; and on the running system a process hidden by an LD_PRELOAD readdir
 * hook compiled here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VerifyItem } from '../../src/run/verify.js';
import { runCli, startCli } from '../support/cli.js';
import { compileC, gccSkip, processHiderSource } from '../support/native.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

function put(root: string, path: string, text: string, mode = 0o644): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text, { mode });
}

function items(stdout: string): (VerifyItem & { type: string })[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'verify-item');
}

describe('coalmine verify', () => {
  let dir: string;
  let root: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coalmine-verify-'));
    root = join(dir, 'root');
    const ps = '\x7fELF the real ps\n';
    const ls = '\x7fELF the real ls\n';
    put(
      root,
      'var/lib/dpkg/status',
      'Package: procps\nStatus: install ok installed\nVersion: 2:4.0.2-3\n\nPackage: coreutils\nStatus: install ok installed\nConffiles:\n /etc/coreutils.conf 00000000000000000000000000000000\n\nPackage: libpq-dev\nStatus: install ok installed\n\nPackage: postgresql-common\nStatus: install ok installed\n',
    );
    // a diversion (dpkg-divert): libpq-dev's pg_config lives at pg_config.libpq-dev, postgresql-common's at
    // pg_config; neither is changed nor unowned
    const libpq = '#!/bin/sh\necho libpq\n';
    const common = '#!/usr/bin/perl\nprint "wrapper"\n';
    put(root, 'var/lib/dpkg/diversions', '/usr/bin/pg_config\n/usr/bin/pg_config.libpq-dev\npostgresql-common\n');
    put(root, 'var/lib/dpkg/info/libpq-dev.list', '/usr/bin/pg_config\n');
    put(root, 'var/lib/dpkg/info/libpq-dev.md5sums', `${md5(libpq)}  usr/bin/pg_config\n`);
    put(root, 'var/lib/dpkg/info/postgresql-common.list', '/usr/bin/pg_config\n');
    put(root, 'var/lib/dpkg/info/postgresql-common.md5sums', `${md5(common)}  usr/bin/pg_config\n`);
    put(root, 'usr/bin/pg_config', common, 0o755);
    put(root, 'usr/bin/pg_config.libpq-dev', libpq, 0o755);
    put(root, 'var/lib/dpkg/info/procps.list', '/.\n/bin\n/bin/ps\n');
    put(root, 'var/lib/dpkg/info/procps.md5sums', `${md5(ps)}  bin/ps\n`);
    put(root, 'var/lib/dpkg/info/coreutils.list', '/usr/bin/ls\n/etc/coreutils.conf\n');
    put(root, 'var/lib/dpkg/info/coreutils.md5sums', `${md5(ls)}  usr/bin/ls\n`);
    put(root, 'usr/bin/ls', ls, 0o755);
    put(root, 'usr/bin/ps', '\x7fELF a ps that hides the miner\n', 0o755);
    put(root, 'etc/coreutils.conf', 'edited by the admin\n');
    put(root, 'usr/local/sbin/kworkerds', '\x7fELF a dropped miner\n', 0o755);
    symlinkSync('usr/bin', join(root, 'bin')); // merged /usr: dpkg's /bin/ps is /usr/bin/ps
    // a link out of the root is resolved inside it, never followed to the collector's own /etc
    symlinkSync('/etc/passwd', join(root, 'usr/bin/escape'));
    put(root, 'etc/crontab', 'SHELL=/bin/sh\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the trojaned ps and the unowned binary of a collected root (ndjson), exit 1', () => {
    const r = runCli(['verify', '--root', root, '--format', 'ndjson']);
    assert.equal(r.code, 1, r.stderr);
    const evidence = items(r.stdout).filter((i) => i.evidence);
    assert.deepEqual(
      evidence.map((i) => [i.check, i.status, i.path, i.package ?? null]),
      [
        ['package', 'changed', '/usr/bin/ps', 'procps'],
        ['unowned', 'unowned', '/usr/local/sbin/kworkerds', null],
      ],
    );
    const context = items(r.stdout).filter((i) => !i.evidence);
    assert.deepEqual(
      context.map((i) => [i.status, i.path]),
      [['changed', '/etc/coreutils.conf']],
    );
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    assert.equal(summary.type, 'verify-summary');
    assert.equal(summary.evidence, 2);
    const hidden = summary.checks.find((c: { check: string }) => c.check === 'hidden-process');
    assert.equal(hidden.ran, false, 'no live checks on a collected root');
  });

  it('says the same in text', () => {
    const r = runCli(['verify', '--root', root]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /2 evidence, 1 context/);
    assert.match(r.stdout, /package +changed +\/usr\/bin\/ps differs from procps's record/);
    assert.match(r.stdout, /unowned +unowned +\/usr\/local\/sbin\/kworkerds .*belongs to no dpkg package/);
  });

  it('takes a baseline of the persistence places and reports what changed since', () => {
    const baseline = join(dir, 'baseline.json');
    const first = runCli(['verify', '--root', root, '--checks', 'baseline', '--baseline-out', baseline]);
    assert.equal(first.code, 0, first.stderr);
    const saved = JSON.parse(readFileSync(baseline, 'utf8'));
    assert.deepEqual(
      saved.files.map((f: { path: string }) => f.path),
      ['/etc/crontab'],
    );
    put(root, 'etc/cron.d/sysupdate', '* * * * * root /usr/local/sbin/kworkerds\n');
    put(root, 'etc/crontab', 'SHELL=/bin/sh\n@reboot root /tmp/.x/run\n');
    put(root, 'root/.ssh/authorized_keys', 'ssh-ed25519 AAAA attacker\n');
    const second = runCli([
      'verify',
      '--root',
      root,
      '--checks',
      'baseline',
      '--baseline',
      baseline,
      '--format',
      'ndjson',
    ]);
    assert.equal(second.code, 1, second.stderr);
    assert.deepEqual(
      items(second.stdout).map((i) => [i.status, i.path]),
      [
        ['added', '/etc/cron.d/sysupdate'],
        ['changed', '/etc/crontab'],
        ['added', '/root/.ssh/authorized_keys'],
      ],
    );
  });

  it('reports an unreadable baseline by name and a usage error for an unknown check', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"coalmine":"verify-baseline","version":1,"files":[{"path":"x"}]}');
    const r = runCli(['verify', '--root', root, '--checks', 'baseline', '--baseline', bad]);
    assert.match(r.stderr, /bad\.json#files\[0\]: VERIFY_BAD_BASELINE/);
    assert.equal(runCli(['verify', '--checks', 'nope']).code, 2);
  });

  describe('on the running system', { skip: gccSkip || (process.platform !== 'linux' && 'needs Linux') }, () => {
    let child: ReturnType<typeof spawn>;
    let hider: string;
    const name = `cmvhide${process.pid % 10000}`;
    before(() => {
      hider = compileC(dir, 'libhide.so', processHiderSource(name), { shared: true });
      const sleeper = join(dir, name);
      copyFileSync('/bin/sleep', sleeper);
      child = spawn(sleeper, ['120'], { stdio: 'ignore', env: { ...process.env, LD_PRELOAD: hider } });
    });
    after(() => child.kill('SIGKILL'));

    it('finds the process a preloaded readdir hook hides and names the unowned library preloaded', () => {
      const r = runCli(['verify', '--checks', 'hidden-process,preload', '--format', 'ndjson'], {
        env: { ...process.env, LD_PRELOAD: hider },
      });
      assert.equal(r.code, 1, r.stderr);
      const found = items(r.stdout);
      const hidden = found.filter((i) => i.check === 'hidden-process');
      assert.deepEqual(
        hidden.map((i) => [i.pid, i.name, i.path]),
        [[child.pid, name, join(dir, name)]],
      );
      const preload = found.find((i) => i.check === 'preload' && i.path === hider);
      assert.ok(preload, 'the hider library is reported');
      assert.equal(preload.status, 'unowned');
      assert.equal(preload.evidence, true);
      assert.match(preload.detail, new RegExp(`LD_PRELOAD of pid .*${child.pid}`));
    });

    it('says which environments it could not read, unprivileged, by pid', {
      skip: process.getuid?.() === 0 ? false : 'needs root to run the CLI as nobody',
    }, async () => {
      const cli = startCli(['verify', '--checks', 'preload', '--format', 'ndjson'], { uid: 65534, gid: 65534 });
      await cli.exited;
      const summary = JSON.parse(cli.out().trim().split('\n').at(-1) ?? '{}');
      const note: string = summary.checks.find((c: { check: string }) => c.check === 'preload').note;
      // the root-owned process preloading the hider is among those not read: its LD_PRELOAD is unseen, and said so
      assert.match(note, /; \d+ refused \(not root\), an LD_PRELOAD there unseen: pid /, cli.err());
      const named = /unseen: pid (\d+(?:, \d+)*)/.exec(note)?.[1].split(', ').map(Number) ?? [];
      assert.ok(named.length > 0 && named.length <= 16);
      assert.equal(
        items(cli.out()).some((i) => i.check === 'preload' && i.path === hider),
        false,
        'what it could not read it does not claim',
      );
    });
  });
});
