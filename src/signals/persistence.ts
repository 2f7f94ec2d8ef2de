/**
 * Persistence evidence: every cron line, unit ExecStart, rc line or preload entry becomes a signal
 * tied to what it launches (the engine links it to processes running that executable). Strength says
 * how suspicious the entry is on its own; an ordinary entry is weak and never alerts by itself.
 * Writes to persistence locations seen by auditing are evidence against the writer.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal, Strength } from '../model/signal.js';
import { signalFor } from './make.js';
import type { Classifier, ClassifyContext } from './types.js';

const WRITABLE = /(?:^|[\s'"=;(|&])\/(?:tmp|var\/tmp|dev\/shm|run\/shm)\//;
const HIDDEN = /\/\.[^\s/.][^\s/]*\//;
const DOWNLOAD = /\b(?:curl|wget|tftp|fetch)\b|\/dev\/tcp\/|\bbase64\s+(?:-d|--decode)\b/;
const HOME = /(?:^|\s)\/(?:home\/[^/\s]+|root)\//;
const PERSISTENCE_PATHS = [
  '/etc/crontab',
  '/etc/cron.d/',
  '/etc/cron.hourly/',
  '/etc/cron.daily/',
  '/etc/cron.weekly/',
  '/etc/cron.monthly/',
  '/var/spool/cron/',
  '/etc/systemd/system/',
  '/lib/systemd/system/',
  '/usr/lib/systemd/system/',
  '/etc/rc.local',
  '/etc/init.d/',
  '/etc/ld.so.preload',
  '/etc/profile',
  '/etc/bash.bashrc',
];
const PERSISTENCE_SUFFIXES = [
  '/.bashrc',
  '/.bash_profile',
  '/.profile',
  '/.zshrc',
  '/.ssh/authorized_keys',
  '/.config/systemd/user/',
];

function isPersistencePath(path: string): boolean {
  return PERSISTENCE_PATHS.some((p) => path.startsWith(p)) || PERSISTENCE_SUFFIXES.some((s) => path.includes(s));
}

function entryStrength(
  event: CoalEvent,
  command: string,
  context: ClassifyContext,
): { strength: Strength; why: string } {
  const mechanism = event.coalmine.persistence?.mechanism;
  if (mechanism === 'preload') return { strength: 'strong', why: 'a library preloaded into every process' };
  const text = command.slice(0, 4096);
  if (DOWNLOAD.test(text)) return { strength: 'strong', why: 'it downloads or decodes code when it runs' };
  if (WRITABLE.test(text)) return { strength: 'strong', why: 'it runs something from a world-writable directory' };
  if (HIDDEN.test(text)) return { strength: 'strong', why: 'it runs something from a hidden directory' };
  for (const word of text.split(/[\s;|&()'"]+/)) {
    const base = word.slice(word.lastIndexOf('/') + 1);
    const hit = base ? context.intel.processName(base) : undefined;
    if (hit)
      return {
        strength: 'strong',
        why: `it launches ${base}, a known ${hit.kind === 'miner-name' ? 'miner' : 'proxyware'} name`,
      };
  }
  if (HOME.test(text)) return { strength: 'medium', why: 'it runs a program from a home directory' };
  return { strength: 'weak', why: 'an ordinary-looking entry (evidence only when it launches a flagged process)' };
}

function classify(event: CoalEvent, context: ClassifyContext, out: Signal[]): void {
  const action = event.event.action;
  if (action === 'persistence-entry') {
    const command = event.process?.command_line ?? event.file?.line ?? '';
    const target = event.coalmine.persistence?.target;
    const mechanism = event.coalmine.persistence?.mechanism ?? 'persistence';
    const { strength, why } = entryStrength(event, command, context);
    out.push(
      signalFor(event, {
        kind: 'persistence',
        class: 'persistence',
        strength,
        by: `persistence:${mechanism}`,
        explanation: `${mechanism} entry in ${event.file?.path ?? event.coalmine.ref.file}: "${command}"; ${why}`,
        subject: target ? { persistenceTarget: target } : undefined,
      }),
    );
    return;
  }
  if (action === 'file-write') {
    const path = event.file?.path;
    if (!path || !isPersistencePath(path)) return;
    const who = event.process?.name ?? event.process?.executable ?? 'a process';
    out.push(
      signalFor(event, {
        kind: 'persistence',
        class: 'persistence',
        strength: 'medium',
        by: 'persistence:file-write',
        explanation: `${who} (pid ${event.process?.pid ?? '?'}) wrote ${path}, a persistence location`,
      }),
    );
  }
}

export const persistence: Classifier = {
  name: 'persistence',
  summary: 'cron, systemd, rc and preload entries tied to what they launch; writes to persistence locations',
  classify,
};
