/**
 * The classifiers, one line each, and the one function the engine calls per event: every code
 * classifier, then every Sigma rule whose logsource fits the event. A command line that hides what
 * it runs (encoded or obfuscated PowerShell, cmd carets, shell base64/hex/escapes/reversal) is also
 * classified as decoded, and a decoded shell script command by command: the process
 * and kill classifiers and the rules see each decoded layer, and say so in their explanation. The
 * commands a workload's spec says will run (container command + args, an exec'ed command) are judged
 * the same way, as the workload's evidence, and so is what a persistence entry will run (a cron line,
 * an ExecStart, an rc line, a task's action, a service's ImagePath) or an autostart value written to the
 * registry (a Run value, Winlogon's Userinit or Shell, a service's ImagePath): its miner or proxyware
 * evidence is the host's, on the entry's line. What the classifiers say of an entry's own text (a script
 * it decodes, a cradle it runs) is the entry's too: it carries the entry, as what it will run does.
 */
import type { CoalEvent, ProcessFields } from '../model/event.js';
import type { PersistenceDetail, Signal, SignalKind } from '../model/signal.js';
import { clip, inert } from '../util/hostile.js';
import { cloudClassifier, cloudCommands, cloudTarget } from './cloud.js';
import { idsAlert } from './ids-alert.js';
import type { Intel } from './intel/types.js';
import { kill } from './kill.js';
import { namedDestination } from './named-destination.js';
import { network } from './network.js';
import { entryDetail, persistence, simpleCommands } from './persistence.js';
import { commandLayers, mayHaveLayers, powershell } from './powershell.js';
import { baseName, isWindowsPath, processClassifier } from './process.js';
import { newCorrelator, type RuleMatch, ruleSignals } from './rules.js';
import { mayHaveShellLayers, shellDecode, shellLayers } from './shell-decode.js';
import type { Correlator } from './sigma/correlation.js';
import type { RuleSet } from './sigma/index.js';
import { stratum } from './stratum.js';
import type { Classifier, ClassifyContext } from './types.js';
import { autostartDetail, autostartOf, windows } from './windows.js';
import { ENTRYPOINT_WORD, specCommands, workloadClassifier, workloadTarget } from './workload.js';

export const classifiers: Classifier[] = [
  processClassifier,
  network,
  namedDestination,
  persistence,
  kill,
  powershell,
  shellDecode,
  windows,
  stratum,
  idsAlert,
  workloadClassifier,
  cloudClassifier,
];

/** Distinct actions whose classifier lists are kept (actions are the input's: hostile files have many). */
const MAX_ACTIONS_KEPT = 256;

/**
 * The classifiers that read events of `action`, in registry order: each one's `actions`, or every
 * action when it names none. Kept per action, so an event runs only its own (a metric sample none).
 */
function classifiersFor(action: string, byAction: Map<string, Classifier[]>): Classifier[] {
  let list = byAction.get(action);
  if (!list) {
    list = classifiers.filter((c) => c.actions === undefined || c.actions.includes(action));
    if (byAction.size < MAX_ACTIONS_KEPT) byAction.set(action, list);
  }
  return list;
}

/** Commands of one decoded script judged one by one. */
const MAX_SCRIPT_COMMANDS = 16;
/** Characters of a spec's command judged as a command line (the process classifier reads 4 KiB). */
const MAX_COMMAND_CHARS = 4096;

/** The classifiers that read a command line, run again on its decoded layers. */
const LAYER_CLASSIFIERS: Classifier[] = [processClassifier, kill];
/**
 * What a persistence entry's command carries: only evidence of the program itself, mining-specific enough to
 * stand alone (analytics/grade.ts). A download piped to a shell, a kill or a tuning command in an entry is
 * already the entry's persistence strength (persistence.ts), and would make one line look like two stories.
 */
const ENTRY_KINDS: ReadonlySet<SignalKind> = new Set<SignalKind>(['miner-process', 'proxyware-process']);
const keepEntryKind = (s: Signal) => ENTRY_KINDS.has(s.kind);

interface DecodedEvent {
  event: CoalEvent;
  technique: string;
}
const NONE: readonly DecodedEvent[] = [];

/**
 * The event as each decoded layer: the same process (pid, name, parent) running the decoded text, with
 * no executable or hash, so only the command line is judged again.
 */
function decodedEvents(event: CoalEvent): readonly DecodedEvent[] {
  const action = event.event.action;
  const p = event.process;
  if ((action !== 'exec' && action !== 'process-seen') || !p?.command_line) return NONE;
  const maybePowershell = mayHaveLayers(event, p.command_line);
  const maybeShell = mayHaveShellLayers(p.command_line);
  // most command lines hide nothing: no array, no closure, no copy for them
  if (!maybePowershell && !maybeShell) return NONE;
  const out: DecodedEvent[] = [];
  const { executable: _e, hash: _h, args: _a, ...rest } = p;
  // the source record says what was logged, not the decoded text: rules read a layer by its ECS fields
  const as = (text: string, technique: string) =>
    out.push({ event: { ...event, original: {}, process: { ...rest, command_line: text } }, technique });
  if (maybePowershell)
    for (const layer of commandLayers(p.command_line))
      if (layer.technique !== undefined) as(layer.text, layer.technique);
  if (maybeShell)
    for (const layer of shellLayers(p.command_line)) {
      if (layer.technique === undefined) continue;
      as(layer.text, layer.technique);
      // a decoded script runs several commands: each is also judged alone, by what it runs (argv[0])
      for (const words of simpleCommands(layer.text).slice(0, MAX_SCRIPT_COMMANDS))
        if (words.length > 0) as(words.join(' '), layer.technique);
    }
  return out;
}

/**
 * An event standing for a command a spec says will run (a pod spec's container, an exec'ed command):
 * an exec of those words by no known process, with no executable or hash, so only the command line
 * is judged. It keeps the event's time, host and record, so its signals cite the spec's line.
 */
function commandEvent(event: CoalEvent, words: string[]): CoalEvent {
  const first = words[0] ?? '';
  const process: ProcessFields = {
    command_line: words.join(' ').slice(0, MAX_COMMAND_CHARS),
    args: words,
  };
  if (first !== '' && first !== ENTRYPOINT_WORD) process.name = baseName(first);
  // containers run Linux unless the event or a Windows path says otherwise, so rules of the other platform stay out
  const platform = event.host?.os?.platform ?? (isWindowsPath(first) ? 'windows' : 'linux');
  // the spec's image is judged by the workload classifier, once, not again as this process's container
  const { container: _c, ...rest } = event;
  return {
    ...rest,
    // the spec's record says what was logged, not this command: rules read it by its ECS fields
    original: {},
    event: { ...event.event, action: 'exec' },
    host: { ...event.host, os: { ...event.host?.os, platform } },
    process,
  };
}

/**
 * Judge one event as a command line: the layer classifiers and the rules; a signal whose classifier or
 * rule already spoke for this event is left out (`seen`), as is one `keep` refuses, the others pushed as
 * `say` words them.
 */
function judgeCommand(
  command: CoalEvent,
  context: ClassifyContext,
  rules: RuleSet,
  seen: Set<string>,
  say: (s: Signal) => Signal,
  out: Signal[],
  keep?: (s: Signal) => boolean,
): void {
  const found: Signal[] = [];
  for (const c of LAYER_CLASSIFIERS) c.classify(command, context, found);
  ruleSignals(rules, command, found);
  for (const s of found) {
    if (seen.has(s.by) || (keep !== undefined && !keep(s))) continue;
    seen.add(s.by);
    out.push(say(s));
  }
}

/**
 * Judge the words a spec or an entry says will run. A shell's script (`sh -c "curl … | sh; /tmp/x -o pool
 * -u <wallet>"`): each command alone first, by what it runs (argv[0]) and with its own options, then the
 * whole line for what spans commands (pipes), then what it decodes to. `say(prefix)` words each signal.
 */
function judgeWords(
  event: CoalEvent,
  words: string[],
  context: ClassifyContext,
  rules: RuleSet,
  seen: Set<string>,
  say: (prefix: string) => (s: Signal) => Signal,
  out: Signal[],
  keep?: (s: Signal) => boolean,
): void {
  const line = commandEvent(event, words);
  const script = simpleCommands(line.process?.command_line ?? '');
  if (script.length > 1 || (script[0] !== undefined && script[0][0] !== words[0]))
    for (const part of script.slice(0, MAX_SCRIPT_COMMANDS))
      if (part.length > 0) judgeCommand(commandEvent(event, part), context, rules, seen, say(''), out, keep);
  judgeCommand(line, context, rules, seen, say(''), out, keep);
  for (const { event: decoded, technique } of decodedEvents(line))
    judgeCommand(decoded, context, rules, seen, say(`in the command decoded from ${technique}: `), out, keep);
}

/** What a persistence entry or an autostart value will run, and the entry as its evidence cites it. */
interface EntryCommands {
  commands: string[];
  detail: PersistenceDetail;
}

/**
 * The commands an event says will run later: a persistence entry's (its command line), or an autostart
 * value's a process wrote to the registry (a Run value's data, each program Userinit or Shell lists, a
 * service's ImagePath). Undefined for every other event, and for an entry that names nothing to run.
 */
function entryCommandsOf(event: CoalEvent): EntryCommands | undefined {
  const action = event.event.action;
  if (action === 'persistence-entry') {
    const command = event.process?.command_line;
    return command ? { commands: [command], detail: entryDetail(event) } : undefined;
  }
  if (action !== 'registry-set') return undefined;
  const autostart = autostartOf(event);
  if (!autostart || autostart.commands.length === 0) return undefined;
  return { commands: autostart.commands, detail: autostartDetail(event, autostart) };
}

/**
 * What a persistence entry will run, judged as the command it is (the process classifier and the rules on
 * that command line), so an entry that starts a miner by name, by its pool options or wallet carries the
 * miner evidence an exec of it would: on the host, on the entry's line, carrying the entry (containment
 * removes it). That keeps it out of the entry's correlation with a later exec (the exec shows its own
 * command), and tells the analytics it is the entry's observation, not a process seen (`isEntryCommand`).
 */
function judgeEntry(
  event: CoalEvent,
  { commands, detail }: EntryCommands,
  context: ClassifyContext,
  rules: RuleSet,
  seen: Set<string>,
  out: Signal[],
): void {
  const { mechanism, file, line } = detail;
  const where = `${mechanism} entry ${file}${line !== undefined ? `:${line}` : ''}`;
  const say =
    (prefix: string) =>
    (s: Signal): Signal => ({
      ...s,
      explanation: inert(clip(`what the ${where} will run: ${prefix}${s.explanation}`, 400)),
      persistence: detail,
    });
  for (const command of commands) {
    const words = command
      .slice(0, MAX_COMMAND_CHARS)
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length > 0) judgeWords(event, words, context, rules, seen, say, out, keepEntryKind);
  }
}

/**
 * What the classifiers and rules said of a persistence entry's own text (a script it decodes and pipes
 * to a shell, a download cradle, an encoded command) is process evidence of no process: the entry's
 * observation, as what it will run is. It carries the entry, so the entry is one leg of its own (AN0742
 * counts it with its persistence) and only a later exec of what it runs, seen doing it, adds the process.
 */
function carryEntry(out: Signal[], from: number, detail: PersistenceDetail): void {
  for (let i = from; i < out.length; i++) {
    const s = out[i];
    if (s.class === 'process' && s.persistence === undefined) out[i] = { ...s, persistence: detail };
  }
}

/**
 * `onRuleMatch` receives every Sigma rule match of a logged event (id, level, title), the rules that raise
 * no signal included: the context of a compromise beyond its mining. The classifier holds the run's
 * correlation state: logged events' rule matches feed the Sigma correlations (decoded layers do not). A
 * caller that checkpoints its detector (run/live.ts) makes that state itself (`newCorrelator`) and keeps it.
 * `policy` is what of coalmine.yaml the classifiers read: its `hashrates:` (a run with a policy passes them).
 */
export function createClassifier(
  intel: Intel,
  rules: RuleSet,
  onRuleMatch?: (event: CoalEvent, matches: RuleMatch[]) => void,
  correlator: Correlator | undefined = newCorrelator(rules),
  policy: Omit<ClassifyContext, 'intel'> = {},
): (event: CoalEvent, out: Signal[]) => void {
  const context: ClassifyContext = { intel, hashrates: policy.hashrates };
  const byAction = new Map<string, Classifier[]>();
  return (event, out) => {
    const from = out.length;
    const own = classifiersFor(event.event.action, byAction);
    for (let i = 0; i < own.length; i++) own[i].classify(event, context, out);
    ruleSignals(rules, event, out, onRuleMatch, correlator);
    if (event.event.action === 'persistence-entry' && out.length > from) carryEntry(out, from, entryDetail(event));
    const decoded = decodedEvents(event);
    const specs = specCommands(event);
    const clouds = cloudCommands(event);
    const entry = entryCommandsOf(event);
    // the common case: nothing decoded, no spec, launch or entry commands; nothing more to judge or allocate
    if (decoded.length === 0 && specs.length === 0 && clouds.length === 0 && !entry) return;
    // a layer repeats what the logged line already showed: one signal per classifier or rule
    const seen = new Set(out.map((s) => s.by));
    if (entry) {
      judgeEntry(event, entry, context, rules, seen, out);
      return;
    }
    const executable = event.process?.executable;
    for (const { event: layer, technique } of decoded)
      judgeCommand(
        layer,
        context,
        rules,
        seen,
        (s) => ({
          ...s,
          explanation: clip(`in the command decoded from ${technique}: ${s.explanation}`, 400),
          subject: executable && !s.subject?.executable ? { executable, ...s.subject } : s.subject,
        }),
        out,
      );
    const commands = clouds.length === 0 ? specs : specs.length === 0 ? clouds : [...specs, ...clouds];
    const target = commands.length > 0 ? (workloadTarget(event) ?? cloudTarget(event)) : undefined;
    if (!target) return;
    for (const { where, words } of commands) {
      const say =
        (prefix: string) =>
        (s: Signal): Signal => ({
          ...s,
          entity: target.entity,
          host: target.host,
          explanation: clip(`${where}: ${prefix}${s.explanation}`, 400),
        });
      judgeWords(event, words, context, rules, seen, say, out);
    }
  };
}
