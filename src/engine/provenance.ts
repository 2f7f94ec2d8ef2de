/**
 * Where an executable came from: which process fetched, wrote, copied or chmod'ed a path, and when.
 * A dropper hands its miner off by file (`curl -o P`, `wget -O P`, `chmod +x P`, then `setsid P` or
 * a cron/task entry), and the kernel re-parents the miner to init, so lineage alone cannot join them.
 * The engine records each write here and asks on each exec; the answer joins the exec'd process to
 * the writer's lineage. Keyed by host and path (Windows paths case-insensitively), bounded in entries
 * and in age, in event time only.
 */
import type { EntityKey } from '../model/entity.js';
import type { SourceRef } from '../model/event.js';
import { simpleCommands } from '../signals/persistence.js';
import { baseName } from '../signals/process.js';
import { pathKey } from './clusters.js';

export type FileHow = 'fetched' | 'written' | 'copied' | 'made executable';

export interface FileOrigin {
  path: string;
  how: FileHow;
  /** The URL, for fetches whose command names one. */
  url?: string;
  writer: EntityKey;
  writerPid?: number;
  writerName?: string;
  /** The writer's lineage root when it wrote: the lineage an adopted process joins. */
  writerRoot: EntityKey;
  ts: number;
  ref: SourceRef;
}

/** What a command writes: a path (absolute, or relative to an unknown directory) and how. */
export interface WrittenFile {
  path: string;
  how: FileHow;
  url?: string;
}

export const MAX_ORIGINS = 65_536;
/** A file fetched more than this long before it runs is not joined to its fetcher by time order alone. */
export const MAX_ORIGIN_AGE_MS = 24 * 60 * 60 * 1000;
const MAX_COMMAND_CHARS = 8192;
const MAX_PATH_CHARS = 1024;
/** A fetch outranks a plain write, which outranks a copy and a chmod: the first is the best story. */
const HOW_RANK: Record<FileHow, number> = { fetched: 4, written: 3, copied: 2, 'made executable': 1 };

/**
 * What any command that writes must contain: a redirect, a writing tool's name, or quoting and escapes
 * that could spell one in pieces (`c"u"rl`, `c\url`, `c^url`). A superset, only a shortcut.
 */
const WRITE_HINT =
  /[>'"\\^`]|curl|wget|fetch|aria2c|tftp|certutil|bitsadmin|iwr|invoke-webrequest|chmod|cp|mv|install|copy|move|dd|tee/i;
const URL_WORD = /^(?:https?|ftp|tftp):\/\/[^\s]{1,2000}$/i;
const SHELL_NAMES = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash']);

/** One recorded path: its host and key, so the bound can find it in its host's map. */
interface OriginSlot {
  host: string;
  key: string;
  origin: FileOrigin;
}

export class FileProvenance {
  /** Per host, by path key: what every exec asks, with no key string built for it. */
  private readonly byHost = new Map<string, Map<string, OriginSlot>>();
  /** Every slot, least recently recorded first: the bound lets the first go. */
  private readonly order = new Set<OriginSlot>();

  get size(): number {
    return this.order.size;
  }

  /** Whether any write on `host` is remembered: most hosts' execs need ask nothing more. */
  hasWrites(host: string): boolean {
    return this.byHost.has(host);
  }

  /** Remember a write; an earlier, better-ranked origin of the same path within the age bound is kept. */
  record(host: string, origin: FileOrigin): void {
    if (origin.path.length === 0 || origin.path.length > MAX_PATH_CHARS) return;
    const key = pathKey(origin.path);
    let paths = this.byHost.get(host);
    const known = paths?.get(key);
    if (known) {
      const k = known.origin;
      if (origin.ts - k.ts <= MAX_ORIGIN_AGE_MS && HOW_RANK[k.how] >= HOW_RANK[origin.how]) return;
      known.origin = origin;
      this.order.delete(known);
      this.order.add(known);
      return;
    }
    if (!paths) {
      paths = new Map();
      this.byHost.set(host, paths);
    }
    const slot = { host, key, origin };
    paths.set(key, slot);
    this.order.add(slot);
    if (this.order.size > MAX_ORIGINS) {
      const oldest = this.order.values().next();
      if (!oldest.done) this.forget(oldest.value);
    }
  }

  private forget(slot: OriginSlot): void {
    this.order.delete(slot);
    const paths = this.byHost.get(slot.host);
    if (!paths) return;
    paths.delete(slot.key);
    if (paths.size === 0) this.byHost.delete(slot.host);
  }

  /** Who wrote `path` on `host` at or before `ts`, within the age bound. */
  originOf(host: string, path: string, ts: number): FileOrigin | undefined {
    const origin = this.byHost.get(host)?.get(pathKey(path))?.origin;
    if (!origin || origin.ts > ts || ts - origin.ts > MAX_ORIGIN_AGE_MS) return undefined;
    return origin;
  }
}

/** `dir/name` with `.` and `..` resolved; undefined for a relative path without a directory to resolve it in. */
export function resolvePath(path: string, cwd: string | undefined): string | undefined {
  // the usual exec: an absolute path with nothing to resolve (no `.`/`..` part, no empty part, no trailing `/`)
  if (path.charCodeAt(0) === 47 && !path.endsWith('/') && !path.includes('//') && !path.includes('/.')) return path;
  if (/^[A-Za-z]:\\/.test(path) || path.startsWith('\\\\')) return path;
  let full: string;
  if (path.startsWith('/')) full = path;
  else if (cwd?.startsWith('/')) full = `${cwd.replace(/\/+$/, '')}/${path}`;
  else return undefined;
  const parts: string[] = [];
  for (const part of full.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** The file name a URL's path ends in (`http://h/x/xmrig.tar.gz?a=1` → `xmrig.tar.gz`). */
function urlFileName(url: string): string | undefined {
  const path = url.replace(/^[a-z]+:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
  const name = path.slice(path.lastIndexOf('/') + 1);
  return name && name !== '.' && name !== '..' ? name : undefined;
}

/** A word that is a redirect target: `>P`, `>>P`, `1>P`; `&>P` too. */
function redirectTarget(word: string): string | undefined {
  const m = /^(?:\d|&)?>>?(.+)$/.exec(word);
  return m && !m[1].startsWith('&') ? m[1] : undefined;
}

/** Paths a downloader writes: curl `-o P`/`-O`, wget `-O P`/default name, aria2c, tftp, fetch; PowerShell and Windows tools. */
function downloads(words: string[], out: WrittenFile[]): void {
  const tool = baseName(words[0])
    .toLowerCase()
    .replace(/\.exe$/, '');
  const url = words.find((w) => URL_WORD.test(w));
  let output: string | undefined;
  let dir: string | undefined;
  let remoteName = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    if (tool === 'curl' || tool === 'fetch') {
      if (w === '--output' || w === '-o') output = next;
      else if (w.startsWith('--output=')) output = w.slice(9);
      else if (w === '--remote-name' || w === '-O') remoteName = true;
      else if (w === '--output-dir') dir = next;
      else if (/^-[a-zA-Z]+$/.test(w)) {
        // a cluster of short options: `-fsSLo P`, `-sO`
        if (w.endsWith('o')) output = next;
        else if (w.includes('O')) remoteName = true;
      }
    } else if (tool === 'wget') {
      if (w === '-O' || w === '--output-document') output = next;
      else if (w.startsWith('--output-document=')) output = w.slice(18);
      else if (/^-O./.test(w)) output = w.slice(2);
      else if (w === '-P' || w === '--directory-prefix') dir = next;
      else if (w.startsWith('--directory-prefix=')) dir = w.slice(19);
      else if (/^-[a-zA-Z]+O$/.test(w)) output = next;
    } else if (tool === 'aria2c') {
      if (w === '-o' || w === '--out') output = next;
      else if (w === '-d' || w === '--dir') dir = next;
    } else if (tool === 'tftp') {
      if (w === '-l') output = next;
    } else if (tool === 'certutil') {
      // certutil -urlcache -split -f URL P: the last operand after the URL
      if (w === url && next !== undefined && !next.startsWith('-')) output = next;
    } else if (tool === 'bitsadmin') {
      if (w === url && next !== undefined) output = next;
    } else if (/^-(?:outf|outfile|o|destination)$/i.test(w) && next !== undefined) output = next;
  }
  if (tool === 'wget' && output === undefined) remoteName = true;
  if (output === '-' || output === '/dev/null' || output === 'NUL') return;
  if (output !== undefined) {
    out.push({ path: joinDir(dir, stripQuotes(output)), how: 'fetched', url });
    return;
  }
  const name = remoteName && url ? urlFileName(url) : undefined;
  if (name) out.push({ path: joinDir(dir, name), how: 'fetched', url });
}

function joinDir(dir: string | undefined, path: string): string {
  if (!dir || path.startsWith('/') || /^[A-Za-z]:\\/.test(path)) return path;
  return `${dir.replace(/[\\/]+$/, '')}/${path}`;
}

function stripQuotes(word: string): string {
  return word.replace(/^['"]|['"]$/g, '');
}

/** `.DownloadFile('url', 'P')` and `Invoke-WebRequest … -OutFile P` inside PowerShell text. */
const DOWNLOAD_FILE = /\.DownloadFile\(\s*['"]([^'"]{1,2000})['"]\s*,\s*['"]([^'"]{1,1024})['"]\s*\)/gi;
const OUT_FILE = /-(?:OutFile|OutF|Destination)\s+['"]?([^'"\s;|)]{1,1024})/gi;

/**
 * The files a command line writes, as far as its text tells: downloads, redirects, copies and moves,
 * chmod +x. Paths are as written (relative ones are resolved by the caller against the process's
 * working directory). Bounded: only the first 8 KiB of the command is read.
 */
export function filesWrittenBy(command: string): WrittenFile[] {
  return readWrites(command, undefined);
}

/** Command lines whose writes `WrittenFiles` remembers, and the longest it keeps. */
const MAX_REMEMBERED_COMMANDS = 4096;
const MAX_REMEMBERED_CHARS = 1024;

/**
 * `filesWrittenBy` for one engine: a fleet runs the same few writing-looking lines again and again
 * (cron jobs, health checks, each under a new pid), so the ones that had to be split into commands
 * are remembered. Bounded in lines and in line length; the answers are shared, read-only.
 */
export class WrittenFiles {
  private readonly recent = new Map<string, WrittenFile[]>();

  of(command: string): readonly WrittenFile[] {
    return readWrites(command, this.recent);
  }
}

function readWrites(command: string, recent: Map<string, WrittenFile[]> | undefined): WrittenFile[] {
  const text = command.slice(0, MAX_COMMAND_CHARS);
  const out: WrittenFile[] = [];
  if (/powershell|pwsh|DownloadFile|Invoke-WebRequest|iwr\b|Start-BitsTransfer/i.test(text)) {
    for (const m of text.matchAll(DOWNLOAD_FILE)) out.push({ path: m[2], how: 'fetched', url: m[1] });
    for (const m of text.matchAll(OUT_FILE)) out.push({ path: m[1], how: 'fetched' });
  }
  // most command lines write nothing: skip splitting them into commands when no writer could be named
  if (!WRITE_HINT.test(text)) return out;
  const known = recent?.get(text);
  if (known) return known;
  for (const words of simpleCommands(text)) {
    if (words.length === 0) continue;
    const tool = baseName(words[0])
      .toLowerCase()
      .replace(/\.exe$/, '');
    for (let i = 1; i < words.length; i++) {
      const w = words[i];
      if ((w === '>' || w === '>>' || w === '1>') && words[i + 1] !== undefined) {
        const target = words[i + 1];
        if (target !== '/dev/null') out.push({ path: stripQuotes(target), how: 'written' });
        i++;
        continue;
      }
      const inWord = w.indexOf('>');
      const target =
        inWord === 0 || /^\d>/.test(w) ? redirectTarget(w) : inWord > 0 ? redirectTarget(w.slice(inWord)) : undefined;
      if (target && target !== '/dev/null') out.push({ path: stripQuotes(target), how: 'written' });
    }
    if (['curl', 'wget', 'fetch', 'aria2c', 'tftp', 'certutil', 'bitsadmin', 'invoke-webrequest', 'iwr'].includes(tool))
      downloads(words, out);
    else if (tool === 'chmod') {
      const mode = words.slice(1).find((w) => !w.startsWith('-'));
      if (mode && /^(?:[ugoa]*\+[rwxXst]*x|[0-7]?[0-7]*[1357][0-7]*)$/.test(mode))
        for (const w of words.slice(words.indexOf(mode) + 1))
          if (!w.startsWith('-')) out.push({ path: w, how: 'made executable' });
    } else if (tool === 'cp' || tool === 'mv' || tool === 'install' || tool === 'copy' || tool === 'move') {
      const operands = words.slice(1).filter((w) => !w.startsWith('-') && !w.includes('>'));
      if (operands.length >= 2) {
        const dest = operands[operands.length - 1];
        const source = operands[operands.length - 2];
        const path = /[\\/]$/.test(dest) ? `${dest}${baseName(source)}` : dest;
        out.push({ path, how: 'copied' });
      }
    } else if (tool === 'dd') {
      for (const w of words) if (w.startsWith('of=')) out.push({ path: w.slice(3), how: 'written' });
    } else if (tool === 'tee') {
      for (const w of words.slice(1)) if (!w.startsWith('-')) out.push({ path: w, how: 'written' });
    }
  }
  const files = out.filter((f) => f.path.length > 0 && f.path.length <= MAX_PATH_CHARS && !f.path.includes('$'));
  if (recent && text.length <= MAX_REMEMBERED_CHARS) {
    if (recent.size >= MAX_REMEMBERED_COMMANDS) {
      const oldest = recent.keys().next();
      if (!oldest.done) recent.delete(oldest.value);
    }
    recent.set(text, files);
  }
  return files;
}

/**
 * The file an exec runs: its executable, or for a shell or interpreter the script it is given
 * (`sh /tmp/x.sh`, `python3 /tmp/m.py`), since a dropped script is what the dropper handed off.
 */
export function filesRunBy(executable: string | undefined, args: readonly string[] | undefined): string[] {
  const out: string[] = [];
  if (executable) out.push(executable);
  const script = scriptRunBy(executable, args);
  if (script) out.push(script);
  return out;
}

const INTERPRETERS = new Set([...SHELL_NAMES, 'python', 'perl', 'ruby', 'php', 'node']);

/** The script a shell or interpreter is given (`sh /tmp/x.sh`), if any: the second of `filesRunBy`. */
export function scriptRunBy(executable: string | undefined, args: readonly string[] | undefined): string | undefined {
  if (!args || !executable) return undefined;
  if (!INTERPRETERS.has(baseName(executable).replace(/[\d.]+$/, ''))) return undefined;
  if (args.includes('-c') || args.includes('-e')) return undefined;
  for (let i = 1; i < args.length; i++) if (!args[i].startsWith('-')) return args[i];
  return undefined;
}
