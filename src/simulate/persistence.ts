/**
 * The persistence behaviour: a cron entry relaunching the miner, written into the sandbox root's
 * spool (pass it to `watch --root`), and with --real-crontab the same entry, marked and never due, in
 * the user's real crontab (crontab.ts adds and removes it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
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

export function writeSandboxCron(sandboxRoot: string, command: string): { file: string; line: string } {
  const cronDir = join(sandboxRoot, 'var', 'spool', 'cron', 'crontabs');
  mkdirSync(cronDir, { recursive: true });
  const file = join(cronDir, loginName());
  const line = `*/10 * * * * ${command}`;
  writeFileSync(file, `${line}\n`);
  return { file, line };
}

export async function addRealCron(command: string, pid: number): Promise<{ added: AddedLine; marker: string }> {
  // 31 February: a valid entry cron never runs, so nothing it could start outlives --duration
  const marker = `# coalmine-simulate ${pid}`;
  return { added: await addCrontabLine(`0 0 31 2 * ${command} ${marker}`), marker };
}
