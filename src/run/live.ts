/**
 * The one place telemetry meets the detector on the live clock (`watch`, `serve` and each partition of a `coalmine worker`): intel and
 * rules loaded once, one engine for every host, findings reported as soon as they hold and again (same
 * id, next revision) when they say more, each after Sigma context, allowlist and playbook triage, as
 * `hunt` gives them. Events come from a sensor (`push`, `pushState`), from files a sensor reads
 * (`readState`), or from request bodies (`ingest`) read through the same sources `hunt` uses.
 *
 * Request bodies that arrive together (`settleMs`) are one batch, read as `hunt` reads the files of a
 * run: every standing fact first, then the events of all bodies merged by event time, so a collection
 * sent one file per request, in any order, is the timeline `hunt` sees of it.
 */
import { attachContext } from '../analytics/finding.js';
import { createDetector, type ReportedFinding } from '../analytics/index.js';
import { ContextStore } from '../engine/context.js';
import { hostNameKey } from '../engine/host-names.js';
import type { HostState } from '../engine/host-state.js';
import { ENGINE_SNAPSHOT_CLASSES, type Engine, type EngineStats } from '../engine/index.js';
import { Snapshotter } from '../engine/snapshot.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import { createClassifier } from '../signals/index.js';
import { loadIntel } from '../signals/intel/store.js';
import { newCorrelator } from '../signals/rules.js';
import { Correlator, RuleState } from '../signals/sigma/correlation.js';
import { loadRules } from '../signals/sigma/index.js';
import { sniffSource } from '../sources/index.js';
import type { SourceContext } from '../sources/types.js';
import { Allowlist } from '../triage/allowlist.js';
import { triageFinding } from '../triage/playbook.js';
import {
  type BodyLimits,
  bodyContext,
  bodyName,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_INFLATED_BYTES,
  type IngestMeta,
  type IngestResult,
  issueResult,
  readBody,
} from './body.js';
import { type InputFile, markLinkTarget } from './inputs.js';

export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INFLATED_BYTES, type IngestMeta, type IngestResult };

/** How close together bodies must arrive to be read as one batch, where a caller batches (serve). */
export const DEFAULT_SETTLE_MS = 2000;
/** A batch that keeps growing (a shipper that never pauses) is read once its first body is this old. */
export const MAX_BATCH_SPAN_MS = 30_000;
/** Events held in a batch at most (the engine's reorder buffer holds as many); past it the batch is read. */
const MAX_BATCHED_EVENTS = 100_000;

export interface LiveDetectorOptions {
  policy: Policy;
  intelFiles?: string[];
  ruleDirs?: string[];
  /**
   * How far behind the newest event time an event may arrive and still be put in order (the
   * engine's reorder buffer); default the engine's, as `hunt` runs. An event later than that is
   * counted late (`stats.lateEvents`, an ENGINE_LATE_EVENT issue at `end`) and processed on arrival,
   * as `hunt` does. Each `tick` processes everything pushed so far, so the order is only repaired
   * among events pushed between two ticks; a later one is processed on arrival (`stats.unsortedEvents`).
   */
  allowedLatenessMs?: number;
  /**
   * Bodies (`ingest`) arriving less than this apart (by `IngestMeta.receivedAtMs`) are one batch: held
   * until the next body comes this long after the last (or a `tick` finds the batch this quiet, or its
   * first body MAX_BATCH_SPAN_MS old, or it holds MAX_BATCHED_EVENTS), then read as `hunt` reads a run:
   * every body's standing facts first, then all their events merged by event time (ties to the body
   * whose name sorts first, as `hunt` lists a directory). Only arrival times decide where a batch ends,
   * so a replay given the same times batches the same. 0 (default): each body is processed as it is read.
   */
  settleMs?: number;
  /** Request bodies are cut at this many bytes as sent (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** A gzip body's content is cut at this many bytes once inflated (default DEFAULT_MAX_INFLATED_BYTES). */
  maxInflatedBytes?: number;
  maxLineBytes?: number;
  /** The live clock: `tick()` without a time, and the time of a state body that gives none. */
  now?: () => number;
  onFinding: (finding: Finding, revision: number) => void;
  /** Problems of loading (intel, rules) at `create`, of files read by `readState`, and of the engine at `end`. */
  onIssue?: (issue: Issue) => void;
}

/** What says which body read events (`LiveDetector.ingestRead`) are of, and when it arrived. */
export interface ReadBodyMeta {
  /** The body as issues and evidence name it. */
  name: string;
  /** Tells one body from another (an ingest-log seq): a body's messages are one lane of a batch. */
  body: string | number;
  /** When the body arrived (ms): what batches bodies (`settleMs`). */
  receivedAtMs: number;
}

/** What serve's live views (coverage, hosts) read of the engine: its state, never a way to push to it. */
export type LiveState = Pick<
  Engine,
  'hostStates' | 'workloadNamespaces' | 'workloadStates' | 'cloudRegions' | 'openClustersOf' | 'stats'
>;

/**
 * The tracked host `name` spells, in any of its spellings (`WS-FIN-07`, `ws-fin-07.corp.example.com`:
 * engine/host-names.ts folds them to one key), its own spelling first; read-only, learns nothing.
 */
export function hostSpelled(state: Pick<LiveState, 'hostStates'>, name: string): HostState | undefined {
  const hosts = state.hostStates();
  const exact = hosts.find((h) => h.name === name);
  if (exact) return exact;
  const key = hostNameKey(name);
  return hosts.find((h) => hostNameKey(h.name) === key);
}

/** One body's share of a batch: its events as read, and its standing facts. */
interface BatchedBody {
  name: string;
  events: CoalEvent[];
  state: CoalEvent[];
}

export class LiveDetector {
  private readonly allowlist: Allowlist;
  private readonly now: () => number;
  private readonly limits: BodyLimits;
  private ended = false;
  /** Anything pushed, read or ticked: a checkpoint restores only into a detector that has done none. */
  private used = false;
  /** The batch being gathered (`settleMs`), in arrival order. */
  private batch: BatchedBody[] = [];
  private batchedEvents = 0;
  /** Arrival of the batch's first body and of its last (undefined: no batch). */
  private batchStartMs: number | undefined;
  private lastArrivalMs = Number.NEGATIVE_INFINITY;
  /** Counts batches read, so a body being read knows its lane's batch is gone. */
  private batchNo = 0;
  /** Bodies being read now (a tick does not read a batch part way through one). */
  private reading = 0;
  /** The lanes of the batch that `ingestRead` fills, by body. */
  private readonly readLanes = new Map<string | number, BatchedBody>();

  private constructor(
    private readonly options: LiveDetectorOptions,
    private readonly engine: Engine,
    private readonly sigmaContext: ContextStore,
    private readonly context: SourceContext,
    /** The detector's state outside its engine (analytics' last reports, Sigma correlations): kept for checkpoints. */
    // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by checkpoints (snapshot.ts walks every field)
    private readonly reports: Map<string, ReportedFinding>,
    // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by checkpoints (snapshot.ts walks every field)
    private readonly correlator: Correlator | undefined,
  ) {
    this.allowlist = new Allowlist(options.policy.allowlist);
    this.now = options.now ?? (() => Date.now());
    this.limits = { maxBodyBytes: options.maxBodyBytes, maxInflatedBytes: options.maxInflatedBytes, now: this.now };
  }

  static async create(options: LiveDetectorOptions): Promise<LiveDetector> {
    const report = (i: Issue) => options.onIssue?.(i);
    const { intel, issues: intelIssues } = await loadIntel(options.intelFiles ?? []);
    intelIssues.forEach(report);
    const rules = await loadRules(options.ruleDirs ?? [], { placeholders: options.policy.sigma?.placeholders });
    // a rule coalmine cannot run as written (a placeholder without values, a correlation over it) is skipped, counted
    for (const e of [...rules.errors, ...rules.unsupported])
      report({ file: e.file, line: e.line, code: e.code, reason: e.reason, stage: 'loading' });
    // other Sigma detections per host, shown as each finding's context; they never make a revision by themselves
    const sigmaContext = new ContextStore();
    const reports = new Map<string, ReportedFinding>();
    const correlator = newCorrelator(rules);
    let self: LiveDetector | undefined;
    const engine = createDetector({
      policy: options.policy,
      classify: createClassifier(intel, rules, (event, matches) => sigmaContext.add(event, matches), correlator, {
        hashrates: options.policy.hashrates,
      }),
      intel,
      allowedLatenessMs: options.allowedLatenessMs,
      live: true,
      onFinding: (f, revision) => self?.report(f, revision),
      reports,
    });
    self = new LiveDetector(
      options,
      engine,
      sigmaContext,
      bodyContext(rules, options.maxLineBytes),
      reports,
      correlator,
    );
    return self;
  }

  /**
   * The detector's whole state as bytes (engine/snapshot.ts): the engine, the Sigma context and
   * correlations, the analytics' last reports and any batch gathered. Taken between reads (never while a
   * body is being read); what a worker stores per partition with the stream sequence it covers.
   */
  checkpoint(): Buffer {
    if (this.reading > 0) throw new Error('a checkpoint is taken between reads, not while a body is read');
    return CHECKPOINTS.take(this);
  }

  /**
   * Put a checkpoint's state into this detector, which must be new (nothing pushed) and made with the
   * same policy, intel and rules as the one that took it: from here on it goes on as that one would have.
   */
  restore(checkpoint: Buffer): void {
    if (this.used) throw new Error('a checkpoint is restored into a new detector, before anything is pushed to it');
    CHECKPOINTS.restoreInto(this, checkpoint);
  }

  private report(finding: Finding, revision: number): void {
    attachContext(finding, this.sigmaContext);
    const checked = this.allowlist.apply(finding);
    checked.triage = triageFinding(checked, this.options.policy);
    this.options.onFinding(checked, revision);
  }

  get stats(): Readonly<EngineStats> {
    return this.engine.stats;
  }

  /** The engine's state as it is now, for read-only views. */
  get state(): LiveState {
    return this.engine;
  }

  /** An event of a sensor, in event time (after any batch of bodies gathered before it). */
  push(event: CoalEvent): void {
    this.used = true;
    if (this.batchStartMs !== undefined) this.readBatch();
    this.engine.push(event);
  }

  /** A standing fact (a cron line on disk): true for the whole timeline, moving no clock. */
  pushState(event: CoalEvent): void {
    this.used = true;
    if (this.batchStartMs !== undefined) this.readBatch();
    this.engine.pushState(event);
  }

  /**
   * A file a sensor found (a persistence place) applied as standing facts when a state source
   * (cron, units) reads it; false, untouched, when none does. Its problems go to `report`, each
   * fact applied also to `onEvent` (what `watch --server` forwards).
   */
  async readState(file: InputFile, report: (i: Issue) => void, onEvent?: (e: CoalEvent) => void): Promise<boolean> {
    this.used = true;
    const source = sniffSource(file.input);
    if (source?.delivers !== 'state') return false;
    try {
      for await (const batch of source.read(file.input, this.context)) {
        batch.issues.forEach(report);
        markLinkTarget(file, batch.events);
        for (const e of batch.events) {
          // before the engine sees it: what is forwarded is the fact as read
          onEvent?.(e);
          this.engine.pushState(e);
        }
      }
    } catch (err) {
      report({ file: file.input.name, code: 'SOURCE_READ_FAILED', reason: (err as Error).message, stage: 'reading' });
    }
    return true;
  }

  /**
   * One request's body through the source that sniffs it (or `meta.format`): gzip inflated, state
   * sources applied as standing facts, event sources pushed in their order (run/body.ts reads it).
   * Never throws: every problem (an unknown format, bad lines, a body over the bounds, a broken gzip, a
   * failing read of the body) is an issue of the result, and what could be read is pushed.
   */
  async ingest(body: Uint8Array | AsyncIterable<Uint8Array>, meta: IngestMeta): Promise<IngestResult> {
    this.used = true;
    const name = bodyName(meta.name);
    if (this.ended)
      return issueResult({
        file: name,
        code: 'INGEST_ENDED',
        reason: 'the detector has ended; nothing read',
        stage: 'reading',
      });
    const settle = this.options.settleMs ?? 0;
    const arrival = meta.receivedAtMs ?? this.now();
    // a body that comes after a pause (or to a batch already old) starts a new batch: the last one is read first
    if (this.batchStartMs !== undefined && this.batchDue(arrival)) this.readBatch();
    this.reading++;
    let lane: BatchedBody | undefined;
    let laneBatch = this.batchNo;
    const laneOf = (): BatchedBody | undefined => {
      if (settle <= 0) return undefined;
      // a new lane once the batch it was in has been read (its size bound, or a sensor's push meanwhile)
      if (!lane || laneBatch !== this.batchNo) {
        laneBatch = this.batchNo;
        lane = { name, events: [], state: [] };
        this.batch.push(lane);
        this.batchStartMs ??= arrival;
      }
      return lane;
    };
    let result: IngestResult | undefined;
    try {
      result = await readBody(body, { ...meta, name }, this.context, this.limits, {
        state: (events) => {
          const held = laneOf();
          if (held) held.state.push(...events);
          else for (const e of events) this.engine.pushState(e);
        },
        events: (events) => {
          for (const e of events) {
            const held = laneOf();
            if (!held) {
              this.engine.push(e);
              continue;
            }
            held.events.push(e);
            // bounded: a batch this large is read now, and the rest of the body starts the next one
            if (++this.batchedEvents >= MAX_BATCHED_EVENTS) this.readBatch();
          }
        },
      });
      return result;
    } finally {
      this.reading--;
      // a body of which nothing was read is no part of the timeline (serve refuses it, and a replay never sees it)
      if (settle > 0 && result && result.events + result.stateEvents + result.unused > 0) this.lastArrivalMs = arrival;
      const empty = lane && laneBatch === this.batchNo && lane.events.length === 0 && lane.state.length === 0;
      if (empty) {
        this.batch.splice(this.batch.indexOf(lane as BatchedBody), 1);
        if (this.batch.length === 0) this.batchStartMs = undefined;
      }
    }
  }

  /**
   * Events of a body already read elsewhere (`coalmine worker`: a bus message is one body's events or
   * standing facts of one partition, decoded), batched by `meta.receivedAtMs` as `ingest` batches bodies:
   * a body's messages (same `meta.body`) share one lane of the batch, in the order given.
   */
  ingestRead(read: { events: readonly CoalEvent[]; state: readonly CoalEvent[] }, meta: ReadBodyMeta): void {
    this.used = true;
    if (this.ended || read.events.length + read.state.length === 0) return;
    const arrival = meta.receivedAtMs;
    if (this.batchStartMs !== undefined && this.batchDue(arrival)) this.readBatch();
    if ((this.options.settleMs ?? 0) <= 0) {
      for (const e of read.state) this.engine.pushState(e);
      for (const e of read.events) this.engine.push(e);
      return;
    }
    this.lastArrivalMs = arrival;
    let lane = this.readLanes.get(meta.body);
    const open = (): BatchedBody => {
      const made: BatchedBody = { name: meta.name, events: [], state: [] };
      this.batch.push(made);
      this.readLanes.set(meta.body, made);
      this.batchStartMs ??= arrival;
      return made;
    };
    lane ??= open();
    lane.state.push(...read.state);
    for (const e of read.events) {
      lane.events.push(e);
      // bounded as `ingest` is: a batch this large is read now, and the rest starts the next one
      if (++this.batchedEvents >= MAX_BATCHED_EVENTS) {
        this.readBatch();
        lane = open();
      }
    }
  }

  /** Whether the batch is to be read at `nowMs`: quiet for `settleMs`, or its first body MAX_BATCH_SPAN_MS old. */
  private batchDue(nowMs: number): boolean {
    const start = this.batchStartMs;
    if (start === undefined) return false;
    return nowMs - this.lastArrivalMs >= (this.options.settleMs ?? 0) || nowMs - start >= MAX_BATCH_SPAN_MS;
  }

  /**
   * The batch into the engine as `hunt` feeds a run (run/feed.ts): every body's standing facts, then
   * their events merged by event time as run/merge.ts merges files (the body with the earliest next
   * event goes first; ties to the body listed first), bodies listed by name, then arrival.
   */
  private readBatch(): void {
    const bodies = this.batch
      .map((body, arrived) => ({ body, arrived }))
      .sort((a, b) => (a.body.name < b.body.name ? -1 : a.body.name > b.body.name ? 1 : a.arrived - b.arrived))
      .map((x) => x.body);
    this.batch = [];
    this.readLanes.clear();
    this.batchNo++;
    this.batchedEvents = 0;
    this.batchStartMs = undefined;
    for (const body of bodies) for (const e of body.state) this.engine.pushState(e);
    mergeLanes(
      bodies.map((b) => b.events),
      (e) => this.engine.push(e),
    );
  }

  /**
   * The live clock: a batch gathered long enough is read, what is pushed is processed, clusters the clock
   * has passed close, changed ones are offered.
   */
  tick(nowMs: number = this.now()): void {
    this.used = true;
    if (this.ended) return;
    // never part way through a body: a replay reads each body whole between its ticks
    if (this.reading === 0 && this.batchDue(nowMs)) this.readBatch();
    this.engine.tick(nowMs);
  }

  /** Any batch read, every window closed (what only holds at close is reported) and the engine's issues to `onIssue`; once. */
  end(): void {
    if (this.ended) return;
    if (this.batchStartMs !== undefined) this.readBatch();
    this.ended = true;
    this.engine.end();
    const report = (i: Issue) => this.options.onIssue?.(i);
    this.engine.issues.forEach(report);
  }
}

/**
 * Every class a live detector's state holds. Configuration (options, clocks, rules, allowlist, compiled
 * correlations) is transient: a restore keeps the fresh detector's.
 */
const CHECKPOINTS = new Snapshotter([
  ...ENGINE_SNAPSHOT_CLASSES,
  { name: 'ContextStore', ctor: ContextStore },
  { name: 'Correlator', ctor: Correlator, transient: ['byInput', 'limits'] },
  { name: 'CorrelationRule', ctor: RuleState, transient: ['c', 'closing', 'keep'] },
  { name: 'LiveDetector', ctor: LiveDetector, transient: ['options', 'context', 'allowlist', 'now', 'limits'] },
]);

/**
 * Lanes of events merged by event time into `emit`, as run/merge.ts `mergeByTime` merges sources:
 * always the lane whose next event is earliest, ties to the lane listed first, each lane's own order
 * kept (a lane out of order is left to the engine's reorder buffer, as in `hunt`). A heap of lane
 * heads: a batch may hold many small bodies.
 */
export function mergeLanes(lanes: CoalEvent[][], emit: (event: CoalEvent) => void): void {
  const pos = lanes.map(() => 0);
  const heap: number[] = [];
  const before = (a: number, b: number): boolean => {
    const d = lanes[a][pos[a]].coalmine.ts - lanes[b][pos[b]].coalmine.ts;
    return d < 0 || (d === 0 && a < b);
  };
  const down = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l], heap[m])) m = l;
      if (r < heap.length && before(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  lanes.forEach((lane, i) => {
    if (lane.length > 0) heap.push(i);
  });
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  while (heap.length > 0) {
    const lane = heap[0];
    emit(lanes[lane][pos[lane]++]);
    if (pos[lane] >= lanes[lane].length) {
      const last = heap.pop() as number;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    down(0);
  }
}
