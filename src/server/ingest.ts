/**
 * Ingest for `coalmine serve`: request bodies from sensors and shippers (`POST /api/v1/events`) and
 * `watch --webhook` deliveries (`POST /api/v1/findings`) become stored findings and cases.
 *
 * `IngestPipeline.accept`: the body is appended to the ingest log and COMMITTED, then read by the
 * LiveDetector (every format `hunt` reads, gzip, bounded), so only a committed body ever affects
 * detection and an acknowledged one survives a crash; a body of which nothing could be read is taken
 * out of the log again and refused. The findings the detector reports are stored only after the body
 * they came from is committed. At start the log newer than the replay window is replayed through the
 * fresh detector in sequence order.
 *
 * Revisions: the detector numbers its reports from 1 again after every start, so the store's revision
 * of a detector finding is chosen here by content: a body already stored under the finding is a
 * duplicate (a replay reproduces what was stored, and changes nothing), a new one the next revision.
 * During replay only each finding's last report is stored, so a replay never stores an older state
 * of a finding above a newer one.
 *
 * Cases: findings grouped as `hunt` groups them (triage/cases.ts), against the store: each finding's
 * link keys are recorded, so a new finding finds the cases of the findings it shares a host, pool, hash
 * or path with even after a restart. A new finding joins the open case its group already has, else
 * starts a case with its group's findings no case holds. When a finding joins or rises, the case is
 * named by its worst finding again (title, severity; tier raised to Tier 2), audited. A new finding that
 * links open cases grouped apart joins the oldest, and the others are merged into it (findings moved,
 * each marked merged with a pointer, audited). A closed case
 * is reopened only when one of its findings rises (higher severity, or a leg it was not closed with)
 * or a new finding recurs after it was closed (on an entity of the case, or the same executable on the
 * same host); a revision that repeats the
 * evidence it was closed on changes nothing. A new finding linked only to closed cases, on another
 * entity, starts a case of its own. Every stored revision and every case created, joined, renamed,
 * merged or reopened is published to the change feed after its commit.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { type BusAccepted, type BusIngest, BusUnavailable } from '../bus/ingest-node.js';
import type { Finding } from '../model/finding.js';
import { SEVERITY_RANK } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_INFLATED_BYTES,
  DEFAULT_SETTLE_MS,
  type IngestResult,
  LiveDetector,
  type LiveState,
} from '../run/live.js';
import type { CaseHead, ChecklistStep } from '../store/cases.js';
import { MAX_FINDING_LINKS } from '../store/findings.js';
import type { Store } from '../store/index.js';
import { isIdempotencyKey } from '../store/ingest.js';
import { caseTitle, groupCases, linksOf } from '../triage/cases.js';
import { AsyncLock } from '../util/async-lock.js';
import { clip, inert } from '../util/hostile.js';
import { isGzip } from '../util/input.js';
import { parseTimestamp } from '../util/time.js';
import { readJson } from './app.js';
import type { ChangeFeed } from './changes.js';
import { HttpError } from './errors.js';
import type { Route, ServerModule } from './http.js';
import { logBody, noteSensorContact, type RequestMeta, withdrawUnread } from './ingest-request.js';
import { LIVE_VIEW_PATHS, LIVE_VIEW_SCHEMAS, liveViewRoutes, type ReadCounts } from './live-views.js';
import type { OpenApiPaths, Schema } from './openapi.js';
import { SENSOR } from './roles.js';

export const DEFAULT_REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_TICK_MS = 5000;
/** A `watch --webhook` delivery: one finding (the store refuses one over 4 MiB of JSON). */
const MAX_FINDING_BODY_BYTES = 8 * 1024 * 1024;
/** Findings kept in memory for grouping new ones (least recently reported forgotten first). */
const MAX_KNOWN_FINDINGS = 20_000;
/** Issues listed in an answer (every one is counted in the detector's result). */
const MAX_ANSWER_ISSUES = 50;
/** Members of a closed case whose entities are read to tell a recurrence. */
const MAX_ENTITY_LOOKUPS = 64;
const ACTOR = 'coalmine-ingest';
/** The most cases `CaseStore.linkedTo` lists (its default). */
const MAX_LINKED_CASES = 64;
/** Open cases one new finding merges (the rest wait for the next finding that links them). */
const MAX_MERGES_PER_FINDING = 16;
/** Formats and issue codes counted for the live coverage view (both are small vocabularies; a bound anyway). */
const MAX_COUNTED_KEYS = 256;

export interface IngestPipelineOptions {
  store: Store;
  policy: Policy;
  intelFiles?: string[];
  ruleDirs?: string[];
  /** Epoch ms; tests pin it. */
  now?: () => number;
  /** How far back the log is replayed at start, and kept (default 24 h). */
  replayWindowMs?: number;
  /** The live clock's period; 0: no timer (the caller ticks). Default 5 s. */
  tickMs?: number;
  /** A request body over this many bytes (as sent) is refused: 413. */
  maxBodyBytes?: number;
  /** A gzip body's content is cut here once inflated. */
  maxInflatedBytes?: number;
  /** Operator lines (stderr under serve). */
  log?: (line: string) => void;
  /** Where stored finding revisions and case changes are published once committed (the server's feed). */
  changes?: Pick<ChangeFeed, 'publish'>;
}

export interface AnswerIssue {
  /** `request-name:line`, or the request name. */
  ref: string;
  code: string;
  reason: string;
}

export interface AcceptResult {
  /** The body was committed to the ingest log. */
  accepted: boolean;
  seq?: number;
  /** Events and standing facts read. */
  events: number;
  format?: string;
  issues: AnswerIssue[];
  /** Every problem counted by code. */
  issuesByCode: Record<string, number>;
  /** The body's Idempotency-Key was already logged (entry `seq`): nothing read or logged again. */
  repeat?: boolean;
}

export interface PipelineStats {
  accepted: number;
  refused: number;
  /** Bodies sent again under an Idempotency-Key the log holds: answered, neither read nor logged. */
  repeats: number;
  replayed: number;
  findingsStored: number;
  findingsDuplicate: number;
  casesCreated: number;
  casesJoined: number;
  casesReopened: number;
  /** Case headlines (title, severity, tier) changed by a finding joining or rising. */
  casesRetitled: number;
  /** Open cases merged into an older one because a new finding linked them. */
  casesMerged: number;
  /** Findings whose storing failed (logged). */
  failures: number;
}

const digestOf = (finding: unknown): string => createHash('sha256').update(JSON.stringify(finding)).digest('hex');

/** What a later revision says that the earlier one did not: a higher severity or a new leg; undefined when nothing. */
export function riseOf(before: Finding, after: Finding): string | undefined {
  const reasons: string[] = [];
  if (SEVERITY_RANK[after.severity] > SEVERITY_RANK[before.severity])
    reasons.push(`severity ${before.severity} → ${after.severity}`);
  const legs = after.legs.filter((l) => !before.legs.includes(l));
  if (legs.length > 0) reasons.push(`new ${legs.length === 1 ? 'leg' : 'legs'} ${legs.join(', ')}`);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** The playbook's checklist for a case: the worst finding's four questions, then its containment steps. */
export function checklistOf(worst: Finding | undefined): ChecklistStep[] {
  const triage = worst?.triage;
  if (!triage) return [];
  const steps: ChecklistStep[] = triage.questions.map((q) => ({ id: `question:${q.id}`, label: q.question }));
  triage.containment.steps.forEach((s, i) => {
    steps.push({ id: `contain:${i + 1}`, label: `${s.phase}: ${s.action}` });
  });
  return steps.slice(0, 200);
}

function answerIssues(issues: Issue[]): AnswerIssue[] {
  return issues.slice(0, MAX_ANSWER_ISSUES).map((i) => ({
    ref: clip(inert(i.line === undefined ? i.file : `${i.file}:${i.line}`), 300),
    code: i.code,
    reason: clip(inert(i.reason), 1024),
  }));
}

/**
 * A body that is one JSON array of records (Fluent Bit's `format json`, Vector's `json` codec without
 * newline framing) as JSON lines, record N on line N, so the NDJSON reader reads it; undefined for any
 * other body. Gzip is inflated here, bounded, only when the body is such an array.
 */
export function arrayAsLines(body: Buffer, maxInflatedBytes: number): Buffer | undefined {
  let text: Buffer = body;
  if (isGzip(body)) {
    try {
      text = gunzipSync(body, { maxOutputLength: maxInflatedBytes });
    } catch {
      return undefined; // the detector reads it and says what is wrong
    }
  }
  let i = 0;
  while (i < text.length && (text[i] === 0x20 || text[i] === 0x0a || text[i] === 0x0d || text[i] === 0x09)) i++;
  if (text[i] !== 0x5b) return undefined; // '['
  let records: unknown;
  try {
    records = JSON.parse(text.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(records)) return undefined;
  return Buffer.from(records.map((r) => `${JSON.stringify(r) ?? 'null'}\n`).join(''));
}

/** What a body is read as: a JSON array of records (`arrayAsLines`) as NDJSON, else as sent. */
export function readAs(
  body: Buffer,
  format: string | undefined,
  maxInflatedBytes: number,
): { body: Buffer; format?: string } {
  const lines = format === undefined || format === 'ndjson' ? arrayAsLines(body, maxInflatedBytes) : undefined;
  return lines ? { body: lines, format: 'ndjson' } : { body, format };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * A delivered finding (its indexed fields already checked by the store) in the shape grouping and the
 * checklist read: lists are lists of the right things, and a triage that is not whole is left out, so a
 * hostile delivery cannot break the grouping of the findings after it.
 */
export function fileable(o: Record<string, unknown>): Finding {
  const { revision: _revision, dedupe_key: _key, ...rest } = o;
  const facts: Finding['facts'] = {};
  if (isObject(o.facts)) {
    const destinations = strings(o.facts.destinations);
    if (destinations.length > 0) facts.destinations = destinations.slice(0, 256);
    if (typeof o.facts.sha256 === 'string') facts.sha256 = o.facts.sha256;
  }
  const processes = (Array.isArray(o.processes) ? o.processes : [])
    .filter(isObject)
    .slice(0, 1)
    .map((p) => (typeof p.executable === 'string' ? { executable: p.executable } : {}));
  const t = o.triage;
  const triageWhole =
    isObject(t) &&
    isObject(t.escalation) &&
    typeof t.escalation.tier === 'string' &&
    Array.isArray(t.questions) &&
    t.questions.every((q) => isObject(q) && typeof q.id === 'string' && typeof q.question === 'string') &&
    isObject(t.containment) &&
    Array.isArray(t.containment.steps) &&
    t.containment.steps.every((s) => isObject(s) && typeof s.phase === 'string' && typeof s.action === 'string') &&
    (t.cost === null ||
      t.cost === undefined ||
      (isObject(t.cost) && typeof t.cost.core_hours === 'number' && typeof t.cost.amount === 'number'));
  return {
    ...(rest as unknown as Finding),
    entity: typeof o.entity === 'string' ? o.entity : `finding:${String(o.id)}`,
    legs: strings(o.legs),
    facts,
    processes: processes as Finding['processes'],
    triage: triageWhole ? (t as unknown as Finding['triage']) : undefined,
  };
}

interface Known {
  max: number;
  /** content digest → revision */
  digests: Map<string, number>;
}

export class IngestPipeline {
  readonly stats: PipelineStats = {
    accepted: 0,
    refused: 0,
    repeats: 0,
    replayed: 0,
    findingsStored: 0,
    findingsDuplicate: 0,
    casesCreated: 0,
    casesJoined: 0,
    casesReopened: 0,
    casesRetitled: 0,
    casesMerged: 0,
    failures: 0,
  };
  /** One accept at a time, so the log's order is the detector's order. */
  private readonly serial = new AsyncLock();
  /** Stores findings and files them into cases, one at a time, in report order. */
  private work: Promise<void> = Promise.resolve();
  /** Replay: each finding's last report. */
  private replaying: Map<string, Finding> | undefined;
  /** While a replay's findings are filed: the cases whose headline is due, and whether one escalates. */
  private headlinesDue: Map<string, boolean> | undefined;
  /** Known findings a case holds (set once filed: a finding never leaves every case). */
  private readonly heldKnown = new Set<string>();
  /** The known findings by link key (`linksOf`), so a finding's group is found without regrouping all. */
  private readonly knownByLink = new Map<string, Set<string>>();
  /** Recent findings (newest revision), for grouping new ones; insertion order = least recent first. */
  private readonly known = new Map<string, Finding>();
  private readonly revisionsKnown = new Map<string, Known>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly maxBodyBytes: number;
  private readonly maxInflatedBytes: number;
  private readonly replayWindowMs: number;
  private readonly tickMs: number;
  private lastPrune = 0;
  private detector!: LiveDetector;
  private closed = false;
  private readonly readCounts: ReadCounts = { bodies: 0, byFormat: {}, issuesByCode: {} };

  private constructor(private readonly options: IngestPipelineOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxInflatedBytes = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
    this.replayWindowMs = options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  }

  /** A pipeline with the log newer than the replay window replayed, its findings stored, its timer running. */
  static async start(options: IngestPipelineOptions): Promise<IngestPipeline> {
    const self = new IngestPipeline(options);
    self.detector = await LiveDetector.create({
      policy: options.policy,
      intelFiles: options.intelFiles,
      ruleDirs: options.ruleDirs,
      now: self.now,
      maxBodyBytes: self.maxBodyBytes,
      maxInflatedBytes: self.maxInflatedBytes,
      // with a clock running, bodies arriving together are read as hunt reads a run's files
      settleMs: self.tickMs > 0 ? DEFAULT_SETTLE_MS : 0,
      onFinding: (finding) => self.reported(finding),
      onIssue: (i) => self.log(`coalmine serve: ${i.code} ${clip(inert(i.file), 200)}: ${clip(inert(i.reason), 500)}`),
    });
    await self.replay();
    if (self.tickMs > 0) {
      self.timer = setInterval(() => self.tick(), self.tickMs);
      self.timer.unref();
    }
    return self;
  }

  /**
   * The filing half alone, for `coalmine worker`: no detector, no log replay, no timer. `fileReport`
   * stores what the worker's detectors report as serve stores its own detector's reports.
   */
  static filer(options: Pick<IngestPipelineOptions, 'store' | 'policy' | 'log' | 'changes'>): IngestPipeline {
    return new IngestPipeline({ ...options, tickMs: 0 });
  }

  /**
   * One detector report (a snapshot is taken) stored under the revision its content earns (a report
   * already stored is a duplicate) and filed into cases. Resolves once both are done; rejects when the
   * store failed, and the same report may then be given again (what was stored reads as a duplicate).
   */
  fileReport(finding: Finding): Promise<void> {
    return this.enqueue(JSON.parse(JSON.stringify(finding)) as Finding);
  }

  get store(): Store {
    return this.options.store;
  }

  get maxBody(): number {
    return this.maxBodyBytes;
  }

  /** The engine's state now (hosts, workloads, clouds, open clusters), for the live views; read only. */
  get live(): LiveState {
    return this.detector.state;
  }

  /** What the engine was given since start (replay included): bodies read, by format, and problems by code. */
  get readSoFar(): Readonly<ReadCounts> {
    return this.readCounts;
  }

  private noteRead(result: IngestResult): void {
    const c = this.readCounts;
    c.bodies++;
    const bump = (m: Record<string, number>, k: string, n: number) => {
      if (Object.hasOwn(m, k)) m[k] += n;
      else if (Object.keys(m).length < MAX_COUNTED_KEYS) m[k] = n;
    };
    if (result.format) bump(c.byFormat, result.format, 1);
    for (const [code, n] of Object.entries(result.issuesByCode)) bump(c.issuesByCode, code, n);
  }

  private reported(finding: Finding): void {
    // a snapshot: the report is stored later, and what the engine holds may change meanwhile
    const copy = JSON.parse(JSON.stringify(finding)) as Finding;
    if (this.replaying) this.replaying.set(copy.id, copy);
    else void this.enqueue(copy).catch(() => {});
  }

  private enqueue(finding: Finding): Promise<void> {
    const job = this.work.then(() => this.record(finding));
    this.work = job.catch((err) => {
      this.stats.failures++;
      this.log(
        `coalmine serve: storing finding ${clip(inert(finding.id), 200)} failed: ${clip(inert(String(err)), 500)}`,
      );
    });
    return job;
  }

  private async replay(): Promise<void> {
    const from = Math.max(0, this.now() - this.replayWindowMs);
    this.replaying = new Map();
    let afterSeq = 0;
    let prevAt: number | undefined;
    try {
      for (;;) {
        const page = await this.options.store.ingest.newerThan(from, { afterSeq, limit: 100 });
        if (page.length === 0) break;
        for (const entry of page) {
          // the live timer fired between two bodies only when they came a period or more apart: the
          // engine closes what the clock passed, so ticking after every body would close clusters the
          // live run kept open for the next body
          if (this.tickMs > 0 && prevAt !== undefined && entry.received_at - prevAt >= this.tickMs)
            this.detector.tick(prevAt + this.tickMs);
          prevAt = entry.received_at;
          this.noteRead(
            await this.read(entry.body, {
              name: entry.name,
              format: entry.format ?? undefined,
              host: entry.host ?? undefined,
              receivedAt: entry.received_at,
              mtime: entry.mtime ?? undefined,
            }),
          );
          this.stats.replayed++;
          afterSeq = entry.seq;
        }
      }
      this.detector.tick(this.now());
    } finally {
      const last = [...this.replaying.values()];
      this.replaying = undefined;
      this.headlinesDue = new Map();
      for (const f of last) void this.enqueue(f).catch(() => {});
    }
    await this.flush();
    const due = this.headlinesDue;
    this.headlinesDue = undefined;
    for (const [caseId, escalates] of due)
      await this.refreshHeadline(caseId, escalates).catch((err) => {
        this.stats.failures++;
        this.log(`coalmine serve: naming case ${clip(inert(caseId), 200)} failed: ${clip(inert(String(err)), 500)}`);
      });
  }

  /** The detector reads one body (a JSON array as its records' lines). */
  private read(
    body: Buffer,
    meta: { name: string; format?: string; host?: string; receivedAt: number; mtime?: number },
  ): Promise<IngestResult> {
    const read = readAs(body, meta.format, this.maxInflatedBytes);
    return this.detector.ingest(read.body, {
      name: meta.name,
      format: read.format,
      host: meta.host,
      // a file the sender said the mtime of is dated as hunt dates it; else it is as old as its arrival
      mtimeMs: meta.mtime ?? meta.receivedAt,
      receivedAtMs: meta.receivedAt,
    });
  }

  /**
   * One request body: committed to the log, then read; when nothing in it could be read it is taken out
   * of the log again and refused. Committing first, not reading first: the engine cannot take events
   * back, so a body read before a commit that then fails would steer detection without being in the
   * log a restart replays. A crash between the commit and the removal leaves a body that reads as
   * nothing again on replay: it changes nothing. Throws only when the store fails.
   */
  accept(body: Buffer, meta: RequestMeta): Promise<AcceptResult> {
    if (!this.detector) return Promise.reject(new Error('a filer (IngestPipeline.filer) reads no bodies'));
    return this.serial.run(async () => {
      if (this.closed) throw new HttpError(503, 'closing', 'the server is closing');
      const receivedAt = this.now();
      const { seq, repeat, sensor, name, format, host } = await logBody(this.options.store, body, meta, receivedAt);
      // two requests of one batch raced past the check before the body: the first one logged it
      if (repeat) return this.repeatAnswer(seq);
      const result = await this.read(body, { name, format, host, receivedAt, mtime: meta.mtime });
      const answer: AcceptResult = {
        accepted: false,
        events: result.events + result.stateEvents,
        format: result.format,
        issues: answerIssues(result.issues),
        issuesByCode: result.issuesByCode,
      };
      if (result.events + result.stateEvents + result.unused === 0) {
        await withdrawUnread(this.options.store, seq, this.log);
        this.stats.refused++;
        if (answer.issues.length === 0)
          answer.issues.push({ ref: name, code: 'INGEST_NOTHING_READ', reason: 'no event or record could be read' });
        return answer;
      }
      answer.accepted = true;
      answer.seq = seq;
      this.stats.accepted++;
      this.noteRead(result);
      await noteSensorContact(this.options.store, sensor, host, meta.version, this.log);
      return answer;
    });
  }

  /**
   * The answer to a body sent again under an Idempotency-Key its token already logged, looked up before
   * its body is read; undefined when the log holds no such key (any more). Taken in turn with accepts, so
   * the entry it names has been read and kept, not refused while this answered for it.
   */
  repeatOf(tokenId: string, idempotencyKey: string): Promise<AcceptResult | undefined> {
    return this.serial.run(async () => {
      if (this.closed) throw new HttpError(503, 'closing', 'the server is closing');
      const held = await this.options.store.ingest.byKey(tokenId, idempotencyKey);
      return held ? this.repeatAnswer(held.seq) : undefined;
    });
  }

  /** What a repeated body is answered: accepted as entry `seq`, and nothing read by this request. */
  private repeatAnswer(seq: number): AcceptResult {
    this.stats.repeats++;
    return { accepted: true, seq, events: 0, issues: [], issuesByCode: {}, repeat: true };
  }

  /**
   * A `watch --webhook` delivery: stored under its own revision (idempotent by `id#revision`) and
   * filed into cases as detector findings are.
   */
  async acceptFinding(delivery: unknown, dedupeKey: string | undefined): Promise<'stored' | 'duplicate'> {
    if (typeof delivery !== 'object' || delivery === null || Array.isArray(delivery))
      throw new HttpError(400, 'bad_request', 'the body must be a finding (a JSON object)');
    const o = delivery as Record<string, unknown>;
    const key = dedupeKey ?? (typeof o.dedupe_key === 'string' ? o.dedupe_key : undefined);
    const result = await this.options.store.findings.ingest({
      finding: delivery,
      revision: o.revision,
      dedupeKey: key,
    });
    if (result.outcome === 'conflict')
      throw new HttpError(409, 'conflict', `another body is stored under ${clip(inert(result.dedupe_key), 300)}`);
    if (result.outcome === 'stored') {
      this.stats.findingsStored++;
      this.options.changes?.publish({ kind: 'finding', id: String(o.id), revision: Number(o.revision) });
    } else this.stats.findingsDuplicate++;
    await this.enqueueFiled(fileable(o), result.outcome);
    return result.outcome;
  }

  private enqueueFiled(finding: Finding, outcome: 'stored' | 'duplicate'): Promise<void> {
    const job = this.work.then(() => this.file(finding, outcome));
    this.work = job.catch((err) => {
      this.stats.failures++;
      this.log(
        `coalmine serve: filing finding ${clip(inert(finding.id), 200)} failed: ${clip(inert(String(err)), 500)}`,
      );
    });
    return job;
  }

  /** The live clock: what was pushed is processed, clusters the clock passed close; the log is pruned hourly. */
  tick(nowMs: number = this.now()): void {
    if (this.closed) return;
    this.detector.tick(nowMs);
    if (nowMs - this.lastPrune >= 60 * 60 * 1000) {
      this.lastPrune = nowMs;
      this.options.store.ingest
        .prune(Math.max(0, nowMs - this.replayWindowMs))
        .catch((err) => this.log(`coalmine serve: pruning the ingest log failed: ${clip(inert(String(err)), 300)}`));
    }
  }

  /** Resolves when every finding reported so far is stored and filed. */
  async flush(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.work) {
      seen = this.work;
      await seen;
    }
  }

  /** Stops the timer and waits for what is being stored; the detector is not ended (the log replays it). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.serial.run(async () => {});
    await this.flush();
  }

  private async revisionsOf(id: string, reload = false): Promise<Known> {
    let known = this.revisionsKnown.get(id);
    if (!known || reload) {
      const stored = await this.options.store.findings.revisions(id);
      known = { max: 0, digests: new Map() };
      for (const s of stored) {
        known.max = Math.max(known.max, s.revision);
        known.digests.set(digestOf(s.finding), s.revision);
      }
      if (this.revisionsKnown.size >= MAX_KNOWN_FINDINGS)
        this.revisionsKnown.delete(this.revisionsKnown.keys().next().value as string);
    }
    this.revisionsKnown.delete(id);
    this.revisionsKnown.set(id, known);
    return known;
  }

  /** A detector report stored under the revision its content earns, then filed into cases. */
  private async record(finding: Finding): Promise<void> {
    const digest = digestOf(finding);
    const links = linksOf(finding).slice(0, MAX_FINDING_LINKS);
    let known = await this.revisionsOf(finding.id);
    let outcome: 'stored' | 'duplicate' | undefined = known.digests.has(digest) ? 'duplicate' : undefined;
    let revision = 0;
    // another writer (a delivery of the same finding) may take a revision between our read and write
    for (let attempt = 0; outcome === undefined && attempt < 3; attempt++) {
      revision = known.max + 1;
      const result = await this.options.store.findings.ingest({ finding, revision, links });
      if (result.outcome === 'conflict') {
        known = await this.revisionsOf(finding.id, true);
        if (known.digests.has(digest)) outcome = 'duplicate';
        continue;
      }
      outcome = result.outcome;
      known.max = Math.max(known.max, revision);
      known.digests.set(digest, revision);
    }
    if (outcome === undefined) throw new Error(`no free revision for ${finding.id} after 3 tries`);
    if (outcome === 'stored') {
      this.stats.findingsStored++;
      this.options.changes?.publish({ kind: 'finding', id: finding.id, revision });
    } else this.stats.findingsDuplicate++;
    // its links went in with its revision (a duplicate's with the revision it repeats)
    await this.file(finding, outcome, true);
  }

  private remember(finding: Finding): void {
    this.forget(finding.id);
    this.known.set(finding.id, finding);
    for (const link of linksOf(finding)) {
      const ids = this.knownByLink.get(link) ?? new Set<string>();
      ids.add(finding.id);
      this.knownByLink.set(link, ids);
    }
    if (this.known.size > MAX_KNOWN_FINDINGS) this.forget(this.known.keys().next().value as string);
  }

  private forget(id: string): void {
    const was = this.known.get(id);
    if (!was) return;
    this.known.delete(id);
    this.heldKnown.delete(id);
    for (const link of linksOf(was)) {
      const ids = this.knownByLink.get(link);
      ids?.delete(id);
      if (ids?.size === 0) this.knownByLink.delete(link);
    }
  }

  /**
   * The known findings grouped with this one, as `groupCases` over every known finding would group them
   * (findings sharing a link, transitively), found through the link index: the group's size, not all
   * that is known, per finding.
   */
  private groupOf(finding: Finding): Finding[] {
    const seen = new Set<string>([finding.id]);
    const links = new Set<string>();
    const queue = [finding];
    const group: Finding[] = [];
    for (let f = queue.pop(); f; f = queue.pop()) {
      for (const link of linksOf(f)) {
        if (links.has(link)) continue;
        links.add(link);
        for (const id of this.knownByLink.get(link) ?? []) {
          if (seen.has(id)) continue;
          seen.add(id);
          const partner = this.known.get(id);
          if (partner) {
            group.push(partner);
            queue.push(partner);
          }
        }
      }
    }
    return group;
  }

  /**
   * Files one finding (stored, or a duplicate whose filing a crash may have cut short) into its case.
   * `linksRecorded`: its links were stored with its revision (a detector finding's are), so only a
   * delivery's are recorded here. The store round trips are a handful per finding whatever the size of
   * its case or group (a test counts them): the cases holding the finding and its group are looked up
   * at once, by id, without loading the cases.
   */
  private async file(finding: Finding, outcome: 'stored' | 'duplicate', linksRecorded = false): Promise<void> {
    await this.fileOnce(finding, outcome, linksRecorded);
    // every way through leaves it in a case (a failure throws, and its next report files it again)
    this.heldKnown.add(finding.id);
  }

  private async fileOnce(finding: Finding, outcome: 'stored' | 'duplicate', linksRecorded: boolean): Promise<void> {
    const { store } = this.options;
    this.remember(finding);
    const links = linksOf(finding).slice(0, MAX_FINDING_LINKS);
    if (!linksRecorded) await store.findings.addLinks(finding.id, links);
    const held = (await store.cases.heldBy([finding.id])).has(finding.id);
    if (held) {
      if (outcome !== 'stored') return;
      for (const c of await store.cases.ofFinding(finding.id)) {
        if (c.state === 'closed') {
          const before = await this.closedOn(finding.id, c);
          const rise = before ? riseOf(before, finding) : undefined;
          if (!rise) continue;
          const reopened = await store.cases.reopen(c.id, {
            actor: ACTOR,
            reason: clip(`finding ${finding.id} rose after the case was closed: ${rise}`, 2000),
          });
          this.stats.casesReopened++;
          this.publishCase(reopened);
        }
        await this.headline(c.id, finding);
      }
      return;
    }
    const partners = this.groupOf(finding);
    const linked = new Map<string, CaseHead>();
    // the store's cases: memory holds only recent findings, and nothing from before a restart
    const direct = await store.cases.linkedTo(links);
    for (const c of direct) linked.set(c.id, c);
    // and the cases of its group's findings, each loaded once; a partner sharing a stored link with this
    // finding and known to be in a case needs no look-up (its case is among those; a finding once in a
    // case stays in one), unless so many cases were linked that the list was cut
    const own = new Set(links);
    const lookup =
      direct.length >= MAX_LINKED_CASES
        ? partners
        : partners.filter(
            (f) =>
              !this.heldKnown.has(f.id) ||
              !linksOf(f)
                .slice(0, MAX_FINDING_LINKS)
                .some((l) => own.has(l)),
          );
    const partnerCases = await store.cases.heldBy(lookup.map((f) => f.id));
    for (const id of partnerCases.keys()) this.heldKnown.add(id);
    const orphans = lookup.filter((f) => !partnerCases.has(f.id));
    for (const id of new Set([...partnerCases.values()].flat())) {
      if (linked.has(id)) continue;
      const c = await store.cases.get(id);
      if (c) linked.set(c.id, c);
    }
    const byAge = [...linked.values()].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    for (const c of byAge) {
      if (c.state !== 'closed' || !(await this.holdsSubject(c, finding))) continue;
      await store.cases.reopen(c.id, {
        actor: ACTOR,
        reason: clip(
          `finding ${finding.id} recurred on ${finding.entity}${finding.processes[0]?.executable ? ` (${finding.processes[0].executable})` : ''} after the case was closed`,
          2000,
        ),
      });
      const joined = await store.cases.addFindings(c.id, [finding.id], { actor: ACTOR });
      this.stats.casesReopened++;
      this.stats.casesJoined++;
      this.publishCase(joined);
      await this.headline(c.id, finding);
      return;
    }
    const [open, ...alsoOpen] = byAge.filter((c) => c.state !== 'closed' && c.merged_into === null);
    if (open) {
      const joined = await store.cases.addFindings(open.id, [finding.id], { actor: ACTOR });
      this.stats.casesJoined++;
      this.publishCase(joined);
      // the finding links open cases grouped apart: as hunt would group them now, one case (the oldest)
      for (const other of alsoOpen.slice(0, MAX_MERGES_PER_FINDING)) {
        const merged = await store.cases.merge(open.id, other.id, {
          actor: ACTOR,
          reason: clip(`finding ${finding.id} links it to case ${open.id}`, 2000),
        });
        this.stats.casesMerged++;
        this.publishCase(merged);
        this.options.changes?.publish({ kind: 'case', id: other.id, state: 'merged' });
      }
      await this.headline(open.id, finding);
      return;
    }
    const grouped = groupCases([finding, ...orphans]).find((g) => g.findings.includes(finding.id))!;
    const members = [finding, ...orphans].filter((f) => grouped.findings.includes(f.id));
    const worst = members.reduce((a, b) => (SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a));
    const made = await store.cases.create(grouped, { actor: ACTOR, checklist: checklistOf(worst) });
    if (made.created) {
      this.stats.casesCreated++;
      this.publishCase(made.case);
    }
  }

  /**
   * A finding joined or rose in the case: its headline is refreshed now, or, while a replay's findings
   * are filed, once per case when they all are (a case a replay's thousand findings join is read and
   * renamed once, not a thousand times).
   */
  private async headline(caseId: string, finding: Finding): Promise<void> {
    const escalates = !finding.suppressed_by && finding.triage?.escalation.tier === 'Tier 2';
    if (this.headlinesDue) this.headlinesDue.set(caseId, (this.headlinesDue.get(caseId) ?? false) || escalates);
    else await this.refreshHeadline(caseId, escalates);
  }

  /**
   * The case named by its worst finding again (title and severity as `hunt` would group them now), and
   * its tier raised when a finding that joined escalates to Tier 2; the store audits the change. Nothing
   * when the headline is already right.
   */
  private async refreshHeadline(caseId: string, escalates: boolean): Promise<void> {
    const { store } = this.options;
    const current = await store.cases.get(caseId);
    const members = await store.cases.members(caseId);
    const worst = members[0];
    if (!current || !worst) return;
    const hosts = [...new Set(members.map((m) => m.host))].slice(0, 16);
    const title = caseTitle(worst, members.length, hosts);
    const tier = current.tier === 'Tier 2' || escalates ? 'Tier 2' : current.tier;
    if (title === current.title && worst.severity === current.severity && tier === current.tier) return;
    const updated = await store.cases.setHeadline(caseId, { title, severity: worst.severity, tier }, { actor: ACTOR });
    this.stats.casesRetitled++;
    this.publishCase(updated);
  }

  private publishCase(c: Pick<CaseHead, 'id' | 'state'>): void {
    this.options.changes?.publish({ kind: 'case', id: c.id, state: c.state });
  }

  /** The revision of a finding the case was closed on: its newest received by then. */
  private async closedOn(id: string, c: CaseHead): Promise<Finding | undefined> {
    const revisions = await this.options.store.findings.revisions(id);
    const resolvedAt = c.resolved_at ?? Number.POSITIVE_INFINITY;
    let before: Finding | undefined;
    for (const r of revisions) if (r.received_at <= resolvedAt) before = r.finding;
    // a revision received in the same instant as the resolution is read as before it
    return before ?? revisions[0]?.finding;
  }

  /**
   * Whether the case has seen this finding's subject before: its entity, or the same executable on the
   * same host (a process entity is keyed by pid, and a relaunched miner has a new one).
   */
  private async holdsSubject(c: CaseHead, finding: Finding): Promise<boolean> {
    if (c.grouped.entities.includes(finding.entity)) return true;
    const exe = finding.processes[0]?.executable;
    const members = (await this.options.store.cases.get(c.id))?.findings ?? [];
    for (const id of members.slice(0, MAX_ENTITY_LOOKUPS)) {
      const f = this.known.get(id) ?? (await this.options.store.findings.get(id))?.finding;
      if (!f) continue;
      if (f.entity === finding.entity) return true;
      if (exe && f.host === finding.host && f.processes?.[0]?.executable === exe) return true;
    }
    return false;
  }
}

/** A request's body as sent, bounded: 413 past `max` (by its declared length, or as it streams). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    throw new HttpError(413, 'body_too_large', `the body is ${declared} bytes (at most ${max}); nothing stored`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      req.resume();
      throw new HttpError(413, 'body_too_large', `the body is over ${max} bytes; nothing stored`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function queryText(query: URLSearchParams, name: string, max: number): string | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new HttpError(400, 'bad_request', `${name} is given more than once`);
  const v = values[0];
  if (v === '' || v.length > max) throw new HttpError(400, 'bad_request', `${name} must be 1 to ${max} characters`);
  return v;
}

/** The answer's JSON (the IngestAnswer schema). */
function ingestAnswer(result: AcceptResult): Record<string, unknown> {
  return {
    accepted: result.accepted,
    ...(result.seq === undefined ? {} : { seq: result.seq }),
    events: result.events,
    ...(result.format === undefined ? {} : { format: result.format }),
    issues: result.issues,
    issues_by_code: result.issuesByCode,
    ...(result.repeat ? { repeat: true } : {}),
  };
}

/** The request's Idempotency-Key, lower-cased; 400 unless 32 hex digits (given twice, Node joins them: refused). */
function idempotencyKeyOf(req: IncomingMessage): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!isIdempotencyKey(key)) {
    req.resume();
    throw new HttpError(400, 'bad_request', 'Idempotency-Key must be 32 hex digits; nothing stored');
  }
  return key;
}

/**
 * `?mtime=`: when the file a body holds was last modified at its sender (RFC 3339, or epoch seconds or
 * milliseconds), at most a day ahead of this server's clock; a cron file's entries are dated by it.
 */
function queryMtime(query: URLSearchParams): number | undefined {
  const text = queryText(query, 'mtime', 64);
  if (text === undefined) return undefined;
  const ms = parseTimestamp(text);
  if (ms === undefined || ms > Date.now() + 86_400_000)
    throw new HttpError(
      400,
      'bad_request',
      'mtime must be an RFC 3339 time or epoch seconds/milliseconds from 1990 to a day from now',
    );
  return ms;
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const ISSUE: Schema = {
  type: 'object',
  required: ['ref', 'code', 'reason'],
  additionalProperties: false,
  properties: { ref: { type: 'string' }, code: { type: 'string' }, reason: { type: 'string' } },
};

const ERROR = {
  description: 'refused',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

const PATHS: OpenApiPaths = {
  '/api/v1/events': {
    post: {
      summary:
        "Telemetry in any format hunt reads (sniffed, or ?format=), plain or gzip (Content-Encoding: gzip or the gzip magic); JSON lines or one JSON array of records (Vector, Fluent Bit). Answered after the body is committed. An Idempotency-Key header (32 hex digits, one per batch; watch --server sends one) makes a resend safe: a key its token already logged (within the replay window) is answered 202 with that entry's seq and repeat: true, the body neither read nor logged again.",
      operationId: 'ingestEvents',
      tags: ['ingest'],
      'x-roles': SENSOR,
      parameters: [
        {
          name: 'format',
          in: 'query',
          description: 'force a source (coalmine formats)',
          schema: { type: 'string', maxLength: 64 },
        },
        {
          name: 'name',
          in: 'query',
          description: 'names the body in issues and evidence',
          schema: { type: 'string', maxLength: 256 },
        },
        {
          name: 'host',
          in: 'query',
          description: 'host of records that name none',
          schema: { type: 'string', maxLength: 512 },
        },
        {
          name: 'mtime',
          in: 'query',
          description:
            "when the body's file was last modified at the sender (RFC 3339, or epoch seconds or ms): a cron file's entries are dated by it, as hunt dates them; else by arrival",
          schema: { type: 'string', maxLength: 64 },
        },
      ],
      requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string' } } } },
      responses: {
        202: {
          description: 'committed; its problems listed',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/IngestAnswer' } } },
        },
        400: {
          description: 'nothing in it could be read, or the Idempotency-Key is not 32 hex digits; nothing stored',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/IngestAnswer' } } },
        },
        401: ERROR,
        403: ERROR,
        413: ERROR,
        415: ERROR,
        503: {
          description:
            'serve --bus: the bus is unreachable or this node has no room for more now; send again after Retry-After seconds (with the same Idempotency-Key, nothing is published twice)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  },
  '/api/v1/findings': {
    post: {
      summary:
        'A watch --webhook delivery: one finding with revision and dedupe_key (or the Idempotency-Key header); the same delivery again is a duplicate',
      operationId: 'ingestFinding',
      tags: ['ingest'],
      'x-roles': SENSOR,
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/FindingDelivery' } } },
      },
      responses: {
        200: {
          description: 'already stored (a duplicate)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/FindingReceipt' } } },
        },
        201: {
          description: 'stored',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/FindingReceipt' } } },
        },
        400: ERROR,
        401: ERROR,
        403: ERROR,
        409: ERROR,
        413: ERROR,
        415: ERROR,
      },
    },
  },
};

const SCHEMAS: Record<string, Schema> = {
  IngestAnswer: {
    type: 'object',
    required: ['accepted', 'events', 'issues'],
    additionalProperties: false,
    properties: {
      accepted: { type: 'boolean' },
      seq: { type: 'integer' },
      events: { type: 'integer' },
      format: { type: 'string' },
      issues: { type: 'array', items: ISSUE },
      issues_by_code: { type: 'object' },
      repeat: { type: 'boolean' },
    },
  },
  FindingDelivery: {
    type: 'object',
    required: ['id', 'revision'],
    properties: { id: { type: 'string' }, revision: { type: 'integer', minimum: 1 }, dedupe_key: { type: 'string' } },
  },
  FindingReceipt: {
    type: 'object',
    required: ['outcome', 'dedupe_key'],
    additionalProperties: false,
    properties: { outcome: { type: 'string', enum: ['stored', 'duplicate'] }, dedupe_key: { type: 'string' } },
  },
};

/** Who takes `POST /api/v1/events` bodies: serve's own pipeline, or (`serve --bus`) the bus. */
interface EventsTaker {
  readonly maxBody: number;
  repeatOf(tokenId: string, idempotencyKey: string): Promise<AcceptResult | undefined>;
  accept(body: Buffer, meta: RequestMeta): Promise<AcceptResult>;
}

/**
 * `serve --bus`: bodies read as serve reads them (a JSON array as its records' lines) and published
 * instead of detected on here; a bus that cannot take them now is a 503 with its Retry-After.
 */
function busTaker(bus: BusIngest, maxBody: number): EventsTaker {
  const answer = (a: BusAccepted): AcceptResult => ({
    accepted: a.accepted,
    ...(a.seq === undefined ? {} : { seq: a.seq }),
    events: a.read ? a.read.events + a.read.stateEvents : 0,
    format: a.read?.format,
    issues: answerIssues(a.read?.issues ?? []),
    issuesByCode: a.read?.issuesByCode ?? {},
    ...(a.repeat ? { repeat: true } : {}),
  });
  const refusing = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof BusUnavailable)) throw err;
      throw new HttpError(503, 'bus_unavailable', `${err.message}; nothing published twice if sent again`, {
        'retry-after': String(err.retryAfterSec),
      });
    }
  };
  return {
    maxBody,
    repeatOf: (tokenId, key) =>
      refusing(async () => {
        const held = await bus.repeatOf(tokenId, key);
        return held && answer(held);
      }),
    accept: (body, meta) => refusing(async () => answer(await bus.accept(body, meta))),
  };
}

export interface IngestModuleOptions {
  /**
   * `serve --bus`: an ingest node. Event bodies go to the bus (the workers detect); the pipeline only
   * files `watch --webhook` deliveries (`IngestPipeline.filer`), and the live views, which read an
   * engine this node does not run, are not served.
   */
  bus?: BusIngest;
}

/** The ingest routes and the live views over a started pipeline, as a module for `createServer({ modules })`. */
export function ingestModule(pipeline: IngestPipeline, options: IngestModuleOptions = {}): ServerModule {
  const events: EventsTaker = options.bus ? busTaker(options.bus, pipeline.maxBody) : pipeline;
  const routes: Route[] = [
    {
      method: 'POST',
      path: '/api/v1/events',
      roles: SENSOR,
      body: 'stream',
      async handler({ req, query, principal }) {
        const encoding = String(req.headers['content-encoding'] ?? 'identity')
          .trim()
          .toLowerCase();
        if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip') {
          req.resume();
          throw new HttpError(415, 'unsupported_encoding', 'Content-Encoding must be gzip or none');
        }
        const format = queryText(query, 'format', 64);
        const name = queryText(query, 'name', 256);
        const host = queryText(query, 'host', 512);
        const mtime = queryMtime(query);
        const idempotencyKey = idempotencyKeyOf(req);
        // a batch sent again after its answer was lost: answered from the log, its body never read
        const repeated = idempotencyKey && (await events.repeatOf(principal!.tokenId, idempotencyKey));
        if (repeated) {
          req.resume();
          return { status: 202, json: ingestAnswer(repeated) };
        }
        const body = await readBody(req, events.maxBody);
        if (encoding !== 'identity' && !isGzip(body))
          throw new HttpError(
            400,
            'bad_request',
            'Content-Encoding says gzip but the body is not gzip; nothing stored',
          );
        const result = await events.accept(body, {
          sensor: principal!.name,
          name,
          format,
          host,
          mtime,
          version: headerText(req, 'user-agent'),
          ...(idempotencyKey ? { tokenId: principal!.tokenId, idempotencyKey } : {}),
        });
        return { status: result.accepted ? 202 : 400, json: ingestAnswer(result) };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/findings',
      roles: SENSOR,
      body: 'stream',
      async handler({ req }) {
        const delivery = await readJson(req, MAX_FINDING_BODY_BYTES);
        const header = headerText(req, 'idempotency-key');
        const outcome = await pipeline.acceptFinding(delivery, header);
        const o = delivery as Record<string, unknown>;
        return {
          status: outcome === 'stored' ? 201 : 200,
          json: {
            outcome,
            dedupe_key: header ?? (typeof o.dedupe_key === 'string' ? o.dedupe_key : `${o.id}#${o.revision}`),
          },
        };
      },
    },
  ];
  // the live views read the engine this pipeline holds (an ingest node holds none)
  if (!options.bus) routes.push(...liveViewRoutes(pipeline, pipeline.store));
  const bus = options.bus;
  return {
    routes,
    openapi: bus
      ? { paths: PATHS, schemas: SCHEMAS }
      : { paths: { ...PATHS, ...LIVE_VIEW_PATHS }, schemas: { ...SCHEMAS, ...LIVE_VIEW_SCHEMAS } },
    close: async () => {
      await pipeline.close();
      await bus?.close();
    },
  };
}
