/**
 * Pool contact without intel: a process with miner evidence that keeps a connection to one address
 * on a common mining port (a single flow that lasts, or the same destination reopened again and again
 * over the process's life) is talking to its pool, listed or not. Campaigns rotate pool addresses
 * daily, so a list never has them; the shape of the contact does. One weak `mining-port` connection
 * stays weak; this turns the held or repeated one into medium `pool-contact`, once per destination.
 */
import type { EntityKey } from '../model/entity.js';
import { isoFromMs } from '../model/event.js';
import type { Signal } from '../model/signal.js';

/** A flow open at least this long is held, not a probe. */
export const HELD_FLOW_MS = 10 * 60 * 1000;
/** This many connections to one destination, spread over at least REOPENED_SPAN_MS, are a reopened session. */
export const REOPENED_COUNT = 3;
export const REOPENED_SPAN_MS = 5 * 60 * 1000;
const MAX_TRACKED = 65_536;

interface Track {
  count: number;
  firstTs: number;
  lastTs: number;
  longestMs: number;
  emitted: boolean;
}

export class MiningPortContacts {
  private readonly tracks = new Map<string, Track>();

  /**
   * Record a weak `mining-port` signal about `process`; when the contact is held or reopened and
   * `isMiner` says the process carries miner evidence, return the stronger signal (once).
   */
  observe(
    weak: Signal,
    process: EntityKey,
    durationMs: number | undefined,
    isMiner: () => boolean,
    /** How the explanation names the holder and its miner evidence (a cloud instance is not a process). */
    say: { who: string; miner: string } = { who: 'the process', miner: 'carries miner evidence' },
  ): Signal | undefined {
    const destination = weak.subject?.destination;
    if (!destination) return undefined;
    const key = `${process}|${destination}`;
    let track = this.tracks.get(key);
    if (!track) {
      track = { count: 0, firstTs: weak.ts, lastTs: weak.ts, longestMs: 0, emitted: false };
      this.tracks.set(key, track);
      if (this.tracks.size > MAX_TRACKED) {
        const oldest = this.tracks.keys().next();
        if (!oldest.done) this.tracks.delete(oldest.value);
      }
    }
    track.count++;
    if (weak.ts < track.firstTs) track.firstTs = weak.ts;
    if (weak.ts > track.lastTs) track.lastTs = weak.ts;
    if (durationMs !== undefined && durationMs > track.longestMs) track.longestMs = durationMs;
    if (track.emitted) return undefined;
    const held = track.longestMs >= HELD_FLOW_MS;
    const reopened = track.count >= REOPENED_COUNT && track.lastTs - track.firstTs >= REOPENED_SPAN_MS;
    if (!(held || reopened) || !isMiner()) return undefined;
    track.emitted = true;
    const shape = held
      ? `held one connection open for ${Math.round(track.longestMs / 60_000)} min`
      : `opened ${track.count} connections between ${isoFromMs(track.firstTs)} and ${isoFromMs(track.lastTs)}`;
    return {
      ...weak,
      kind: 'pool-contact',
      class: 'network',
      strength: 'medium',
      by: 'engine:held-mining-port',
      explanation: `${weak.explanation.replace(/ \(weak on its own\)$/, '')}; ${say.who} ${shape} to it and ${say.miner}: an unlisted pool (pool addresses rotate faster than any list)`,
    };
  }
}
