/**
 * Shell start-up and boot scripts on a collected filesystem (~/.bashrc, /etc/profile.d/*.sh, rc.local,
 * init.d): one `persistence-entry` per logical line that runs a program; assignments, aliases, tests,
 * keywords and sourcing of standard files are configuration, not entries. crontab reuses the shell line
 * reader for cron.daily scripts.
 */
import type { CoalEvent } from '../../model/event.js';
import { type Issue, issue } from '../../model/issue.js';
import type { SourceContext, SourceDescriptor, SourceInput } from '../types.js';
import {
  BinaryTally,
  bestPlace,
  entryEvent,
  type FileLocation,
  isBinaryLine,
  type Mechanism,
  matchAny,
  matchPath,
  NAME_SCORE,
  PATH_SCORE,
  type PersistenceFile,
  type PlaceMatch,
  persistenceFile,
  persistenceLines,
} from './file.js';
// ---------------------------------------------------------------------------------------------
// The shell line classifier

/** A logical line: physical lines joined while a quote, substitution, `\` continuation or here-doc is open. */
export interface ShellLine {
  lineNo: number;
  text: string;
  /** Some command started on it runs a program (not a builtin, keyword, assignment or standard source). */
  runs: boolean;
}

/** A set from a space-separated word list (word lists stay readable on a few lines). */
function words(list: string): Set<string> {
  return new Set(list.split(' '));
}

/** Bounds on one logical line; past them it is cut and the reader starts afresh (over-reporting, not hiding). */
const MAX_JOINED_LINES = 64;
const MAX_JOINED_CHARS = 16 * 1024;
const MAX_HEREDOC_LINES = 1024;
const MAX_FRAMES = 32;
const MAX_FUNCTIONS = 512;

/** Words stripped from the front of a command: they introduce or close a compound, the command follows. */
const LEADING_KEYWORDS = words('if then else elif do while until ! { } fi done esac time');
/** First words whose command only configures the shell (or is a compound header that runs nothing itself). */
const CONFIG_WORDS = words(
  'for select case in alias unalias export unset readonly declare typeset local shopt set setopt unsetopt umask ulimit return exit true false : test [ [[ echo printf cd pushd popd shift break continue wait history hash type complete compgen compopt bind bindkey zstyle autoload zmodload compinit promptinit read let getopts emulate',
);
/** Programs stock rc files call to set up a terminal or compute a value; they start nothing that stays. */
const RC_HELPERS = words(
  'lesspipe lesspipe.sh dircolors tput stty mesg tty tabs setterm locale locale-check id uname hostname whoami cat grep egrep fgrep sed awk cut tr head tail basename dirname ls wc sort',
);
/** LSB and Red Hat init-function helpers that only log or query; init.d scripts call them on every line. */
const INIT_FUNCTIONS = words(
  'log_daemon_msg log_end_msg log_action_msg log_action_begin_msg log_action_end_msg log_begin_msg log_success_msg log_failure_msg log_warning_msg status_of_proc pidofproc success failure warning passed echo_success echo_failure',
);
/** Where a helper's absolute path must live to count as the helper rather than a look-alike in /tmp. */
const SYSTEM_BIN_DIRS = new Set(['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin']);
/** Words that run their arguments: the program is the first word after options and assignments. */
const WRAPPERS = words('eval exec command builtin nohup setsid sudo doas env nice ionice stdbuf');
/** Sourced files under these are the distribution's own. */
const STANDARD_SOURCE_DIRS = ['/etc/', '/usr/share/', '/usr/lib/', '/lib/', '/usr/local/etc/'];
/** Home files that rc files conventionally source. */
const HOME_SOURCES = words(
  '.bashrc .bash_aliases .bash_profile .bash_login .profile .bash_functions .aliases .zshrc .cargo/env .nvm/nvm.sh .nvm/bash_completion .fzf.bash .fzf.zsh',
);

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const ARRAY_START = /^[A-Za-z_][A-Za-z0-9_]*\+?=$/;
const HOME_PREFIX = /^(~|\$HOME|\$\{HOME\})\//;

type FrameKind = 'top' | 'sub' | 'backtick' | 'array';

/** A code context: the top level, a `$( … )` / backtick substitution, or an array literal's `( … )`. */
interface Frame {
  kind: FrameKind;
  words: string[];
  word: string;
  hasWord: boolean;
  inSingle: boolean;
  inDouble: boolean;
  /** The next finished word is a redirection target, not an argument. */
  redirect: boolean;
  heredocPending: boolean;
  heredocStrip: boolean;
  parenDepth: number;
  /** Index in the line's command list where the current `;`-separated segment began (case patterns). */
  segmentStart: number;
}

function newFrame(kind: FrameKind, segmentStart: number): Frame {
  return {
    kind,
    words: [],
    word: '',
    hasWord: false,
    inSingle: false,
    inDouble: false,
    redirect: false,
    heredocPending: false,
    heredocStrip: false,
    parenDepth: 0,
    segmentStart,
  };
}

/**
 * Reads shell source line by line with bash's quoting in mind (single and double quotes, `$( )`, backticks,
 * `${ }`, `$(( ))`, here-docs, `\` continuations, function definitions, case patterns) and says which logical
 * lines run something. It is a classifier, not a parser: it never evaluates, and it scans each character
 * once. Blind spots: a program named through a variable (`$X`), and aliases defined elsewhere.
 */
export class ShellLineReader {
  private frames: Frame[] = [newFrame('top', 0)];
  private readonly functions = new Set<string>();
  private commands: string[][] = [];
  private startLine = 0;
  private parts: string[] = [];
  private chars = 0;
  private runs = false;
  private heredocs: { word: string; strip: boolean }[] = [];
  private heredocLines = 0;
  private continued = false;
  private readonly file: string;
  private readonly code: string;

  /** `code` prefixes this reader's issues (`SHELL_RC`, `CRON`). */
  constructor(file: string, code: string) {
    this.file = file;
    this.code = code;
  }

  /** Feed one physical line; returns a logical line when it is complete. */
  push(lineNo: number, line: string, issues: Issue[]): ShellLine | undefined {
    if (this.parts.length === 0) {
      this.startLine = lineNo;
      this.runs = false;
    }
    if (this.heredocs.length > 0) return this.heredocLine(line);
    this.append(line);
    this.scan(line);
    if (this.judgeCommands()) this.runs = true; // judged every time: it also clears the finished commands
    if (this.isOpen()) {
      if (this.parts.length < MAX_JOINED_LINES && this.chars < MAX_JOINED_CHARS) return undefined;
      issues.push(
        issue(
          { file: this.file, line: this.startLine },
          `${this.code}_UNTERMINATED`,
          `quote, substitution or continuation still open after ${this.parts.length} lines; read on as code`,
        ),
      );
      this.reset();
    }
    return this.heredocs.length > 0 ? undefined : this.take();
  }

  /**
   * Call at the end of the file: flushes an unterminated construct with an issue. As bash does, a
   * here-document or `\` continuation the end of the file closes still runs; a quote or substitution
   * still open does not (bash: unexpected end of file), and is how a file cut while written ends, so
   * that entry is reported and not given back as a command.
   */
  end(issues: Issue[]): ShellLine | undefined {
    if (this.parts.length === 0) return undefined;
    const cut = this.heredocs.length === 0 && this.quoteOpen();
    issues.push(
      issue(
        { file: this.file, line: this.startLine },
        `${this.code}_UNTERMINATED`,
        this.heredocs.length > 0
          ? 'file ends inside a here-document; read as closed there, as bash runs it'
          : cut
            ? 'file ends inside a quote or substitution (cut while written?); bash would not run it, so it is not read as a command'
            : 'file ends inside a continuation; read as closed there, as bash runs it',
      ),
    );
    if (cut) {
      this.reset();
      this.parts = [];
      this.chars = 0;
      return undefined;
    }
    this.finishCommand(this.frames[this.frames.length - 1]);
    if (this.judgeCommands()) this.runs = true; // judged every time: it also clears the finished commands
    return this.take();
  }

  private append(line: string): void {
    if (this.chars < MAX_JOINED_CHARS) this.parts.push(line);
    this.chars += line.length + 1;
  }

  private take(): ShellLine {
    const result = { lineNo: this.startLine, text: this.parts.join('\n').trim(), runs: this.runs };
    this.parts = [];
    this.chars = 0;
    return result;
  }

  private reset(): void {
    this.frames = [newFrame('top', 0)];
    this.commands = [];
    this.heredocs = [];
    this.heredocLines = 0;
    this.continued = false;
  }

  /** A quote or `$(`/backtick substitution is still open: sh refuses to run what it holds. */
  quoteOpen(): boolean {
    const f = this.frames[this.frames.length - 1];
    return this.frames.length > 1 || f.inSingle || f.inDouble;
  }

  private isOpen(): boolean {
    return this.continued || this.quoteOpen();
  }

  private heredocLine(line: string): ShellLine | undefined {
    if (this.heredocLines < MAX_HEREDOC_LINES) this.append(line);
    this.heredocLines++;
    const doc = this.heredocs[0];
    const body = doc.strip ? line.replace(/^\t+/, '') : line;
    if (body !== doc.word) return undefined;
    this.heredocs.shift();
    this.heredocLines = 0;
    if (this.heredocs.length > 0) return undefined;
    return this.isOpen() ? undefined : this.take();
  }

  /** Scan one physical line, carrying quote and substitution state over from the previous one. */
  private scan(line: string): void {
    this.continued = false;
    const top = this.frames[0];
    if (this.frames.length === 1 && !top.inSingle && !top.inDouble) top.segmentStart = this.commands.length;
    let i = 0;
    const n = line.length;
    while (i < n) {
      const f = this.frames[this.frames.length - 1];
      const c = line[i];
      if (f.inSingle) {
        const close = line.indexOf("'", i);
        if (close === -1) {
          f.word += line.slice(i);
          return;
        }
        f.word += line.slice(i, close);
        f.inSingle = false;
        i = close + 1;
        continue;
      }
      if (c === '\\') {
        if (i + 1 >= n) {
          this.continued = true;
          return;
        }
        f.word += line[i + 1];
        f.hasWord = true;
        i += 2;
        continue;
      }
      if (c === '$' && line[i + 1] === '{') {
        i = this.consumeBraced(line, i, f);
        continue;
      }
      if (c === '$' && line[i + 1] === '(' && line[i + 2] === '(') {
        i = this.consumeArithmetic(line, i, f);
        continue;
      }
      if (c === '$' && line[i + 1] === '(') {
        this.enter('sub', f);
        i += 2;
        continue;
      }
      if (c === '`') {
        if (f.kind === 'backtick') this.leave();
        else this.enter('backtick', f);
        i++;
        continue;
      }
      if (f.inDouble) {
        if (c === '"') f.inDouble = false;
        else f.word += c;
        i++;
        continue;
      }
      if (c === "'") {
        f.inSingle = true;
        f.hasWord = true;
        i++;
        continue;
      }
      if (c === '"') {
        f.inDouble = true;
        f.hasWord = true;
        i++;
        continue;
      }
      if (c === '#' && !f.hasWord && f.word === '') return; // comment to end of line
      if (c === ' ' || c === '\t') {
        this.finishWord(f);
        i++;
        continue;
      }
      if (c === '>' || c === '<') {
        i = this.redirection(line, i, f);
        continue;
      }
      if (c === ';' || c === '&' || c === '|') {
        this.finishCommand(f);
        if (c === ';') f.segmentStart = this.commands.length;
        i++;
        continue;
      }
      if (c === '(') {
        i = this.openParen(line, i, f);
        continue;
      }
      if (c === ')') {
        this.closeParen(f);
        i++;
        continue;
      }
      f.word += c;
      f.hasWord = true;
      i++;
    }
    const f = this.frames[this.frames.length - 1];
    if (!f.inSingle && !f.inDouble) {
      this.finishCommand(f);
      f.segmentStart = this.commands.length;
    }
  }

  /** `${…}` is one word piece; its braces may hold parentheses and quotes that are not code. */
  private consumeBraced(line: string, i: number, f: Frame): number {
    let depth = 0;
    let j = i + 1;
    for (; j < line.length; j++) {
      if (line[j] === '{') depth++;
      else if (line[j] === '}' && --depth === 0) break;
    }
    f.word += line.slice(i, j + 1);
    f.hasWord = true;
    return j + 1;
  }

  /** `$(( … ))` is arithmetic, not a command. */
  private consumeArithmetic(line: string, i: number, f: Frame): number {
    let depth = 0;
    let j = i + 1;
    for (; j < line.length; j++) {
      if (line[j] === '(') depth++;
      else if (line[j] === ')' && --depth === 0) break;
    }
    f.word += line.slice(i, j + 1);
    f.hasWord = true;
    return j + 1;
  }

  private enter(kind: FrameKind, outer: Frame): void {
    // the substitution's output is part of the outer word; `$(…)` marks it so `X=$(…)` stays an assignment
    outer.word += '$(…)';
    outer.hasWord = true;
    if (this.frames.length < MAX_FRAMES) this.frames.push(newFrame(kind, this.commands.length));
  }

  private leave(): void {
    if (this.frames.length === 1) return;
    const inner = this.frames.pop();
    if (inner) this.finishCommand(inner);
  }

  private openParen(line: string, i: number, f: Frame): number {
    if (ARRAY_START.test(f.word)) {
      // `plugins=(git docker)`: the words are values, not commands (substitutions inside still run)
      f.word += '(…)';
      if (this.frames.length < MAX_FRAMES) this.frames.push(newFrame('array', this.commands.length));
      return i + 1;
    }
    let j = i + 1;
    while (line[j] === ' ' || line[j] === '\t') j++;
    if (line[j] === ')') {
      // `name() {` defines a function: later calls to it are not programs
      this.finishWord(f);
      const name = f.words[f.words.length - 1];
      if (name !== undefined && this.functions.size < MAX_FUNCTIONS) this.functions.add(name);
      f.words = [];
      return j + 1;
    }
    this.finishCommand(f);
    f.parenDepth++;
    return i + 1;
  }

  private closeParen(f: Frame): void {
    if (f.parenDepth > 0) {
      this.finishCommand(f);
      f.parenDepth--;
    } else if (f.kind === 'sub' || f.kind === 'array') this.leave();
    else {
      // an unmatched `)` ends a case pattern (`*i*)`, `xterm*|rxvt*)`): what came before it was patterns
      this.finishWord(f);
      f.words = [];
      this.commands.length = Math.min(this.commands.length, f.segmentStart);
    }
  }

  /** Skips the operator and marks the target word; `<<WORD` queues a here-document. */
  private redirection(line: string, i: number, f: Frame): number {
    if (line[i + 1] === '(') {
      this.enter('sub', f); // process substitution `<(…)` runs its contents like `$(…)`
      return i + 2;
    }
    if (/^\d+$/.test(f.word)) {
      f.word = ''; // the fd number of `2>`
      f.hasWord = false;
    } else this.finishWord(f);
    const isHeredoc = line[i] === '<' && line[i + 1] === '<' && line[i + 2] !== '<';
    let j = i + 1;
    while (j < line.length && (line[j] === '>' || line[j] === '<' || line[j] === '&' || line[j] === '|')) j++;
    if (isHeredoc && line[j] === '-') {
      f.heredocStrip = true;
      j++;
    }
    const dup = /^[0-9-]/.test(line[j] ?? '') && line[j - 1] === '&';
    if (dup) {
      while (j < line.length && /[0-9-]/.test(line[j])) j++; // `>&2`, `2>&-`
      return j;
    }
    f.redirect = true; // also a here-string's word: data, not an argument
    f.heredocPending = isHeredoc;
    return j;
  }

  private finishWord(f: Frame): void {
    if (!f.hasWord && f.word === '') return;
    const word = f.word;
    f.word = '';
    f.hasWord = false;
    if (f.redirect) {
      f.redirect = false;
      if (f.heredocPending && this.heredocs.length < 8) this.heredocs.push({ word, strip: f.heredocStrip });
      f.heredocPending = false;
      f.heredocStrip = false;
      return;
    }
    f.words.push(word);
  }

  private finishCommand(f: Frame): void {
    this.finishWord(f);
    if (f.words.length > 0 && f.kind !== 'array') this.commands.push(f.words);
    f.words = [];
  }

  /** Judges the commands finished since the last call; any that runs a program marks the line. */
  private judgeCommands(): boolean {
    let runs = false;
    for (const words of this.commands) if (this.commandRuns(words)) runs = true;
    this.commands = [];
    for (const f of this.frames) f.segmentStart = 0;
    return runs;
  }

  private commandRuns(all: string[]): boolean {
    let i = 0;
    const skipAssignments = () => {
      while (i < all.length && ASSIGNMENT.test(all[i])) i++;
    };
    for (;;) {
      skipAssignments();
      while (i < all.length && LEADING_KEYWORDS.has(all[i])) i++;
      if (i >= all.length) return false;
      const word = all[i];
      if (word === 'function') {
        const name = all[i + 1];
        if (name !== undefined && this.functions.size < MAX_FUNCTIONS) this.functions.add(name.replace(/\(\)$/, ''));
        return false;
      }
      if (word === '.' || word === 'source') {
        const path = all[i + 1];
        return path !== undefined && !isStandardSource(path);
      }
      if (WRAPPERS.has(word)) {
        if ((word === 'command' || word === 'builtin') && all[i + 1]?.startsWith('-')) return false; // `command -v x`
        i++;
        while (i < all.length && all[i].startsWith('-')) i++;
        continue;
      }
      if (CONFIG_WORDS.has(word) || INIT_FUNCTIONS.has(word) || this.functions.has(word)) return false;
      if (word.startsWith('$')) return word.includes('/'); // `$X` cannot be resolved; `$HOME/bin/x` is a path
      const slash = word.lastIndexOf('/');
      const base = word.slice(slash + 1);
      if (RC_HELPERS.has(base) && (slash === -1 || SYSTEM_BIN_DIRS.has(word.slice(0, slash)))) return false;
      return true;
    }
  }
}

function isStandardSource(path: string): boolean {
  const home = HOME_PREFIX.exec(path);
  if (home) return HOME_SOURCES.has(path.slice(home[0].length));
  // the profile.d loop's `. "$i"`, nvm's `"$NVM_DIR/nvm.sh"`: unresolvable here, and stock files do it
  if (path.startsWith('$')) return true;
  return !path.includes('/../') && STANDARD_SOURCE_DIRS.some((dir) => path.startsWith(dir));
}

/** Whether one command line, read as sh reads it, ends inside a quote or substitution. */
export function leavesQuoteOpen(command: string): boolean {
  const reader = new ShellLineReader('', 'SHELL');
  reader.push(1, command, []);
  return reader.quoteOpen();
}

/**
 * Reads a shell script into entries: one per logical line that runs something. crontab uses it for the
 * scripts in /etc/cron.{hourly,daily,weekly,monthly}.
 */
export async function* readShellEntries(
  input: SourceInput,
  context: SourceContext,
  file: PersistenceFile,
  options: { code: string; mechanism: Mechanism; user?: string; original?: Record<string, unknown> },
): AsyncGenerator<{ events: CoalEvent[]; issues: Issue[] }> {
  const issues: Issue[] = [];
  const reader = new ShellLineReader(input.name, options.code);
  const binary = new BinaryTally(input.name, `${options.code}_BINARY`);
  let events: CoalEvent[] = [];
  const emit = (logical: ShellLine | undefined) => {
    if (!logical?.runs) return;
    events.push(
      entryEvent(file, {
        lineNo: logical.lineNo,
        line: logical.text,
        mechanism: options.mechanism,
        command: logical.text,
        user: options.user,
        original: { ...options.original, command: logical.text },
      }),
    );
  };
  for await (const { lineNo, line } of persistenceLines(input, context, issues)) {
    if (isBinaryLine(line)) {
      binary.note(lineNo, issues);
      continue;
    }
    emit(reader.push(lineNo, line, issues));
    if (events.length >= context.maxPendingRecords) {
      yield { events, issues: issues.splice(0) };
      events = [];
    }
  }
  emit(reader.end(issues));
  binary.finish(issues);
  yield { events, issues };
}

// ---------------------------------------------------------------------------------------------
// The shell-rc source

const RC_NAMES = [
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.profile',
  '.zshrc',
  '.zprofile',
  '.zshenv',
  '.zlogin',
];
const SYSTEM_RC: readonly (readonly string[])[] = [
  ['etc', 'profile'],
  ['etc', 'profile.d', '*.sh'],
  ['etc', 'bash.bashrc'],
  ['etc', 'bashrc'],
  ['etc', 'zshrc'],
  ['etc', 'zsh', 'zshrc'],
  ['etc', 'zsh', 'zshenv'],
  ['etc', 'zsh', 'zprofile'],
];
const BOOT_RC: readonly (readonly string[])[] = [
  ['etc', 'rc.local'],
  ['etc', 'rc.d', 'rc.local'],
];
const INIT_SCRIPTS: readonly (readonly string[])[] = [
  ['etc', 'init.d', '*'],
  ['etc', 'rc.d', 'init.d', '*'],
];
/** Names that say "shell rc" even outside a collection. */
const DIRECT_NAMES = new Set([...RC_NAMES, 'bash.bashrc', 'rc.local']);

interface RcKind extends PlaceMatch {
  mechanism: Mechanism;
  /** The account whose shell or boot runs the file, when the location says. */
  user?: string;
}

function rcKindAt(location: FileLocation): RcKind | undefined {
  for (const rc of RC_NAMES) {
    let at = matchPath(location, ['root', rc]);
    if (at >= 0) return { mechanism: 'rc', user: 'root', score: PATH_SCORE, at };
    at = matchPath(location, ['home', '*', rc]);
    if (at >= 0) return { mechanism: 'rc', user: location.segments[at + 1], score: PATH_SCORE, at };
    at = matchPath(location, ['etc', 'skel', rc]);
    if (at >= 0) return { mechanism: 'rc', score: PATH_SCORE, at };
  }
  let at = matchAny(location, SYSTEM_RC);
  if (at >= 0) return { mechanism: 'rc', score: PATH_SCORE, at };
  at = matchAny(location, BOOT_RC);
  if (at >= 0) return { mechanism: 'rc', user: 'root', score: PATH_SCORE, at };
  at = matchAny(location, INIT_SCRIPTS);
  if (at >= 0) return { mechanism: 'init', user: 'root', score: PATH_SCORE, at };
  const base = location.segments[location.segments.length - 1];
  if (!location.isInDirectory && base !== undefined && DIRECT_NAMES.has(base))
    return { mechanism: 'rc', user: base === 'rc.local' ? 'root' : undefined, score: NAME_SCORE };
  return undefined;
}

function rcKind(input: Pick<SourceInput, 'name' | 'relPath' | 'localPath'>) {
  return bestPlace(input, rcKindAt);
}

export const shellRc: SourceDescriptor = {
  name: 'shell-rc',
  summary: 'Shell rc files, profile scripts, rc.local and init.d scripts on a collected Linux filesystem',
  platform: 'linux',
  delivers: 'state',
  sniff(_head, input) {
    return rcKind(input)?.score ?? 0;
  },
  async *read(input, context) {
    const issues: Issue[] = [];
    const place = rcKind(input);
    const file = persistenceFile(input, 'shell-rc', issues, place?.path);
    if (!file) {
      yield { events: [], issues };
      return;
    }
    const kind: RcKind = place ?? { mechanism: 'rc', score: 0 };
    yield* readShellEntries(input, context, file, { code: 'SHELL_RC', mechanism: kind.mechanism, user: kind.user });
  },
};
