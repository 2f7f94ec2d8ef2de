/**
 * systemd service units (and their drop-ins) on a collected filesystem: one `persistence-entry` per Exec*
 * line of the [Service] section, carrying the unit's User=, Description=, Restart= and WorkingDirectory=.
 * Syntax per systemd.syntax(7): `#`/`;` comments, `[Section]` headers, `Key=Value`, trailing `\` continues
 * a line (comment lines inside a continuation are skipped).
 */
import type { CoalEvent } from '../../model/event.js';
import { type Issue, issue } from '../../model/issue.js';
import { clip } from '../../util/hostile.js';
import type { SourceContext, SourceDescriptor, SourceInput } from '../types.js';
import {
  BinaryTally,
  bestPlace,
  entryEvent,
  type FileLocation,
  isBinaryLine,
  NAME_SCORE,
  PATH_SCORE,
  type PersistenceFile,
  type PlaceMatch,
  persistenceFile,
  persistenceLines,
  segmentMatches,
} from './file.js';

/** Directories systemd loads units from; `*` is a home directory's owner. */
const UNIT_ROOTS: readonly (readonly string[])[] = [
  ['etc', 'systemd'],
  ['run', 'systemd'],
  ['lib', 'systemd'],
  ['usr', 'lib', 'systemd'],
  ['usr', 'local', 'lib', 'systemd'],
  ['root', '.config', 'systemd', 'user'],
  ['home', '*', '.config', 'systemd', 'user'],
];
/** Every key that makes systemd run a command line for a service. */
const EXEC_KEYS = new Set([
  'ExecStart',
  'ExecStartPre',
  'ExecStartPost',
  'ExecReload',
  'ExecStop',
  'ExecStopPost',
  'ExecCondition',
]);
/** Exec prefixes (`-` ignore failure, `@` own argv[0], `:` no expansion, `+`/`!`/`!!` privileges). */
const EXEC_PREFIXES = new Set(['-', '@', ':', '+', '!']);
const KEY = /^[A-Za-z0-9_-]+$/;
const MAX_LOGICAL_CHARS = 64 * 1024;

interface UnitPlace extends PlaceMatch {
  /** Owner of a per-user unit directory: the user its commands run as unless User= says otherwise. */
  owner?: string;
}

function isUnitFile(segments: string[]): boolean {
  const base = segments[segments.length - 1] ?? '';
  const parent = segments[segments.length - 2] ?? '';
  // drop-ins (`sshd.service.d/override.conf`) can replace ExecStart as well as a unit file can
  return segmentMatches('*.service', base) || (segmentMatches('*.service.d', parent) && segmentMatches('*.conf', base));
}

/** Where a unit root starts in the path: no later than `location.from` (0 for a collection path). */
function unitRoot(location: FileLocation): { at: number; root: readonly string[] } | undefined {
  const { segments } = location;
  for (let at = 0; at <= location.from; at++)
    for (const root of UNIT_ROOTS) {
      if (at + root.length >= segments.length) continue;
      if (root.every((pattern, i) => segmentMatches(pattern, segments[at + i]))) return { at, root };
    }
  return undefined;
}

function unitPlaceAt(location: FileLocation, head: string): UnitPlace | undefined {
  if (!isUnitFile(location.segments)) return undefined;
  const found = unitRoot(location);
  if (found) {
    const { at, root } = found;
    const owner = root[0] === 'root' ? 'root' : root[0] === 'home' ? location.segments[at + 1] : undefined;
    return owner !== undefined ? { score: PATH_SCORE, at, owner } : { score: PATH_SCORE, at };
  }
  if (!location.isInDirectory && (head.includes('[Service]') || head.includes('[Unit]'))) return { score: NAME_SCORE };
  return undefined;
}

function unitPlace(input: Pick<SourceInput, 'name' | 'relPath' | 'localPath'>, head: string) {
  return bestPlace(input, (location) => unitPlaceAt(location, head));
}

interface PendingExec {
  lineNo: number;
  line: string;
  key: string;
  value: string;
  command: string;
}

/** What the unit says about how its commands run; the last assignment wins, as in systemd. */
interface UnitFacts {
  description?: string;
  user?: string;
  restart?: string;
  workingDirectory?: string;
}

/**
 * Whether an Exec command line ends inside a quote, as systemd splits it (quotes open a word's
 * quoting, `\` escapes the next character inside and outside them). systemd refuses such a line
 * ("Invalid syntax"), and a unit copied while written ends this way.
 */
export function execQuoteOpen(value: string): boolean {
  let quote = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92) i++;
    else if (quote === 0 && (c === 34 || c === 39)) quote = c;
    else if (c === quote) quote = 0;
  }
  return quote !== 0;
}

function stripExecPrefixes(value: string): string {
  let i = 0;
  while (i < value.length && EXEC_PREFIXES.has(value[i])) i++;
  return value.slice(i).trimStart();
}

class UnitReader {
  private section: string | undefined;
  /** After a broken section header systemd refuses the file; its keys are not reported one by one. */
  private inBadSection = false;
  private readonly facts: UnitFacts = {};
  private pending: PendingExec[] = [];
  private continuation: { lineNo: number; parts: string[]; chars: number } | undefined;
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  line(lineNo: number, raw: string, issues: Issue[]): void {
    const text = raw.trim();
    if (this.continuation) {
      if (text.startsWith('#') || text.startsWith(';')) return;
      const c = this.continuation;
      c.chars += text.length;
      if (c.chars > MAX_LOGICAL_CHARS) {
        issues.push(issue({ file: this.file, line: c.lineNo }, 'UNIT_BAD_LINE', 'continued line over 64 KiB; dropped'));
        this.continuation = undefined;
        return;
      }
      if (text.endsWith('\\')) {
        c.parts.push(text.slice(0, -1).trimEnd());
        return;
      }
      c.parts.push(text);
      this.continuation = undefined;
      this.logical(c.lineNo, c.parts.join(' '), issues);
      return;
    }
    if (text === '' || text.startsWith('#') || text.startsWith(';')) return;
    if (text.endsWith('\\')) {
      this.continuation = { lineNo, parts: [text.slice(0, -1).trimEnd()], chars: text.length };
      return;
    }
    this.logical(lineNo, text, issues);
  }

  end(issues: Issue[]): void {
    const c = this.continuation;
    if (!c) return;
    this.continuation = undefined;
    issues.push(issue({ file: this.file, line: c.lineNo }, 'UNIT_BAD_LINE', 'file ends inside a continued line'));
    this.logical(c.lineNo, c.parts.join(' '), issues);
  }

  private logical(lineNo: number, text: string, issues: Issue[]): void {
    const bad = (reason: string) => issues.push(issue({ file: this.file, line: lineNo }, 'UNIT_BAD_LINE', reason));
    if (text.startsWith('[')) {
      // systemd refuses a whole unit over a broken header; we read on to show what the rest would run
      if (text.endsWith(']') && text.length > 2 && !text.slice(1, -1).includes(']')) {
        this.section = text.slice(1, -1);
        this.inBadSection = false;
      } else {
        bad(`section header '${clip(text, 60)}' is not closed by ']'; keys up to the next header are ignored`);
        this.section = undefined;
        this.inBadSection = true;
      }
      return;
    }
    if (this.inBadSection) return;
    const eq = text.indexOf('=');
    if (eq === -1) {
      bad(`'${clip(text, 60)}' is neither a section header nor a key=value assignment`);
      return;
    }
    const key = text.slice(0, eq).trim();
    const value = text.slice(eq + 1).trim();
    if (!KEY.test(key)) {
      bad(`'${clip(key, 60)}' is not a key name`);
      return;
    }
    if (this.section === undefined) {
      bad(`${key}= outside of any section`);
      return;
    }
    if (this.section === 'Unit' && key === 'Description') this.facts.description = value;
    if (this.section !== 'Service') return;
    if (key === 'User') this.facts.user = value || undefined;
    else if (key === 'Restart') this.facts.restart = value || undefined;
    else if (key === 'WorkingDirectory') this.facts.workingDirectory = value.replace(/^-/, '') || undefined;
    else if (EXEC_KEYS.has(key)) {
      // an empty assignment resets that key's list (how drop-ins replace ExecStart): earlier ones never run
      if (value === '') this.pending = this.pending.filter((p) => p.key !== key);
      else if (execQuoteOpen(value))
        bad(
          `${key}= leaves a quote open (cut while written?); systemd refuses the line, so it is not read as a command`,
        );
      else this.pending.push({ lineNo, line: text, key, value, command: stripExecPrefixes(value) });
    }
  }

  /** The entries read so far, with the unit facts known so far. */
  take(file: PersistenceFile, owner: string | undefined): CoalEvent[] {
    const { description, user, restart, workingDirectory } = this.facts;
    const events = this.pending.map((p) => {
      const original: Record<string, unknown> = { section: 'Service', key: p.key, value: p.value, command: p.command };
      if (description !== undefined) original.description = description;
      if (user !== undefined) original.user = user;
      if (restart !== undefined) original.restart = restart;
      if (workingDirectory !== undefined) original.workingDirectory = workingDirectory;
      return entryEvent(file, {
        lineNo: p.lineNo,
        line: p.line,
        mechanism: 'systemd',
        command: p.command,
        user: user ?? owner,
        workingDirectory,
        original,
      });
    });
    this.pending = [];
    return events;
  }

  get pendingCount(): number {
    return this.pending.length;
  }
}

async function* readUnit(
  input: SourceInput,
  context: SourceContext,
  file: PersistenceFile,
  owner: string | undefined,
): AsyncGenerator<{ events: CoalEvent[]; issues: Issue[] }> {
  const issues: Issue[] = [];
  const reader = new UnitReader(input.name);
  const binary = new BinaryTally(input.name, 'UNIT_BINARY');
  let flushedEarly = false;
  const events: CoalEvent[] = [];
  for await (const { lineNo, line } of persistenceLines(input, context, issues)) {
    if (isBinaryLine(line)) {
      binary.note(lineNo, issues);
      continue;
    }
    reader.line(lineNo, line, issues);
    if (reader.pendingCount >= context.maxPendingRecords) {
      // User= may come later in the file; entries are held for it, but not without bound
      if (!flushedEarly)
        issues.push(
          issue(
            { file: input.name, line: lineNo },
            'UNIT_TOO_MANY_EXEC',
            `over ${context.maxPendingRecords} Exec lines; entries up to here carry only the unit settings read so far`,
          ),
        );
      flushedEarly = true;
      yield { events: reader.take(file, owner), issues: issues.splice(0) };
    }
  }
  reader.end(issues);
  binary.finish(issues);
  events.push(...reader.take(file, owner));
  yield { events, issues };
}

export const systemdUnit: SourceDescriptor = {
  name: 'systemd-unit',
  summary: 'systemd service units and drop-ins on a collected Linux filesystem: their Exec* command lines',
  platform: 'linux',
  delivers: 'state',
  sniff(head, input) {
    return unitPlace(input, head)?.score ?? 0;
  },
  async *read(input, context) {
    const issues: Issue[] = [];
    const place = unitPlace(input, input.head.toString('utf8', 0, 4096));
    const file = persistenceFile(input, 'systemd-unit', issues, place?.path);
    if (!file) {
      yield { events: [], issues };
      return;
    }
    const owner = place?.owner;
    yield* readUnit(input, context, file, owner);
  },
};
