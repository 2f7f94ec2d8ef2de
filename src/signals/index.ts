/**
 * The classifiers, one line each, and the one function the engine calls per event: every code
 * classifier, then every Sigma rule whose logsource fits the event. A command line that hides what
 * it runs (encoded or obfuscated PowerShell, cmd carets, shell base64/hex/escapes/reversal) is also
 * classified as decoded, and a decoded shell script command by command: the process
 * and kill classifiers and the rules see each decoded layer, and say so in their explanation.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { clip } from '../util/hostile.js';
import { idsAlert } from './ids-alert.js';
import type { Intel } from './intel/types.js';
import { kill } from './kill.js';
import { namedDestination } from './named-destination.js';
import { network } from './network.js';
import { persistence, simpleCommands } from './persistence.js';
import { commandLayers, mayHaveLayers, powershell } from './powershell.js';
import { processClassifier } from './process.js';
import { ruleSignals } from './rules.js';
import { mayHaveShellLayers, shellDecode, shellLayers } from './shell-decode.js';
import type { RuleSet } from './sigma/index.js';
import { stratum } from './stratum.js';
import type { Classifier, ClassifyContext } from './types.js';
import { windows } from './windows.js';

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
];

/** Commands of one decoded script judged one by one. */
const MAX_SCRIPT_COMMANDS = 16;

/** The classifiers that read a command line, run again on its decoded layers. */
const LAYER_CLASSIFIERS: Classifier[] = [processClassifier, kill];

/**
 * The event as each decoded layer: the same process (pid, name, parent) running the decoded text, with
 * no executable or hash, so only the command line is judged again.
 */
function decodedEvents(event: CoalEvent): Array<{ event: CoalEvent; technique: string }> {
  const action = event.event.action;
  const p = event.process;
  if ((action !== 'exec' && action !== 'process-seen') || !p?.command_line) return [];
  const out: Array<{ event: CoalEvent; technique: string }> = [];
  const { executable: _e, hash: _h, args: _a, ...rest } = p;
  const as = (text: string, technique: string) =>
    out.push({ event: { ...event, process: { ...rest, command_line: text } }, technique });
  if (mayHaveLayers(event, p.command_line))
    for (const layer of commandLayers(p.command_line))
      if (layer.technique !== undefined) as(layer.text, layer.technique);
  if (mayHaveShellLayers(p.command_line))
    for (const layer of shellLayers(p.command_line)) {
      if (layer.technique === undefined) continue;
      as(layer.text, layer.technique);
      // a decoded script runs several commands: each is also judged alone, by what it runs (argv[0])
      for (const words of simpleCommands(layer.text).slice(0, MAX_SCRIPT_COMMANDS))
        if (words.length > 0) as(words.join(' '), layer.technique);
    }
  return out;
}

export function createClassifier(intel: Intel, rules: RuleSet): (event: CoalEvent, out: Signal[]) => void {
  const context: ClassifyContext = { intel };
  return (event, out) => {
    for (const c of classifiers) c.classify(event, context, out);
    ruleSignals(rules, event, out);
    // a layer repeats what the logged line already showed: one signal per classifier or rule
    const seen = new Set(out.map((s) => s.by));
    for (const { event: decoded, technique } of decodedEvents(event)) {
      const found: Signal[] = [];
      for (const c of LAYER_CLASSIFIERS) c.classify(decoded, context, found);
      ruleSignals(rules, decoded, found);
      const executable = event.process?.executable;
      for (const s of found) {
        if (seen.has(s.by)) continue;
        seen.add(s.by);
        out.push({
          ...s,
          explanation: clip(`in the command decoded from ${technique}: ${s.explanation}`, 400),
          subject: executable && !s.subject?.executable ? { executable, ...s.subject } : s.subject,
        });
      }
    }
  };
}
