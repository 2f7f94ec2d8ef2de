/**
 * Events on the bus as ingest nodes put them there (src/bus/contract.ts), for worker tests: a collection's
 * files read by their sources as `hunt` names them, and published per body and partition in messages of at
 * most MAX_EVENTS_PER_MESSAGE, each with the contract's headers and message id.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { JetStreamClient } from '@nats-io/jetstream';
import {
  encodeEvents,
  eventLine,
  headersOf,
  MAX_EVENTS_PER_MESSAGE,
  msgIdOf,
  routeOf,
  subjectOf,
} from '../../src/bus/contract.js';
import type { CoalEvent } from '../../src/model/event.js';
import { streamInput } from '../../src/run/inputs.js';
import { sniffSource } from '../../src/sources/index.js';
import type { Store } from '../../src/store/index.js';

export interface ReadBody {
  name: string;
  kind: 'events' | 'state';
  events: CoalEvent[];
}

const STATE_FILES = ['etc/crontab', 'var/spool/cron/crontabs/redis'];
const EVENT_FILES = ['var/log/audit/audit.log', 'var/log/metrics/cpu.csv'];

/** A kinsing-like collection's files (standing facts first), each with its events as its source reads them. */
export async function collectionBodies(dir: string): Promise<ReadBody[]> {
  const host = readFileSync(join(dir, 'etc', 'hostname'), 'utf8').trim();
  const times = new Map<string, number>();
  for (const line of readFileSync(join(dir, 'bodyfile'), 'utf8').split('\n')) {
    const f = line.split('|');
    if (f.length >= 11) times.set(f[1], Number(f[8]) * 1000);
  }
  const out: ReadBody[] = [];
  for (const rel of [...STATE_FILES, ...EVENT_FILES]) {
    const name = join(dir, rel);
    const state = STATE_FILES.includes(rel);
    async function* body() {
      yield readFileSync(name);
    }
    const file = await streamInput(
      name,
      body(),
      { hostHint: host, mtimeMs: times.get(`/${rel}`) ?? 0, relPath: state ? rel : undefined },
      () => {},
      'empty',
    );
    assert.ok(file, name);
    const source = sniffSource(file.input);
    assert.ok(source, name);
    const events: CoalEvent[] = [];
    for await (const batch of source.read(file.input, { maxLineBytes: 1 << 20, maxPendingRecords: 4096 }))
      events.push(...batch.events);
    out.push({ name, kind: source.delivers === 'state' ? 'state' : 'events', events });
  }
  return out;
}

/** A copy of collection `from` at `to` with its host renamed (every file's text: hostname, metric entities). */
export function renamedCollection(from: string, to: string, oldHost: string, newHost: string): string {
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const target = join(to, relative(from, path));
      if (statSync(path).isDirectory()) {
        mkdirSync(target, { recursive: true });
        walk(path);
      } else writeFileSync(target, readFileSync(path, 'utf8').replaceAll(oldHost, newHost));
    }
  };
  mkdirSync(to, { recursive: true });
  walk(from);
  return to;
}

/** Publishes bodies as an ingest node does, each under the next of `seqs` (the ingest log's seq); the messages published. */
export async function publishBodies(
  js: JetStreamClient,
  bodies: ReadBody[],
  receivedAt: number,
  seqs: { next: number },
): Promise<number> {
  let messages = 0;
  for (const body of bodies) {
    const seq = seqs.next++;
    const byPartition = new Map<number, string[]>();
    for (const e of body.events) {
      const p = routeOf(e).partition;
      const lines = byPartition.get(p) ?? [];
      lines.push(eventLine(e));
      byPartition.set(p, lines);
    }
    let index = 0;
    for (const [p, lines] of byPartition)
      for (let at = 0; at < lines.length; at += MAX_EVENTS_PER_MESSAGE) {
        const part = lines.slice(at, at + MAX_EVENTS_PER_MESSAGE);
        const meta = { seq, index, kind: body.kind, sensor: 'test', name: body.name, format: 'test', receivedAt };
        await js.publish(subjectOf(p), encodeEvents(part), {
          headers: headersOf(meta, part.length),
          msgID: msgIdOf(seq, body.kind, p, [at]),
        });
        index++;
        messages++;
      }
  }
  return messages;
}

/**
 * What every bus test asks of the store after workers filed: each finding's revisions numbered 1..n and
 * no two of them the same finding (a replay or redelivery stored nothing twice).
 */
export async function assertRevisionsOnce(store: Store, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const revisions = await store.findings.revisions(id);
    assert.deepEqual(
      revisions.map((r) => r.revision),
      revisions.map((_, k) => k + 1),
      `${id}: revisions 1..n`,
    );
    const digests = revisions.map((r) => createHash('sha256').update(JSON.stringify(r.finding)).digest('hex'));
    assert.equal(new Set(digests).size, digests.length, `${id}: no revision stored twice`);
  }
}
