/**
 * What a cloud launch says it will run (AN0744), from the control-plane call alone: the startup script
 * (EC2 userData, GCP startup-script metadata, Azure customData, decoded by the reader) and the
 * containers of a task definition (ECS) are commands, judged by the process classifier and the rules
 * like a pod spec's (composed in index.ts); a task's image is judged against the image intel.
 * Stateless: who launched it and whether that was approved is the engine's (engine/instances.ts).
 */
import { type EntityKey, entityKey } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { clip, inert } from '../util/hostile.js';
import type { Intel } from './intel/types.js';
import { intelName, signalFor } from './make.js';
import { type NamedPool, namedPools } from './named-destination.js';
import { simpleCommands } from './persistence.js';
import { knownImage } from './process.js';
import { mayHaveShellLayers, shellLayers } from './shell-decode.js';
import type { Classifier } from './types.js';
import { NO_COMMANDS, type SpecCommand } from './workload.js';

const MAX_CONTAINERS = 16;
const MAX_WORDS = 64;
const MAX_WORD_CHARS = 1024;
/** A startup script is judged as the shell runs it: `sh -c <script>` (at most 4 KiB, as the reader clips it). */
const MAX_SCRIPT_CHARS = 4096;

/** The launch a cloud call's evidence belongs to (the engine re-keys it to the launch it resolves). */
export function cloudTarget(event: CoalEvent): { entity: EntityKey; host: string } | undefined {
  const cloud = event.coalmine.cloud;
  if (event.event.action !== 'cloud-change' || !cloud) return undefined;
  const host = event.host?.name ?? `${cloud.provider}:${cloud.account ?? '?'}`;
  return { entity: entityKey('account', cloud.provider, cloud.account ?? '?'), host };
}

function words(list: readonly string[] | undefined): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .slice(0, MAX_WORDS)
    .filter((w): w is string => typeof w === 'string')
    .map((w) => w.slice(0, MAX_WORD_CHARS));
}

/** The startup script and each task container's command, as commands to judge. */
export function cloudCommands(event: CoalEvent): readonly SpecCommand[] {
  const cloud = event.coalmine.cloud;
  if (event.event.action !== 'cloud-change' || !cloud) return NO_COMMANDS;
  const out: SpecCommand[] = [];
  const script = typeof cloud.userData === 'string' ? cloud.userData.slice(0, MAX_SCRIPT_CHARS).trim() : '';
  if (script !== '')
    out.push({ where: `in the startup script (userData) of ${cloud.operation}`, words: ['/bin/sh', '-c', script] });
  (cloud.containers ?? []).slice(0, MAX_CONTAINERS).forEach((c, i) => {
    const command = [...words(c.command), ...words(c.args)].slice(0, MAX_WORDS);
    if (command.length > 0)
      out.push({ where: `in the task definition's container ${clip(c.name ?? String(i + 1), 64)}`, words: command });
  });
  return out;
}

const MAX_LAUNCH_POOLS = 8;
const MAX_SCRIPT_COMMANDS = 64;

/**
 * The pools a launch's startup script or task commands name (`xmrig -o pool.example:3333 -u <wallet>`,
 * a Stratum URL), each simple command and each decoded layer read alone: a flow from one of its instances
 * to that port (and address, when written as one) is its pool contact, whatever the pool's address today.
 */
export function launchPools(event: CoalEvent, intel: Intel): NamedPool[] {
  const out: NamedPool[] = [];
  const add = (words: string[]) => {
    for (const p of namedPools(words.join(' '), words, intel)) {
      if (out.length >= MAX_LAUNCH_POOLS) return;
      if (!out.some((q) => q.host === p.host && q.port === p.port)) out.push(p);
    }
  };
  for (const { words } of cloudCommands(event)) {
    const script = words[0] === '/bin/sh' && words[1] === '-c' ? (words[2] ?? '') : words.join(' ');
    const texts = [script];
    if (mayHaveShellLayers(script))
      for (const layer of shellLayers(script)) if (layer.technique) texts.push(layer.text);
    for (const text of texts)
      for (const command of simpleCommands(text).slice(0, MAX_SCRIPT_COMMANDS)) if (command.length > 0) add(command);
    if (words[0] !== '/bin/sh') add(words);
  }
  return out;
}

/** A task definition's container image that the intel knows as a miner's or proxyware's. */
export const cloudClassifier: Classifier = {
  name: 'cloud',
  actions: ['cloud-change'],
  summary: "a cloud launch's task containers running a known miner or proxyware image",
  classify(event, context, out: Signal[]) {
    const target = cloudTarget(event);
    const containers = event.coalmine.cloud?.containers;
    if (!target || !containers) return;
    for (const c of containers.slice(0, MAX_CONTAINERS)) {
      if (typeof c.image !== 'string') continue;
      const hit = knownImage(context.intel, c.image.slice(0, MAX_WORD_CHARS));
      if (!hit) continue;
      const s = signalFor(event, {
        kind: hit.kind,
        class: 'process',
        strength: 'strong',
        by: 'cloud:task-image',
        intel: hit.match,
        explanation: inert(
          clip(
            `the task definition's container ${c.name ?? ''} runs image ${c.image}, a known ${hit.what} image (intel ${intelName(hit.match)}: ${hit.match.indicator})`,
            400,
          ),
        ),
      });
      out.push({ ...s, entity: target.entity, host: target.host });
    }
  },
};
