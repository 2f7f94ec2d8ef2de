/**
 * What a workload's spec says it runs (AN0745), from the spec alone: a Kubernetes API request or
 * inventory record (`workload-change`, `container-seen` with `coalmine.workload`) or a Docker
 * container record. Per container: a miner or proxyware image (intel), an image named after a known
 * miner program, env values naming a pool or holding a wallet; per spec: a pod asking for the host
 * (context); per removal (API delete, `docker kill`/`rm`, a container killed by a signal): a known
 * miner's workload taken away, as rivals do. Commands, args and exec'ed commands are judged as
 * command lines by the process classifier and the rules (`specCommands`, composed in index.ts).
 * Stateless: creators, baselines and CPU are the engine's (engine/workloads.ts). Every field is
 * hostile: containers, env entries, words and text are bounded.
 */
import { type EntityKey, workloadKey } from '../model/entity.js';
import type { CoalEvent, WorkloadContainer, WorkloadFacts } from '../model/event.js';
import type { Signal, SignalKind, Strength } from '../model/signal.js';
import { workloadRefOf } from '../model/workload-ref.js';
import { clip, inert } from '../util/hostile.js';
import { hostOfAuthority } from '../util/ip.js';
import { hostOfUrl } from './intel/list.js';
import type { Intel, IntelMatch } from './intel/types.js';
import { intelName, shortWallet, signalFor } from './make.js';
import { isStratumUrl, wordsOf } from './miner-args.js';
import { knownImage } from './process.js';
import type { Classifier, ClassifyContext } from './types.js';

/** Containers of one spec judged; a pod with more is hostile or generated, and the first ones say enough. */
const MAX_CONTAINERS = 16;
/** Env entries judged per event, over all its containers. */
const MAX_ENV = 64;
/** Characters of one env entry read, and words of its value. */
const MAX_ENV_CHARS = 512;
const MAX_ENV_WORDS = 8;
/** Words of one command and characters of each, as a command line is judged (process.ts reads 64 args, 4 KiB). */
const MAX_WORDS = 64;
const MAX_WORD_CHARS = 1024;
const MAX_NAME_SHOWN = 64;
/**
 * Stands for the image's own entrypoint when a spec gives only options (`args: [-o, pool:3333]`): the
 * option readers skip argv[0] and rules look for ` -o `, as on a real command line.
 */
export const ENTRYPOINT_WORD = '<entrypoint>';
/** Requests and runtime events that take a workload away: its spec is the victim's, not code about to run. */
const REMOVAL_VERBS = new Set(['delete', 'deletecollection', 'kill', 'die', 'destroy']);
/** Host paths whose mount hands the container the host: its root, processes, config, container runtime. */
const HOST_CONTROL_PATHS = new Set([
  '/',
  '/proc',
  '/etc',
  '/root',
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/var/run/containerd/containerd.sock',
  '/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock',
  '/run/crio/crio.sock',
]);
/** A container killed by a signal exits with 128 + the signal (137 = SIGKILL, 143 = SIGTERM). */
const KILLED_EXIT = { min: 129, max: 128 + 64 };

/** The workload a spec event's evidence belongs to, and the host to cite. */
export interface WorkloadTarget {
  entity: EntityKey;
  host: string;
  runtime: 'kubernetes' | 'docker';
}

/** The workload key a spec event's evidence carries (the engine re-keys it to the resolved workload anyway). */
export function workloadTarget(event: CoalEvent): WorkloadTarget | undefined {
  const ref = workloadRefOf(event);
  if (!ref) return undefined;
  // the design contract: plain Docker's cluster is the host; Kubernetes' the orchestrator's cluster name
  const cluster =
    ref.runtime === 'docker' ? (event.host?.name ?? 'cluster') : (event.orchestrator?.cluster?.name ?? 'cluster');
  return {
    entity: workloadKey(cluster, ref.namespace, ref.name),
    host: event.host?.name ?? 'cluster',
    runtime: ref.runtime,
  };
}

function specOf(event: CoalEvent): WorkloadFacts | undefined {
  const action = event.event.action;
  if (action !== 'workload-change' && action !== 'container-seen') return undefined;
  return event.coalmine.workload;
}

function verbOf(spec: WorkloadFacts): string {
  // docker events keep the exec's command in the verb (`exec_start: sh -c …`)
  const verb = spec.verb.split(':', 1)[0].trim().toLowerCase();
  return verb;
}

function shown(text: string, max = MAX_NAME_SHOWN): string {
  return inert(clip(text, max));
}

function containersOf(spec: WorkloadFacts): WorkloadContainer[] {
  if (!Array.isArray(spec.containers)) return [];
  return spec.containers.slice(0, MAX_CONTAINERS).filter((c) => typeof c === 'object' && c !== null);
}

function containerLabel(c: WorkloadContainer, index: number): string {
  return typeof c.name === 'string' && c.name !== '' ? shown(c.name) : `#${index + 1}`;
}

/** The words of a command as given (bounded), or undefined when there are none. */
function boundedWords(words: readonly unknown[] | undefined): string[] {
  const out: string[] = [];
  if (!Array.isArray(words)) return out;
  for (const w of words) {
    if (out.length >= MAX_WORDS) break;
    if (typeof w === 'string') out.push(w.length > MAX_WORD_CHARS ? w.slice(0, MAX_WORD_CHARS) : w);
  }
  return out;
}

/** One command a spec says will run, and where it says so (for the explanation). */
export interface SpecCommand {
  where: string;
  words: string[];
}

/** What an event that is no spec (most events) says will run: one shared empty list. */
export const NO_COMMANDS: readonly SpecCommand[] = [];

/**
 * The commands a spec event says run: each container's command + args (options alone follow the
 * image's entrypoint) and a `pods/exec` or `docker exec` command. None for a removal.
 */
export function specCommands(event: CoalEvent): readonly SpecCommand[] {
  const spec = specOf(event);
  if (!spec || REMOVAL_VERBS.has(verbOf(spec))) return NO_COMMANDS;
  const out: SpecCommand[] = [];
  const docker = workloadRefOf(event)?.runtime === 'docker';
  containersOf(spec).forEach((c, i) => {
    const command = boundedWords(c.command);
    const args = boundedWords(c.args);
    if (command.length === 0 && args.length === 0) return;
    // Kubernetes `args` without `command` follow the image's ENTRYPOINT; an option first says there is one
    const words =
      command.length === 0 && args[0].startsWith('-')
        ? [ENTRYPOINT_WORD, ...args]
        : [...command, ...args].slice(0, MAX_WORDS);
    const label = containerLabel(c, i);
    out.push({
      where: docker ? `in the Docker config of container ${label}` : `in the pod spec of container ${label}`,
      words: words.slice(0, MAX_WORDS),
    });
  });
  const exec = boundedWords(spec.execCommand);
  if (exec.length > 0) out.push({ where: "in the command exec'ed into the container", words: exec });
  return out;
}

/** The signal as a spec event's evidence: the workload's, cited on the event's host. */
function emit(
  event: CoalEvent,
  target: WorkloadTarget,
  out: Signal[],
  spec: {
    kind: SignalKind;
    class: Signal['class'];
    strength: Strength;
    by: string;
    explanation: string;
    intel?: IntelMatch;
    victim?: string;
  },
): void {
  const s = signalFor(event, {
    kind: spec.kind,
    class: spec.class,
    strength: spec.strength,
    by: `workload:${spec.by}`,
    explanation: spec.explanation,
    intel: spec.intel,
    subject: spec.victim !== undefined ? { victim: spec.victim } : undefined,
  });
  out.push({ ...s, entity: target.entity, host: target.host });
}

/** `docker.io/metminer/xmrig:6.21.0@sha256:…` → `xmrig`: the repository's last part, as a program would be named. */
function imageProgramName(image: string): string {
  let r = image.trim();
  const at = r.indexOf('@');
  if (at >= 0) r = r.slice(0, at);
  const name = r.slice(r.lastIndexOf('/') + 1);
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(0, colon) : name;
}

/** What intel says about an image: listed as a miner/proxyware image, or named after a known miner program. */
function imageVerdict(
  intel: Intel,
  image: string,
): { listed: NonNullable<ReturnType<typeof knownImage>> } | { named: IntelMatch; program: string } | undefined {
  if (image === '' || image.length > 512) return undefined;
  const listed = knownImage(intel, image);
  if (listed) return { listed };
  const program = imageProgramName(image);
  const named = program ? intel.processName(program) : undefined;
  // proxyware program names (`myst`) are ordinary words in image names; a miner's is not
  if (named?.kind === 'miner-name') return { named, program };
  return undefined;
}

/** Item 1: each container's image against intel. */
function images(event: CoalEvent, spec: WorkloadFacts, target: WorkloadTarget, intel: Intel, out: Signal[]): void {
  const seen = new Set<string>();
  containersOf(spec).forEach((c, i) => {
    if (typeof c.image !== 'string' || seen.has(c.image)) return;
    seen.add(c.image);
    const verdict = imageVerdict(intel, c.image);
    if (!verdict) return;
    const where = `container ${containerLabel(c, i)} of the spec runs the image ${shown(c.image, 200)}`;
    if ('listed' in verdict) {
      const { listed } = verdict;
      emit(event, target, out, {
        kind: listed.kind,
        class: 'process',
        strength: listed.match.strength,
        by: `${listed.what}-image`,
        explanation: `${where}, a known ${listed.what} image (intel ${intelName(listed.match)}: ${listed.match.indicator})`,
        intel: listed.match,
      });
    } else
      emit(event, target, out, {
        kind: 'miner-process',
        class: 'process',
        // a name, not a listed image: what the image runs is not seen here
        strength: 'medium',
        by: 'miner-image-name',
        explanation: `${where}, named after the known miner ${shown(verdict.program)} (intel ${intelName(verdict.named)}: ${verdict.named.indicator})`,
        intel: verdict.named,
      });
  });
}

/** A pool an env value names: a Stratum URL, or a host (with or without scheme and port) pool intel lists. */
function poolIn(value: string, intel: Intel): { written: string; match?: IntelMatch } | undefined {
  for (const word of wordsOf(value).slice(0, MAX_ENV_WORDS)) {
    const authority = hostOfAuthority(hostOfUrl(word));
    if (authority) {
      const match = authority.address ? intel.ip(authority.host) : intel.domain(authority.host);
      if (match && (match.kind === 'pool-domain' || match.kind === 'pool-ip')) return { written: word, match };
    }
    if (isStratumUrl(word)) return { written: word };
  }
  return undefined;
}

/** Item 3: env values naming a pool or holding a wallet (one signal of each per event). */
function env(event: CoalEvent, spec: WorkloadFacts, target: WorkloadTarget, intel: Intel, out: Signal[]): void {
  let budget = MAX_ENV;
  let pool = false;
  let wallet = false;
  const whose = target.runtime === 'docker' ? "the container's env" : "the pod spec's env";
  for (const [i, c] of containersOf(spec).entries()) {
    if (!Array.isArray(c.env)) continue;
    for (const entry of c.env) {
      if (budget-- <= 0 || (pool && wallet)) return;
      if (typeof entry !== 'string') continue;
      const text = entry.length > MAX_ENV_CHARS ? entry.slice(0, MAX_ENV_CHARS) : entry;
      const eq = text.indexOf('=');
      if (eq <= 0) continue;
      const name = shown(text.slice(0, eq));
      const value = text.slice(eq + 1);
      const where = `(${name} of container ${containerLabel(c, i)})`;
      const found = pool ? undefined : poolIn(value, intel);
      if (found) {
        pool = true;
        emit(event, target, out, {
          kind: 'miner-process',
          class: 'process',
          strength: 'medium',
          by: 'env-pool',
          explanation: found.match
            ? `${whose} names pool ${shown(found.written, 120)} ${where} (intel ${intelName(found.match)}: ${found.match.indicator})`
            : `${whose} names the Stratum pool URL ${shown(found.written, 120)} ${where}`,
          intel: found.match,
        });
      }
      // the whole entry: an Ethereum-style address counts only after `wallet=`
      const hit = wallet ? undefined : intel.wallet(text);
      if (hit) {
        wallet = true;
        emit(event, target, out, {
          kind: 'miner-process',
          class: 'process',
          strength: 'medium',
          by: 'env-wallet',
          explanation: `${whose} holds a ${hit.note ?? 'wallet address'} ${shortWallet(hit.indicator)} ${where}${hit.set !== 'wallet-shapes' ? ` (listed in intel ${intelName(hit)})` : ''}`,
          intel: hit.set !== 'wallet-shapes' ? hit : undefined,
        });
      }
    }
  }
}

/** Item 4: a spec asking for the host (context: the engine and AN0745 weigh it by who asked). */
function hostAccess(event: CoalEvent, spec: WorkloadFacts, target: WorkloadTarget, out: Signal[]): void {
  const asks: string[] = [];
  const privileged = containersOf(spec)
    .map((c, i) => (c.privileged === true ? containerLabel(c, i) : undefined))
    .filter((n): n is string => n !== undefined);
  if (privileged.length > 0) asks.push(`privileged container ${privileged.slice(0, 4).join(', ')}`);
  else if (event.container?.security_context?.privileged === true) asks.push('a privileged container');
  if (spec.hostPID === true) asks.push('hostPID');
  if (spec.hostNetwork === true) asks.push('hostNetwork');
  const paths = new Set<string>();
  if (Array.isArray(spec.hostPaths))
    for (const p of spec.hostPaths.slice(0, 64)) {
      if (typeof p !== 'string' || p.length > 256) continue;
      const path = p.length > 1 ? p.replace(/\/+$/, '') || '/' : p;
      if (HOST_CONTROL_PATHS.has(path)) paths.add(path);
    }
  if (paths.size > 0) asks.push(`hostPath ${[...paths].slice(0, 4).join(', ')}`);
  if (asks.length === 0) return;
  emit(event, target, out, {
    kind: 'privileged-workload',
    class: 'authorization',
    strength: 'weak',
    by: 'host-access',
    explanation: `${target.runtime === 'docker' ? 'the container' : `${shown(spec.kind)} ${shown(spec.name ?? '?')}`} asks for the host: ${asks.join(', ')}`,
  });
}

/** A docker event's attribute from `original.Actor.Attributes`, as the source kept it. */
function dockerAttribute(event: CoalEvent, name: string): string | undefined {
  const actor = event.original.Actor;
  if (typeof actor !== 'object' || actor === null) return undefined;
  const attributes = (actor as Record<string, unknown>).Attributes;
  if (typeof attributes !== 'object' || attributes === null) return undefined;
  const v = (attributes as Record<string, unknown>)[name];
  return typeof v === 'string' && v.length <= 32 ? v : undefined;
}

/** How a removal took the workload away, or undefined when the event is no removal (or it failed). */
function removalOf(event: CoalEvent, verb: string): string | undefined {
  if (event.event.outcome === 'failure') return undefined;
  if (event.event.action === 'workload-change')
    return verb === 'delete' || verb === 'deletecollection' ? 'deleted through the API' : undefined;
  if (verb === 'kill') {
    const signal = dockerAttribute(event, 'signal');
    return `killed${signal && /^\d{1,2}$/.test(signal) ? ` (signal ${signal})` : ''}`;
  }
  if (verb === 'destroy') return 'removed (docker rm)';
  if (verb === 'die') {
    const code = Number(dockerAttribute(event, 'exitCode'));
    if (Number.isInteger(code) && code >= KILLED_EXIT.min && code <= KILLED_EXIT.max)
      return `ended by signal ${code - 128} (exit code ${code})`;
  }
  return undefined;
}

/** Item 5: a known miner's workload or container taken away: rival miners remove each other. */
function rivalRemoval(
  event: CoalEvent,
  spec: WorkloadFacts,
  target: WorkloadTarget,
  intel: Intel,
  out: Signal[],
): void {
  const how = removalOf(event, verbOf(spec));
  if (!how) return;
  const ref = workloadRefOf(event);
  const names = [spec.name, event.container?.name?.replace(/^\//, ''), ref?.name].filter(
    (n): n is string => typeof n === 'string' && n !== '' && n.length <= 253,
  );
  const victim = names[0] ?? '?';
  let why: string | undefined;
  let match: IntelMatch | undefined;
  for (const n of names) {
    const byName = intel.processName(n);
    if (byName?.kind === 'miner-name') {
      why = `named as the known miner ${shown(n)}`;
      match = byName;
      break;
    }
  }
  const images = [
    ...containersOf(spec).map((c) => c.image),
    event.container?.image?.name
      ? `${event.container.image.name}${event.container.image.tag ? `:${event.container.image.tag}` : ''}`
      : undefined,
  ];
  for (const image of images) {
    if (why || typeof image !== 'string') continue;
    const verdict = imageVerdict(intel, image);
    if (!verdict) continue;
    if ('listed' in verdict && verdict.listed.what === 'miner') {
      why = `of the known miner image ${shown(image, 200)}`;
      match = verdict.listed.match;
    } else if ('named' in verdict) {
      why = `of the image ${shown(image, 200)}, named after the known miner ${shown(verdict.program)}`;
      match = verdict.named;
    }
  }
  if (!why || !match) return;
  const what =
    event.event.action === 'workload-change' ? `${shown(spec.kind)} ${shown(victim)}` : `container ${shown(victim)}`;
  emit(event, target, out, {
    kind: 'competitor-kill',
    class: 'kill',
    strength: 'medium',
    by: 'rival-removal',
    explanation: `${what}, ${why}, was ${how}: miners remove rival miners to take the CPU (intel ${intelName(match)}: ${match.indicator})`,
    intel: match,
    victim: clip(victim, 253),
  });
}

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const spec = specOf(event);
  if (!spec || typeof spec.verb !== 'string') return;
  const target = workloadTarget(event);
  if (!target) return;
  if (REMOVAL_VERBS.has(verbOf(spec))) {
    rivalRemoval(event, spec, target, intel, out);
    return;
  }
  images(event, spec, target, intel, out);
  env(event, spec, target, intel, out);
  hostAccess(event, spec, target, out);
}

export const workloadClassifier: Classifier = {
  name: 'workload',
  actions: ['workload-change', 'container-seen'],
  summary:
    "pod specs and container records: miner/proxyware images, pools and wallets in env, host access, rival miners' removal",
  classify,
};
