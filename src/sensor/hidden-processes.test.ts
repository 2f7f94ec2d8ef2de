import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileC, gccSkip, processHiderSource } from '../../test/support/native.js';
import { findHiddenProcesses, listPids } from './hidden-processes.js';

const linuxSkip = process.platform === 'linux' ? false : 'needs a live Linux /proc';

describe('hidden processes', () => {
  it('finds nothing hidden on an ordinary host, and says how far it probed', { skip: linuxSkip }, () => {
    const scan = findHiddenProcesses({ timeBudgetMs: 20_000 });
    assert.ok(scan.listed > 0);
    assert.ok(listPids('/proc').has(process.pid));
    // a thread of a listed process (node's own workers) is not a hidden process
    assert.equal(
      scan.hidden.some((h) => h.pid === process.pid),
      false,
    );
    assert.ok(scan.probedUpTo >= process.pid || scan.truncated !== undefined);
  });

  it('stops at maxPids and says so', { skip: linuxSkip }, () => {
    const scan = findHiddenProcesses({ maxPids: 10 });
    assert.equal(scan.probedUpTo, 10);
    assert.equal(scan.truncated, scan.pidMax !== undefined && scan.pidMax > 10 ? 'max-pids' : undefined);
  });

  describe('a process hidden by an LD_PRELOAD readdir hook (built here)', { skip: gccSkip || linuxSkip }, () => {
    let dir: string;
    let hider: string;
    let child: ReturnType<typeof spawn>;
    const name = `cmhide${process.pid % 100000}`;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'coalmine-hide-'));
      hider = compileC(dir, 'libhide.so', processHiderSource(name), { shared: true });
      const sleeper = join(dir, name);
      copyFileSync('/bin/sleep', sleeper);
      child = spawn(sleeper, ['120'], { stdio: 'ignore' });
    });
    after(() => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    it('is missing from a hooked listing (ls) and found and named by the probe', () => {
      const pid = child.pid as number;
      const hooked = { ...process.env, LD_PRELOAD: hider };
      const ls = execFileSync('ls', ['/proc'], { env: hooked, encoding: 'utf8' }).split('\n');
      assert.equal(ls.includes(String(pid)), false, 'the hider works: ls does not list the pid');
      assert.equal(ls.includes(String(process.pid)), true);
      const module = resolve('src/sensor/hidden-processes.ts');
      const out = execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(module)}); console.log(JSON.stringify(m.findHiddenProcesses({ timeBudgetMs: 60000 })));`,
        ],
        { env: hooked, encoding: 'utf8' },
      );
      const scan = JSON.parse(out) as ReturnType<typeof findHiddenProcesses>;
      const found = scan.hidden.find((h) => h.pid === pid);
      assert.ok(found, `pid ${pid} reported hidden (got ${JSON.stringify(scan.hidden)})`);
      assert.equal(found.name, name);
      assert.equal(found.executable, join(dir, name));
      assert.equal(found.answersKill, true);
      assert.match(found.commandLine ?? '', /120/);
      assert.equal(scan.hidden.length, 1, 'nothing else is hidden');
    });
  });
});
