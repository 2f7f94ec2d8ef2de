/**
 * The persistence behaviour: a cron entry relaunching the miner, written into the sandbox root's
 * spool (pass it to `watch --root`), and with --real-crontab the same entry, marked and never due, in
 * the user's real crontab (crontab.ts adds and removes it).
 */
import { existsSync, mkdirSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { type AddedLine, addCrontabLine } from './crontab.js';

/** The login name the spool file is named after; a stand-in when the uid has no passwd entry. */
export function loginName(): string {
  try {
    const n = userInfo().username;
    return /^[a-z_][a-z0-9_.-]{0,31}$/i.test(n) ? n : 'coalmine';
  } catch {
    return 'coalmine';
  }
}

/** A sandbox the caller cannot use: it is the real filesystem root, or already has our spool file. */
export class SandboxError extends Error {}

export interface SandboxCron {
  file: string;
  line: string;
  /** Removes the file and the directories writing it created (a caller's own sandbox is left as it was). */
  remove: () => void;
}

/**
 * The cron entry in `sandboxRoot/var/spool/cron/crontabs/<user>`. The sandbox may be the caller's
 * (`simulate --sandbox DIR`, so `watch --root DIR` can be started first): never the real root, and an
 * existing spool file there is refused rather than overwritten.
 */
export function writeSandboxCron(sandboxRoot: string, command: string): SandboxCron {
  if (existsSync(sandboxRoot) && realpathSync(sandboxRoot) === '/')
    throw new SandboxError('the sandbox is the real filesystem root; use --real-crontab for the real crontab');
  const cronDir = join(sandboxRoot, 'var', 'spool', 'cron', 'crontabs');
  const file = join(cronDir, loginName());
  if (existsSync(file)) throw new SandboxError(`${file} exists; it is not ours to overwrite`);
  const created: string[] = [];
  for (let d = cronDir; !existsSync(d); d = dirname(d)) created.push(d);
  mkdirSync(cronDir, { recursive: true });
  const line = `*/10 * * * * ${command}`;
  writeFileSync(file, `${line}\n`);
  return {
    file,
    line,
    remove: () => {
      rmSync(file, { force: true });
      for (const d of created)
        try {
          rmdirSync(d);
        } catch {
          // not empty: something else lives there now
        }
    },
  };
}

export async function addRealCron(command: string, pid: number): Promise<{ added: AddedLine; marker: string }> {
  // 31 February: a valid entry cron never runs, so nothing it could start outlives --duration
  const marker = `# coalmine-simulate ${pid}`;
  return { added: await addCrontabLine(`0 0 31 2 * ${command} ${marker}`), marker };
}
