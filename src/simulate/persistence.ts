/**
 * The persistence behaviour: a cron entry relaunching the miner, written into the sandbox root's
 * spool (pass it to `watch --root`), and with --real-crontab the same entry, marked and never due, in
 * the user's real crontab (crontab.ts adds and removes it).
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { type AddedLine, addCrontabLine } from './crontab.js';
import { currentOwner, ownerAlive, ownerMarker, parseOwner } from './owner.js';

/** The comment under the entry that names the run which wrote the file (owner.ts). */
const MARKER_PREFIX = '# coalmine-simulate ';
const MAX_SPOOL_BYTES = 64 * 1024;

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
  /** What a killed earlier run had left there and was removed first. */
  leftover?: string;
  /** Removes the file and the directories writing it created (a caller's own sandbox is left as it was). */
  remove: () => void;
}

/**
 * The cron entry in `sandboxRoot/var/spool/cron/crontabs/<user>`. The sandbox may be the caller's
 * (`simulate --sandbox DIR`, so `watch --root DIR` can be started first): never the real root, and an
 * existing spool file there is refused rather than overwritten, unless it is one an earlier simulate
 * wrote (its marker line) and that run is gone (killed before its cleanup): then it is removed first.
 */
export function writeSandboxCron(sandboxRoot: string, command: string): SandboxCron {
  if (existsSync(sandboxRoot) && realpathSync(sandboxRoot) === '/')
    throw new SandboxError('the sandbox is the real filesystem root; use --real-crontab for the real crontab');
  const cronDir = join(sandboxRoot, 'var', 'spool', 'cron', 'crontabs');
  const file = join(cronDir, loginName());
  const leftover = existsSync(file) ? removeLeftover(sandboxRoot, file) : undefined;
  const created: string[] = [];
  for (let d = cronDir; !existsSync(d); d = dirname(d)) created.push(d);
  mkdirSync(cronDir, { recursive: true });
  const line = `*/10 * * * * ${command}`;
  const marker = ownerMarker(currentOwner(), { created: created.map((d) => relative(sandboxRoot, d)) });
  writeFileSync(file, `${line}\n${MARKER_PREFIX}${marker}\n`);
  return {
    file,
    line,
    leftover,
    remove: () => {
      rmSync(file, { force: true });
      removeDirs(created);
    },
  };
}

/** Directories a run created, deepest first; one that is not empty is left (something else lives there). */
function removeDirs(dirs: string[]): void {
  for (const d of dirs)
    try {
      rmdirSync(d);
    } catch {
      // not empty, or already gone
    }
}

/** Remove the spool file a dead simulate run left, or throw SandboxError when it is not recognisably that. */
function removeLeftover(sandboxRoot: string, file: string): string {
  const notOurs = new SandboxError(`${file} exists; it is not ours to overwrite`);
  const st = lstatSync(file);
  if (!st.isFile() || st.size > MAX_SPOOL_BYTES || (process.getuid && st.uid !== process.getuid())) throw notOurs;
  const markerLine = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(MARKER_PREFIX));
  const owner = markerLine === undefined ? undefined : parseOwner(markerLine.slice(MARKER_PREFIX.length));
  if (!owner) throw notOurs;
  if (ownerAlive(owner)) throw new SandboxError(`${file} belongs to simulate pid ${owner.pid}, which is still running`);
  rmSync(file, { force: true });
  // the directories that run made for it, if they hold nothing else now; never outside the sandbox
  const root = resolve(sandboxRoot);
  const recorded = (JSON.parse(markerLine?.slice(MARKER_PREFIX.length) ?? '{}') as { created?: unknown }).created;
  const dirs = (Array.isArray(recorded) ? recorded : [])
    .filter((d): d is string => typeof d === 'string' && d.length < 256)
    .map((d) => resolve(root, d))
    .filter((d) => d.startsWith(`${root}${sep}`));
  removeDirs(dirs);
  return `removed ${file}, left by simulate pid ${owner.pid} (no longer running)`;
}

export async function addRealCron(command: string, pid: number): Promise<{ added: AddedLine; marker: string }> {
  // 31 February: a valid entry cron never runs, so nothing it could start outlives --duration
  const marker = `# coalmine-simulate ${pid}`;
  return { added: await addCrontabLine(`0 0 31 2 * ${command} ${marker}`), marker };
}
