/**
 * Cron tables on a collected filesystem: /etc/crontab and /etc/cron.d/* (schedule, user, command), the
 * per-user spools (schedule, command; the file is named after its user) and the run-parts script folders
 * /etc/cron.{hourly,daily,weekly,monthly}. One `persistence-entry` per job; environment lines are not jobs.
 */
import type { CoalEvent } from '../../model/event.js';
import { type Issue, issue } from '../../model/issue.js';
import { clip } from '../../util/hostile.js';
import type { SourceDescriptor, SourceInput } from '../types.js';
import {
  BinaryTally,
  bestPlace,
  CONTENT_SCORE,
  entryEvent,
  type FileLocation,
  isBinaryLine,
  matchAny,
  matchPath,
  NAME_SCORE,
  PATH_SCORE,
  type PersistenceFile,
  type PlaceMatch,
  persistenceFile,
  persistenceLines,
} from './file.js';
import { leavesQuoteOpen, readShellEntries } from './shell-rc.js';

/** `system`: 5 fields + user + command; `user`: 5 fields + command; `script`: a run-parts shell script. */
type CronKind = { format: 'system' } | { format: 'user'; user?: string } | { format: 'script'; schedule: string };

const SPECIALS = new Set(['@reboot', '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const SCRIPT_DIRS: Record<string, string> = {
  'cron.hourly': '@hourly',
  'cron.daily': '@daily',
  'cron.weekly': '@weekly',
  'cron.monthly': '@monthly',
};
/** minute, hour, day of month, month, day of week (0 and 7 are both Sunday). */
const FIELD_RANGES: readonly (readonly [number, number])[] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];
const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MAX_FIELD_CHARS = 128;
/** cron's own environment-setting syntax: `NAME = value`, spaces around `=` allowed. */
const ENV_LINE = /^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/;
/** Login names as useradd accepts them (and Samba machine accounts' trailing `$`). */
const USER_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\$?$/;
const SNIFF_LINES = 50;

function cronKindAt(location: FileLocation): (PlaceMatch & { kind: CronKind }) | undefined {
  const base = location.segments[location.segments.length - 1];
  const at = matchAny(location, [
    ['etc', 'crontab'],
    ['etc', 'cron.d', '*'],
  ]);
  if (at >= 0) return { kind: { format: 'system' }, score: PATH_SCORE, at };
  for (const spool of [
    ['var', 'spool', 'cron', 'crontabs', '*'], // Debian, Alpine
    ['var', 'spool', 'cron', 'tabs', '*'], // SUSE
    ['etc', 'crontabs', '*'], // busybox crond
    ['var', 'spool', 'cron', '*'], // RHEL
  ]) {
    const at = matchPath(location, spool);
    if (at >= 0) return { kind: { format: 'user', user: base }, score: PATH_SCORE, at };
  }
  for (const [dir, schedule] of Object.entries(SCRIPT_DIRS)) {
    const at = matchPath(location, ['etc', dir, '*']);
    if (at >= 0) return { kind: { format: 'script', schedule }, score: PATH_SCORE, at };
  }
  if (!location.isInDirectory && base === 'crontab') return { kind: { format: 'system' }, score: NAME_SCORE };
  return undefined;
}

function cronKind(input: Pick<SourceInput, 'name' | 'relPath' | 'localPath'>) {
  return bestPlace(input, cronKindAt);
}

/** Whitespace-separated words from the front of `line`, and where the rest starts. */
function takeWords(line: string, count: number): { words: string[]; rest: string } {
  const words: string[] = [];
  let i = 0;
  while (words.length < count) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= line.length) break;
    const start = i;
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++;
    words.push(line.slice(start, i));
  }
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return { words, rest: line.slice(i) };
}

function fieldValue(text: string, index: number): number | undefined {
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const names = index === 3 ? MONTHS : index === 4 ? DAYS : undefined;
  const at = names?.indexOf(text.toLowerCase()) ?? -1;
  if (at === -1) return undefined;
  return index === 3 ? at + 1 : at;
}

/** One schedule field: a comma list of `*`, `N` or `N-M`, each with an optional `/step`. */
function isValidField(text: string, index: number): boolean {
  if (text.length === 0 || text.length > MAX_FIELD_CHARS) return false;
  const [low, high] = FIELD_RANGES[index];
  for (const item of text.split(',')) {
    const slash = item.indexOf('/');
    const base = slash === -1 ? item : item.slice(0, slash);
    if (slash !== -1) {
      const step = item.slice(slash + 1);
      if (!/^\d{1,2}$/.test(step) || Number(step) === 0) return false;
    }
    if (base === '*') continue;
    const dash = base.indexOf('-');
    const ends = dash === -1 ? [base] : [base.slice(0, dash), base.slice(dash + 1)];
    for (const end of ends) {
      const value = fieldValue(end, index);
      if (value === undefined || value < low || value > high) return false;
    }
  }
  return true;
}

type CronLine =
  | { type: 'skip' }
  | { type: 'bad'; reason: string }
  | { type: 'job'; schedule: string; user?: string; command: string };

/** Parses one line of a crontab in the given format. Never throws; bad lines say why. */
export function parseCronLine(line: string, format: 'system' | 'user'): CronLine {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return { type: 'skip' };
  if (ENV_LINE.test(text)) return { type: 'skip' };
  const userField = format === 'system' ? 1 : 0;
  let schedule: string;
  let after: string;
  if (text.startsWith('@')) {
    const { words, rest } = takeWords(text, 1);
    if (!SPECIALS.has(words[0].toLowerCase()))
      return { type: 'bad', reason: `unknown schedule '${clip(words[0], 40)}'` };
    schedule = words[0].toLowerCase();
    after = rest;
  } else {
    const { words, rest } = takeWords(text, 5);
    if (words.length < 5) return { type: 'bad', reason: `expected 5 schedule fields, found ${words.length}` };
    for (let i = 0; i < 5; i++)
      if (!isValidField(words[i], i))
        return { type: 'bad', reason: `${FIELD_NAMES[i]} field '${clip(words[i], 40)}' is not a cron schedule` };
    schedule = words.join(' ');
    after = rest;
  }
  const { words, rest } = takeWords(after, userField);
  const command = rest.trimEnd();
  if (words.length < userField || command === '')
    return {
      type: 'bad',
      reason: format === 'system' ? 'schedule without a user and a command' : 'schedule without a command',
    };
  const user = words[0];
  if (user !== undefined && !USER_NAME.test(user))
    return {
      type: 'bad',
      reason: `user field '${clip(user, 40)}' is not a user name (a user-crontab line in a system crontab?)`,
    };
  return user !== undefined ? { type: 'job', schedule, user, command } : { type: 'job', schedule, command };
}

/** Content sniff for a file given on its own: mostly cron lines, at least one with `*` or `@`. */
function looksLikeCrontab(head: string): boolean {
  const lines = head.split('\n', SNIFF_LINES + 1);
  if (lines.length > SNIFF_LINES) lines.pop(); // may be cut mid-line
  let jobs = 0;
  let starred = 0;
  let bad = 0;
  for (const line of lines) {
    const parsed = parseCronLine(line, 'user');
    if (parsed.type === 'bad') bad++;
    else if (parsed.type === 'job') {
      jobs++;
      if (parsed.schedule.includes('*') || parsed.schedule.startsWith('@')) starred++;
    }
  }
  return jobs > 0 && starred > 0 && bad * 4 <= jobs;
}

async function* readTable(
  input: SourceInput,
  context: Parameters<SourceDescriptor['read']>[1],
  file: PersistenceFile,
  kind: { format: 'system' } | { format: 'user'; user?: string },
): AsyncGenerator<{ events: CoalEvent[]; issues: Issue[] }> {
  const issues: Issue[] = [];
  const binary = new BinaryTally(input.name, 'CRON_BINARY');
  let events: CoalEvent[] = [];
  for await (const { lineNo, line } of persistenceLines(input, context, issues)) {
    if (isBinaryLine(line)) {
      binary.note(lineNo, issues);
      continue;
    }
    const parsed = parseCronLine(line, kind.format);
    if (parsed.type === 'bad') issues.push(issue({ file: input.name, line: lineNo }, 'CRON_BAD_LINE', parsed.reason));
    if (parsed.type !== 'job') continue;
    if (leavesQuoteOpen(parsed.command)) {
      // cron hands the command to sh, which refuses it; a line cut while written ends this way
      issues.push(
        issue(
          { file: input.name, line: lineNo },
          'CRON_UNTERMINATED',
          'the command leaves a quote or substitution open (cut while written?); sh would not run it, so it is not read as a command',
        ),
      );
      continue;
    }
    const user = parsed.user ?? (kind.format === 'user' ? kind.user : undefined);
    const original: Record<string, unknown> = { schedule: parsed.schedule };
    if (parsed.user !== undefined) original.user = parsed.user;
    original.command = parsed.command;
    events.push(
      entryEvent(file, { lineNo, line: line.trim(), mechanism: 'cron', command: parsed.command, user, original }),
    );
    if (events.length >= context.maxPendingRecords) {
      yield { events, issues: issues.splice(0) };
      events = [];
    }
  }
  binary.finish(issues);
  yield { events, issues };
}

export const crontab: SourceDescriptor = {
  name: 'crontab',
  summary: 'Cron tables and cron script folders on a collected Linux filesystem (/etc/crontab, cron.d, spools)',
  platform: 'linux',
  delivers: 'state',
  sniff(head, input) {
    const known = cronKind(input);
    if (known) return known.score;
    // content alone only for a file given directly: in a collection, a cron-looking file elsewhere is not installed
    return input.relPath === undefined && looksLikeCrontab(head) ? CONTENT_SCORE : 0;
  },
  async *read(input, context) {
    const issues: Issue[] = [];
    const place = cronKind(input);
    const file = persistenceFile(input, 'crontab', issues, place?.path);
    if (!file) {
      yield { events: [], issues };
      return;
    }
    // a file given on its own and sniffed by content is most often `crontab -l` output: user format
    const kind = place?.kind ?? { format: 'user' };
    if (kind.format === 'script') {
      // run-parts runs these from /etc/crontab (or anacron) as root
      yield* readShellEntries(input, context, file, {
        code: 'CRON',
        mechanism: 'cron',
        user: 'root',
        original: { schedule: kind.schedule },
      });
      return;
    }
    yield* readTable(input, context, file, kind);
  },
};
