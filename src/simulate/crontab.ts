/**
 * `simulate persistence --real-crontab`: one marked line in the invoking user's real crontab, through
 * crontab(1) itself (`crontab -l` / `crontab -`, spawned with an argument array, never a shell), and
 * exactly that line taken out again at cleanup, leaving the rest byte for byte as it was (and no
 * crontab at all if there was none). Output and run time of crontab(1) are bounded.
 */
import { spawn } from 'node:child_process';

const MAX_CRONTAB_BYTES = 1024 * 1024;
const TIMEOUT_MS = 10_000;

export class CrontabError extends Error {}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function crontab(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('crontab', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // our own timer (spawn's `timeout` keeps the process alive after a failed spawn)
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    const take = (into: Buffer[]) => (d: Buffer) => {
      size += d.length;
      if (size > MAX_CRONTAB_BYTES) {
        tooBig = true;
        child.kill('SIGKILL');
      } else into.push(d);
    };
    child.stdout.on('data', take(out));
    child.stderr.on('data', take(err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new CrontabError(
          e.code === 'ENOENT'
            ? 'crontab: not found on PATH (install cron, e.g. apt-get install cron), so --real-crontab cannot be used'
            : `crontab ${args.join(' ')}: ${e.message}`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (tooBig) reject(new CrontabError(`crontab ${args.join(' ')}: over ${MAX_CRONTAB_BYTES} bytes of output`));
      else if (signal) reject(new CrontabError(`crontab ${args.join(' ')}: killed by ${signal} (timed out?)`));
      else resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {}); // crontab may exit before reading everything; its exit code says why
    child.stdin.end(input ?? '');
  });
}

/** The user's crontab as `crontab -l` shows it, or undefined when they have none. */
export async function readCrontab(): Promise<string | undefined> {
  const r = await crontab(['-l']);
  if (r.code === 0) return r.stdout;
  if (/no crontab for/i.test(r.stderr)) return undefined;
  throw new CrontabError(`crontab -l: exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
}

async function install(text: string | undefined): Promise<void> {
  const r = text === undefined ? await crontab(['-r']) : await crontab(['-'], text);
  if (r.code !== 0 && !(text === undefined && /no crontab for/i.test(r.stderr)))
    throw new CrontabError(
      `crontab ${text === undefined ? '-r' : '-'}: exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`,
    );
}

/** Fail before anything is staged when crontab(1) is missing or cannot read the user's crontab. */
export async function checkCrontab(): Promise<void> {
  await readCrontab();
}

export interface AddedLine {
  line: string;
  /** Take exactly our line out again; the rest stays as it is now (the user may have edited meanwhile). */
  remove: () => Promise<void>;
}

/** Append `line` (already carrying its marker comment) to the user's crontab. */
export async function addCrontabLine(line: string): Promise<AddedLine> {
  if (line.includes('\n')) throw new CrontabError('a crontab line cannot contain a newline');
  const before = await readCrontab();
  // crontab(1) wants a final newline; if the listing lacks one we add it, and take it away again after
  const sep = before !== undefined && before !== '' && !before.endsWith('\n') ? '\n' : '';
  const added = `${sep}${line}\n`;
  await install(`${before ?? ''}${added}`);
  let removed = false;
  return {
    line,
    remove: async () => {
      if (removed) return;
      removed = true;
      const now = await readCrontab();
      if (now === undefined) return; // someone removed the whole crontab: nothing of ours is left
      let rest: string;
      const at = now.lastIndexOf(added);
      if (at >= 0) rest = now.slice(0, at) + now.slice(at + added.length);
      else {
        // edited meanwhile: drop the lines that are exactly ours, keep every other byte
        const lines = now.split('\n');
        rest = lines.filter((l) => l !== line).join('\n');
        if (rest === now) return;
      }
      // there was no crontab before and only ours is left: leave none, as we found it
      await install(rest === '' && before === undefined ? undefined : rest);
    },
  };
}
