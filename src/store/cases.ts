/**
 * Cases: findings grouped into an incident (the grouping is triage's; the store takes the case as data),
 * worked through new → triaged (L1 checks done) → escalated (handed to Tier 2) → contained (containment
 * carried out) → closed with a resolution (true-positive, benign or false-positive), with an assignee,
 * notes and the playbook's checklist. A closed case opens again only through `reopen(reason)`. Every
 * change writes its audit row in the same transaction, and is a compare-and-set on the case's version,
 * so two analysts changing one case cannot both win.
 */
import { type Case, SEVERITY_RANK, type Severity } from '../model/finding.js';
import { appendAudit } from './audit.js';
import { makeCursor, type Page, pageLimit, readCursor } from './cursor.js';
import {
  boundedJson,
  boundedText,
  type Db,
  newId,
  requiredText,
  StoreConflictError,
  StoreInputError,
  StoreNotFoundError,
} from './db.js';

export const CASE_STATES = ['new', 'triaged', 'escalated', 'contained', 'closed'] as const;
export type CaseState = (typeof CASE_STATES)[number];
export const RESOLUTIONS = ['true-positive', 'benign', 'false-positive'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
/** Resolutions accepted on input under an earlier name, stored as the name they map to. */
export const RESOLUTION_ALIASES: Readonly<Record<string, Resolution>> = { 'benign-authorized': 'benign' };

/**
 * Where each state may go. Work moves forward, and a state may be skipped forward (a plain false positive
 * goes from new to closed, a finding Tier 2 at once from new to escalated); nothing moves back, and
 * leaving `closed` is `reopen`'s alone.
 */
export const NEXT: Record<CaseState, readonly CaseState[]> = {
  new: ['triaged', 'escalated', 'contained', 'closed'],
  triaged: ['escalated', 'contained', 'closed'],
  escalated: ['contained', 'closed'],
  contained: ['closed'],
  closed: [],
};

/** The resolution as stored: a known one, or an earlier name of one; undefined for anything else. */
export function resolutionOf(given: unknown): Resolution | undefined {
  if (typeof given !== 'string') return undefined;
  if ((RESOLUTIONS as readonly string[]).includes(given)) return given as Resolution;
  return Object.hasOwn(RESOLUTION_ALIASES, given) ? RESOLUTION_ALIASES[given] : undefined;
}

const MAX_CASE_CHARS = 1024 * 1024;
const MAX_FINDINGS = 10_000;
const MAX_STEPS = 200;
const MAX_NOTE = 16 * 1024;

export interface ChecklistStep {
  id: string;
  label: string;
}

export interface CaseStep extends ChecklistStep {
  done_by: string | null;
  done_at: number | null;
}

export interface CaseNote {
  id: string;
  author: string;
  text: string;
  created_at: number;
}

export interface StoredCase {
  id: string;
  title: string;
  severity: Severity;
  tier: string;
  state: CaseState;
  resolution: Resolution | null;
  assignee: string | null;
  /** Times reopened. */
  reopened: number;
  version: number;
  created_at: number;
  updated_at: number;
  /** When it was closed with its resolution (the name is the API's since before `closed`); null while open. */
  resolved_at: number | null;
  /** The case this one was merged into (its findings moved there); null while it stands on its own. */
  merged_into: string | null;
  /** The case as grouped when it was created. */
  grouped: Case;
  findings: string[];
  checklist: CaseStep[];
  notes: CaseNote[];
}

/** A case without its member list, checklist and notes: what filing a new finding reads, one row a case. */
export type CaseHead = Omit<StoredCase, 'findings' | 'checklist' | 'notes'>;

export interface Actor {
  actor: string;
  /** When given, the change applies only if the case is still at this version (the client's ETag). */
  expectedVersion?: number;
}

export interface CaseStore {
  /** Creates the case from a grouped `Case`, with its checklist; the same case id again changes nothing (`created: false`). */
  create(
    grouped: Case,
    options: { actor: string; checklist?: ChecklistStep[] },
  ): Promise<{ created: boolean; case: StoredCase }>;
  get(id: string): Promise<StoredCase | undefined>;
  /** The cases a finding belongs to, oldest first (one, unless cases were grouped apart and later linked). */
  ofFinding(findingId: string): Promise<StoredCase[]>;
  /**
   * Which of these findings (at most MAX_HELD_LOOKUP) a case holds, and the ids of those cases, read
   * without loading the cases: one query per 500 findings however large their cases are.
   */
  heldBy(findingIds: string[]): Promise<Map<string, string[]>>;
  /** Findings join the case as they come (ids already in it are skipped); refused for a closed case (reopen it first). */
  addFindings(id: string, findingIds: string[], options: Actor): Promise<StoredCase>;
  list(
    filter?: { state?: CaseState; assignee?: string },
    page?: { limit?: number; cursor?: string },
  ): Promise<Page<StoredCase>>;
  /**
   * Moves the case on; `resolution` is required for (and only for) `closed` (`benign-authorized` is taken
   * as `benign`). An illegal move is refused, nothing written.
   */
  transition(
    id: string,
    to: CaseState,
    options: Actor & { resolution?: Resolution | 'benign-authorized' },
  ): Promise<StoredCase>;
  /** A closed case back to new, with the reason (a finding rose or recurred after closure). */
  reopen(id: string, options: Actor & { reason: string }): Promise<StoredCase>;
  assign(id: string, assignee: string | null, options: Actor): Promise<StoredCase>;
  addNote(id: string, text: string, options: Actor): Promise<StoredCase>;
  /** Ticks (or unticks) a checklist step, recording who and when. */
  tickStep(id: string, stepId: string, done: boolean, options: Actor): Promise<StoredCase>;
  /**
   * The cases holding a finding that shares one of these links (`FindingStore.addLinks`), oldest
   * first, at most `limit` (default and most 64); heads only, so a large case costs one row.
   */
  linkedTo(links: string[], limit?: number): Promise<CaseHead[]>;
  /** The case's findings as the queue holds them (newest revision), worst first, then first seen, id. */
  members(id: string): Promise<CaseMember[]>;
  /** The cases holding any finding of this host, newest first, at most `limit` (default and most 100). */
  ofHost(host: string, limit?: number): Promise<StoredCase[]>;
  /** A new title, severity and tier (its findings joined or rose), audited with what it was. */
  setHeadline(id: string, headline: CaseHeadline, options: Actor): Promise<StoredCase>;
  /**
   * Merges the open case `mergedId` into the open case `survivorId` (a finding linked them): its
   * findings move to the survivor, it is marked merged with a pointer to it and leaves the queue, and
   * both cases audit it, all in one transaction. The survivor's headline is the caller's to refresh.
   */
  merge(survivorId: string, mergedId: string, options: { actor: string; reason: string }): Promise<StoredCase>;
}

export interface CaseMember {
  id: string;
  title: string;
  severity: Severity;
  host: string;
  suppressed: boolean;
}

export interface CaseHeadline {
  title: string;
  severity: Severity;
  tier: string;
}

const MAX_LINKED = 64;
const MAX_OF_HOST = 100;
/** Findings `heldBy` looks up at once (the findings a pipeline keeps in memory), and per query. */
export const MAX_HELD_LOOKUP = 20_000;
const HELD_CHUNK = 500;

interface CaseRow {
  id: string;
  title: string;
  severity: Severity;
  tier: string;
  state: CaseState;
  resolution: Resolution | null;
  assignee: string | null;
  body: string;
  version: number;
  reopened: number;
  created_at: number;
  updated_at: number;
  resolved_at: number | null;
  severity_rank: number;
  merged_into: string | null;
}

const CASE_COLUMNS =
  'id, title, severity, tier, state, resolution, assignee, body, version, reopened, created_at, updated_at, resolved_at, severity_rank, merged_into';

function validateCase(c: unknown): Case {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new StoreInputError('case must be an object');
  const o = c as Record<string, unknown>;
  requiredText('case id', o.id, 128);
  requiredText('case title', o.title, 4096);
  if (typeof o.severity !== 'string' || !Object.hasOwn(SEVERITY_RANK, o.severity))
    throw new StoreInputError('case severity is not a severity');
  requiredText('case tier', o.tier, 32);
  if (!Array.isArray(o.findings) || o.findings.length === 0 || o.findings.length > MAX_FINDINGS)
    throw new StoreInputError(`case findings must list 1 to ${MAX_FINDINGS} finding ids`);
  for (const f of o.findings) requiredText('case finding id', f, 256);
  return c as Case;
}

function validateSteps(steps: unknown): ChecklistStep[] {
  if (steps === undefined) return [];
  if (!Array.isArray(steps) || steps.length > MAX_STEPS)
    throw new StoreInputError(`checklist must list at most ${MAX_STEPS} steps`);
  const seen = new Set<string>();
  return steps.map((s: unknown) => {
    const o = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    const id = requiredText('checklist step id', o.id, 128);
    if (seen.has(id)) throw new StoreInputError(`checklist step id "${id}" is listed twice`);
    seen.add(id);
    return { id, label: boundedText('checklist step label', o.label, 2048) };
  });
}

export function caseStore(db: Db, now: () => number, cursorSecret: string): CaseStore {
  const load = async (q: Db, id: string): Promise<StoredCase | undefined> => {
    const row = await q.get<CaseRow>(`SELECT ${CASE_COLUMNS} FROM cases WHERE id = ?`, [id]);
    return row && hydrate(q, row);
  };
  const headOf = (row: CaseRow): CaseHead => ({
    id: row.id,
    title: row.title,
    severity: row.severity,
    tier: row.tier,
    state: row.state,
    resolution: row.resolution,
    assignee: row.assignee,
    reopened: Number(row.reopened),
    version: Number(row.version),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    resolved_at: row.resolved_at === null ? null : Number(row.resolved_at),
    merged_into: row.merged_into,
    grouped: JSON.parse(row.body) as Case,
  });
  const hydrate = async (q: Db, row: CaseRow): Promise<StoredCase> => {
    // one after another: inside a transaction `q` is one PostgreSQL client, which takes one query at a time
    const findings = await q.all<{ finding_id: string }>(
      'SELECT finding_id FROM case_findings WHERE case_id = ? ORDER BY finding_id',
      [row.id],
    );
    const steps = await q.all<CaseStep>(
      'SELECT step_id AS id, label, done_by, done_at FROM case_steps WHERE case_id = ? ORDER BY position',
      [row.id],
    );
    const notes = await q.all<CaseNote>(
      'SELECT id, author, text, created_at FROM case_notes WHERE case_id = ? ORDER BY id',
      [row.id],
    );
    return {
      ...headOf(row),
      findings: findings.map((f) => f.finding_id),
      checklist: steps.map((s) => ({ ...s, done_at: s.done_at === null ? null : Number(s.done_at) })),
      notes: notes.map((n) => ({ ...n, created_at: Number(n.created_at) })),
    };
  };

  /**
   * One change: read the case, let `change` check it and write its rows, bump the version only if
   * nobody else did meanwhile, and record the audit row, all in one transaction.
   */
  const mutate = (
    id: string,
    options: Actor,
    change: (
      tx: Db,
      current: StoredCase,
      at: number,
    ) => Promise<{ action: string; detail: Record<string, unknown>; set?: [string, (string | number | null)[]] }>,
  ): Promise<StoredCase> =>
    db.transaction(async (tx) => {
      const actor = requiredText('actor', options.actor, 256);
      const current = await load(tx, requiredText('case id', id, 128));
      if (!current) throw new StoreNotFoundError(`no case ${id.slice(0, 128)}`);
      if (current.merged_into !== null)
        throw new StoreInputError(`case ${current.id} was merged into ${current.merged_into}: work on that case`);
      if (options.expectedVersion !== undefined && options.expectedVersion !== current.version)
        throw new StoreConflictError(
          `case ${current.id} is at version ${current.version}, not ${options.expectedVersion}`,
        );
      const at = now();
      const { action, detail, set } = await change(tx, current, at);
      const [assignments, values] = set ?? ['', []];
      const updated = await tx.run(
        `UPDATE cases SET ${assignments}version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
        [...values, at, current.id, current.version],
      );
      if (updated.changes !== 1) throw new StoreConflictError(`case ${current.id} changed meanwhile; reload and retry`);
      await appendAudit(tx, at, { actor, subject_type: 'case', subject_id: current.id, action, detail });
      return (await load(tx, current.id))!;
    });

  return {
    async create(grouped, options) {
      const c = validateCase(grouped);
      const steps = validateSteps(options.checklist);
      const body = boundedJson('case', c, MAX_CASE_CHARS);
      return db.transaction(async (tx) => {
        const actor = requiredText('actor', options.actor, 256);
        const at = now();
        const inserted = await tx.run(
          `INSERT INTO cases (id, title, severity, severity_rank, tier, state, resolution, assignee, body, version, reopened, created_at, updated_at, resolved_at)
           VALUES (?, ?, ?, ?, ?, 'new', NULL, NULL, ?, 1, 0, ?, ?, NULL) ON CONFLICT (id) DO NOTHING`,
          [c.id, boundedText('case title', c.title, 1024), c.severity, SEVERITY_RANK[c.severity], c.tier, body, at, at],
        );
        if (inserted.changes === 0) return { created: false, case: (await load(tx, c.id))! };
        for (const f of new Set(c.findings))
          await tx.run('INSERT INTO case_findings (case_id, finding_id) VALUES (?, ?)', [c.id, f]);
        let position = 0;
        for (const s of steps)
          await tx.run(
            'INSERT INTO case_steps (case_id, step_id, position, label, done_by, done_at) VALUES (?, ?, ?, ?, NULL, NULL)',
            [c.id, s.id, position++, s.label],
          );
        await appendAudit(tx, at, {
          actor,
          subject_type: 'case',
          subject_id: c.id,
          action: 'create',
          detail: { findings: c.findings.length, steps: steps.length },
        });
        return { created: true, case: (await load(tx, c.id))! };
      });
    },

    get: (id) => load(db, id),

    async ofFinding(findingId) {
      const rows = await db.all<CaseRow>(
        `SELECT ${CASE_COLUMNS} FROM cases WHERE id IN (SELECT case_id FROM case_findings WHERE finding_id = ?) ORDER BY created_at, id`,
        [requiredText('finding id', findingId, 256)],
      );
      return Promise.all(rows.map((r) => hydrate(db, r)));
    },

    async heldBy(findingIds) {
      if (!Array.isArray(findingIds) || findingIds.length > MAX_HELD_LOOKUP)
        throw new StoreInputError(`at most ${MAX_HELD_LOOKUP} findings are looked up at once`);
      const ids = [...new Set(findingIds.map((f) => requiredText('finding id', f, 256)))];
      const held = new Map<string, string[]>();
      for (let i = 0; i < ids.length; i += HELD_CHUNK) {
        const chunk = ids.slice(i, i + HELD_CHUNK);
        const rows = await db.all<{ case_id: string; finding_id: string }>(
          `SELECT case_id, finding_id FROM case_findings WHERE finding_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY finding_id, case_id`,
          chunk,
        );
        for (const r of rows) {
          const cases = held.get(r.finding_id) ?? [];
          cases.push(r.case_id);
          held.set(r.finding_id, cases);
        }
      }
      return held;
    },

    addFindings: (id, findingIds, options) =>
      mutate(id, options, async (tx, current) => {
        if (current.state === 'closed')
          throw new StoreInputError(`case ${current.id} is closed: reopen it before findings join`);
        if (!Array.isArray(findingIds)) throw new StoreInputError('finding ids must be a list');
        const held = new Set(current.findings);
        const joining = [...new Set(findingIds.map((f) => requiredText('finding id', f, 256)))].filter(
          (f) => !held.has(f),
        );
        if (joining.length === 0) throw new StoreInputError(`case ${current.id} already holds these findings`);
        if (held.size + joining.length > MAX_FINDINGS)
          throw new StoreInputError(`case ${current.id} would hold more than ${MAX_FINDINGS} findings`);
        for (const f of joining)
          await tx.run('INSERT INTO case_findings (case_id, finding_id) VALUES (?, ?)', [current.id, f]);
        return { action: 'join', detail: { findings: joining } };
      }),

    async list(filter = {}, page = {}) {
      const limit = pageLimit(page.limit);
      // a merged case is history: its survivor is what the queue lists
      const where: string[] = ['merged_into IS NULL'];
      const params: (string | number)[] = [];
      if (filter.state !== undefined) {
        if (!CASE_STATES.includes(filter.state))
          throw new StoreInputError(`unknown state (known: ${CASE_STATES.join(', ')})`);
        where.push('state = ?');
        params.push(filter.state);
      }
      if (filter.assignee !== undefined) {
        where.push('assignee = ?');
        params.push(requiredText('assignee filter', filter.assignee, 256));
      }
      const scope = JSON.stringify(['cases', filter.state ?? null, filter.assignee ?? null]);
      if (page.cursor !== undefined) {
        const [rank, created, id] = readCursor(cursorSecret, scope, page.cursor, ['number', 'number', 'string']);
        where.push('(severity_rank < ? OR (severity_rank = ? AND (created_at < ? OR (created_at = ? AND id > ?))))');
        params.push(rank, rank, created, created, id);
      }
      const rows = await db.all<CaseRow>(
        `SELECT ${CASE_COLUMNS} FROM cases WHERE ${where.join(' AND ')}
         ORDER BY severity_rank DESC, created_at DESC, id ASC LIMIT ?`,
        [...params, limit + 1],
      );
      const items = await Promise.all(rows.slice(0, limit).map((r) => hydrate(db, r)));
      const last = rows[Math.min(limit, rows.length) - 1];
      return rows.length > limit && last
        ? {
            items,
            next: makeCursor(cursorSecret, scope, [Number(last.severity_rank), Number(last.created_at), last.id]),
          }
        : { items };
    },

    transition: (id, to, options) =>
      mutate(id, options, async (_tx, current, at) => {
        if (!CASE_STATES.includes(to))
          throw new StoreInputError(`unknown state "${String(to).slice(0, 32)}" (known: ${CASE_STATES.join(', ')})`);
        if (current.state === 'closed')
          throw new StoreInputError(`case ${current.id} is closed: only reopen (with a reason) moves it`);
        if (!NEXT[current.state].includes(to))
          throw new StoreInputError(
            `case ${current.id} cannot go from ${current.state} to ${to} (from ${current.state}: ${NEXT[current.state].join(', ')})`,
          );
        if (to === 'closed') {
          const resolution = resolutionOf(options.resolution);
          if (!resolution) throw new StoreInputError(`closing needs a resolution: ${RESOLUTIONS.join(', ')}`);
          return {
            action: 'close',
            detail: { from: current.state, to, resolution },
            set: ['state = ?, resolution = ?, resolved_at = ?, ', [to, resolution, at]],
          };
        }
        if (options.resolution !== undefined) throw new StoreInputError('a resolution is given only when closing');
        return { action: 'transition', detail: { from: current.state, to }, set: ['state = ?, ', [to]] };
      }),

    reopen: (id, options) =>
      mutate(id, options, async (_tx, current) => {
        const reason = requiredText('reopen reason', options.reason, 2048);
        if (current.state !== 'closed')
          throw new StoreInputError(`case ${current.id} is ${current.state}, not closed: nothing to reopen`);
        return {
          action: 'reopen',
          detail: { reason, previous_resolution: current.resolution },
          set: ["state = 'new', resolution = NULL, resolved_at = NULL, reopened = reopened + 1, ", []],
        };
      }),

    assign: (id, assignee, options) =>
      mutate(id, options, async (_tx, current) => {
        const who = assignee === null ? null : requiredText('assignee', assignee, 256);
        if (who === current.assignee)
          throw new StoreInputError(`case ${current.id} is already assigned to ${who ?? 'nobody'}`);
        return { action: 'assign', detail: { from: current.assignee, to: who }, set: ['assignee = ?, ', [who]] };
      }),

    addNote: (id, text, options) =>
      mutate(id, options, async (tx, current, at) => {
        if (typeof text !== 'string' || text.trim().length === 0) throw new StoreInputError('a note needs text');
        const noteId = newId('note', at);
        await tx.run('INSERT INTO case_notes (id, case_id, author, text, created_at) VALUES (?, ?, ?, ?, ?)', [
          noteId,
          current.id,
          requiredText('actor', options.actor, 256),
          boundedText('note', text, MAX_NOTE, 1024 * 1024),
          at,
        ]);
        return { action: 'note', detail: { note_id: noteId } };
      }),

    tickStep: (id, stepId, done, options) =>
      mutate(id, options, async (tx, current, at) => {
        const step = current.checklist.find((s) => s.id === stepId);
        if (!step)
          throw new StoreInputError(`case ${current.id} has no checklist step "${String(stepId).slice(0, 128)}"`);
        if ((step.done_at !== null) === done)
          throw new StoreInputError(`step "${step.id}" is already ${done ? 'ticked' : 'unticked'}`);
        await tx.run('UPDATE case_steps SET done_by = ?, done_at = ? WHERE case_id = ? AND step_id = ?', [
          done ? options.actor : null,
          done ? at : null,
          current.id,
          step.id,
        ]);
        return { action: done ? 'tick' : 'untick', detail: { step: step.id } };
      }),

    async linkedTo(links, limit = MAX_LINKED) {
      if (!Array.isArray(links) || links.length > MAX_LINKED)
        throw new StoreInputError(`at most ${MAX_LINKED} links are looked up at once`);
      const keys = [...new Set(links.map((l) => requiredText('finding link', l, 1024)))];
      if (keys.length === 0) return [];
      const rows = await db.all<CaseRow>(
        `SELECT ${CASE_COLUMNS} FROM cases WHERE id IN (
           SELECT cf.case_id FROM finding_links fl JOIN case_findings cf ON cf.finding_id = fl.finding_id
           WHERE fl.link IN (${keys.map(() => '?').join(', ')}))
         ORDER BY created_at, id LIMIT ?`,
        [...keys, Math.min(Math.max(1, Math.trunc(limit)), MAX_LINKED)],
      );
      return rows.map(headOf);
    },

    async members(id) {
      const rows = await db.all<{ id: string; title: string; severity: Severity; host: string; suppressed: number }>(
        `SELECT f.id, f.title, f.severity, f.host, f.suppressed FROM case_findings cf JOIN findings f ON f.id = cf.finding_id
         WHERE cf.case_id = ? ORDER BY f.severity_rank DESC, f.first_seen, f.id`,
        [requiredText('case id', id, 128)],
      );
      return rows.map((r) => ({ ...r, suppressed: Number(r.suppressed) === 1 }));
    },

    async ofHost(host, limit = MAX_OF_HOST) {
      const rows = await db.all<CaseRow>(
        `SELECT ${CASE_COLUMNS} FROM cases WHERE id IN (
           SELECT cf.case_id FROM findings f JOIN case_findings cf ON cf.finding_id = f.id WHERE f.host = ?)
         ORDER BY created_at DESC, id LIMIT ?`,
        [boundedText('host', host, 512), Math.min(Math.max(1, Math.trunc(limit)), MAX_OF_HOST)],
      );
      const out: StoredCase[] = [];
      for (const r of rows) out.push(await hydrate(db, r));
      return out;
    },

    merge: (survivorId, mergedId, options) =>
      db.transaction(async (tx) => {
        const actor = requiredText('actor', options.actor, 256);
        const reason = requiredText('merge reason', options.reason, 2048);
        const survivor = await load(tx, requiredText('case id', survivorId, 128));
        const merged = await load(tx, requiredText('case id', mergedId, 128));
        if (!survivor) throw new StoreNotFoundError(`no case ${survivorId.slice(0, 128)}`);
        if (!merged) throw new StoreNotFoundError(`no case ${mergedId.slice(0, 128)}`);
        if (survivor.id === merged.id) throw new StoreInputError(`case ${survivor.id} cannot be merged into itself`);
        for (const c of [survivor, merged]) {
          if (c.merged_into !== null)
            throw new StoreInputError(`case ${c.id} was already merged into ${c.merged_into}`);
          if (c.state === 'closed') throw new StoreInputError(`case ${c.id} is closed: only open cases merge`);
        }
        const held = new Set(survivor.findings);
        const moving = merged.findings.filter((f) => !held.has(f));
        if (held.size + moving.length > MAX_FINDINGS)
          throw new StoreInputError(`case ${survivor.id} would hold more than ${MAX_FINDINGS} findings`);
        const at = now();
        for (const f of moving)
          await tx.run('INSERT INTO case_findings (case_id, finding_id) VALUES (?, ?)', [survivor.id, f]);
        await tx.run('DELETE FROM case_findings WHERE case_id = ?', [merged.id]);
        // compare-and-set on both: an analyst's change to either meanwhile makes this a conflict
        for (const [c, set, values] of [
          [survivor, '', []],
          [merged, 'merged_into = ?, ', [survivor.id]],
        ] as const) {
          const updated = await tx.run(
            `UPDATE cases SET ${set}version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
            [...values, at, c.id, c.version],
          );
          if (updated.changes !== 1) throw new StoreConflictError(`case ${c.id} changed meanwhile; reload and retry`);
        }
        await appendAudit(tx, at, {
          actor,
          subject_type: 'case',
          subject_id: survivor.id,
          action: 'merge',
          detail: { merged: merged.id, findings: moving, reason },
        });
        await appendAudit(tx, at, {
          actor,
          subject_type: 'case',
          subject_id: merged.id,
          action: 'merged',
          detail: { into: survivor.id, findings: merged.findings, reason },
        });
        return (await load(tx, survivor.id))!;
      }),

    setHeadline: (id, headline, options) =>
      mutate(id, options, async (_tx, current) => {
        const title = boundedText('case title', headline.title, 1024);
        if (typeof headline.severity !== 'string' || !Object.hasOwn(SEVERITY_RANK, headline.severity))
          throw new StoreInputError('case severity is not a severity');
        const tier = requiredText('case tier', headline.tier, 32);
        if (title === current.title && headline.severity === current.severity && tier === current.tier)
          throw new StoreInputError(`case ${current.id} already has this headline`);
        return {
          action: 'headline',
          detail: {
            from: { title: current.title, severity: current.severity, tier: current.tier },
            to: { title, severity: headline.severity, tier },
          },
          set: [
            'title = ?, severity = ?, severity_rank = ?, tier = ?, ',
            [title, headline.severity, SEVERITY_RANK[headline.severity], tier],
          ],
        };
      }),
  };
}
