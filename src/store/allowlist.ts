/**
 * Allowlist entries made in the console: each change is a new version (owner, reason and expiry always
 * required), earlier versions kept; retiring is a version too. `exportYaml` writes the current entries
 * as the `allowlist:` block `coalmine.yaml` takes (the same fields `run/policy.ts` reads), so what the
 * server applies and what a file-based `hunt` applies are one list.
 */
import { stringify } from 'yaml';
import type { AllowlistField } from '../model/policy.js';
import { appendAudit } from './audit.js';
import { type Db, newId, requiredText, StoreConflictError, StoreInputError, StoreNotFoundError } from './db.js';

const MATCH_FIELDS: readonly AllowlistField[] = ['executable', 'hash', 'host', 'user', 'command'];
const ANALYTIC_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface AllowlistInput {
  match: Partial<Record<AllowlistField, string>>;
  /** Analytic ids; empty = all. */
  analytics?: string[];
  owner: string;
  reason: string;
  /** YYYY-MM-DD. */
  expires: string;
}

export interface AllowlistVersion extends Required<AllowlistInput> {
  id: string;
  version: number;
  retired: boolean;
  created_at: number;
  created_by: string;
}

export interface AllowlistStore {
  create(input: AllowlistInput, options: { actor: string }): Promise<AllowlistVersion>;
  /** A new version of the entry; with `expectedVersion`, only if nobody changed it since. */
  update(
    id: string,
    input: AllowlistInput,
    options: { actor: string; expectedVersion?: number },
  ): Promise<AllowlistVersion>;
  /** Stops the entry applying (a version marked retired; history kept). */
  retire(id: string, options: { actor: string; expectedVersion?: number }): Promise<AllowlistVersion>;
  /** The newest version of every entry not retired. */
  current(): Promise<AllowlistVersion[]>;
  /** Every version of one entry, oldest first. */
  history(id: string): Promise<AllowlistVersion[]>;
  /** The current entries as `coalmine.yaml`'s `allowlist:` block. */
  exportYaml(): Promise<string>;
}

function validate(input: AllowlistInput): Required<AllowlistInput> {
  if (typeof input !== 'object' || input === null) throw new StoreInputError('allowlist entry must be an object');
  const m = input.match;
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw new StoreInputError('allowlist entry needs "match"');
  const match: Partial<Record<AllowlistField, string>> = {};
  for (const [k, v] of Object.entries(m)) {
    if (!MATCH_FIELDS.includes(k as AllowlistField))
      throw new StoreInputError(`unknown match field "${k.slice(0, 64)}" (known: ${MATCH_FIELDS.join(', ')})`);
    match[k as AllowlistField] = requiredText(`match.${k}`, v, 1024);
  }
  if (Object.keys(match).length === 0)
    throw new StoreInputError(`allowlist entry needs "match" with one or more of ${MATCH_FIELDS.join(', ')}`);
  const analytics = input.analytics ?? [];
  if (
    !Array.isArray(analytics) ||
    analytics.length > 32 ||
    !analytics.every((a) => typeof a === 'string' && ANALYTIC_ID.test(a))
  )
    throw new StoreInputError('analytics must be a list of analytic ids');
  const owner = requiredText('owner', input.owner, 256);
  const reason = requiredText('reason', input.reason, 2048);
  const expires = requiredText('expires', input.expires, 10);
  if (
    !DATE.test(expires) ||
    Number.isNaN(Date.parse(expires)) ||
    new Date(expires).toISOString().slice(0, 10) !== expires
  )
    throw new StoreInputError(`expires "${expires}" is not a date (YYYY-MM-DD)`);
  return { match, analytics: [...analytics], owner, reason, expires };
}

interface VersionRow {
  id: string;
  version: number;
  match_json: string;
  analytics_json: string;
  owner: string;
  reason: string;
  expires: string;
  retired: number;
  created_at: number;
  created_by: string;
}

const COLUMNS =
  'v.id, v.version, v.match_json, v.analytics_json, v.owner, v.reason, v.expires, v.retired, v.created_at, v.created_by';

const toVersion = (r: VersionRow): AllowlistVersion => ({
  id: r.id,
  version: Number(r.version),
  match: JSON.parse(r.match_json),
  analytics: JSON.parse(r.analytics_json),
  owner: r.owner,
  reason: r.reason,
  expires: r.expires,
  retired: Number(r.retired) === 1,
  created_at: Number(r.created_at),
  created_by: r.created_by,
});

export function allowlistStore(db: Db, now: () => number): AllowlistStore {
  const insertVersion = async (
    tx: Db,
    id: string,
    version: number,
    entry: Required<AllowlistInput>,
    retired: boolean,
    actor: string,
    at: number,
  ) => {
    await tx.run(
      `INSERT INTO allowlist_versions (id, version, match_json, analytics_json, owner, reason, expires, retired, created_at, created_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        version,
        JSON.stringify(entry.match),
        JSON.stringify(entry.analytics),
        entry.owner,
        entry.reason,
        entry.expires,
        retired ? 1 : 0,
        at,
        actor,
      ],
    );
    await appendAudit(tx, at, {
      actor,
      subject_type: 'allowlist',
      subject_id: id,
      action: retired ? 'retire' : version === 1 ? 'create' : 'update',
      detail: { version },
    });
    return (await tx.get<VersionRow>(`SELECT ${COLUMNS} FROM allowlist_versions v WHERE v.id = ? AND v.version = ?`, [
      id,
      version,
    ]))!;
  };

  /** The next version of an existing entry: a compare-and-set on its head, so two editors cannot both write version n+1. */
  const nextVersion = (
    id: string,
    options: { actor: string; expectedVersion?: number },
    make: (head: VersionRow) => [Required<AllowlistInput>, boolean],
  ) =>
    db.transaction(async (tx) => {
      const actor = requiredText('actor', options.actor, 256);
      const head = await tx.get<VersionRow>(
        `SELECT ${COLUMNS} FROM allowlist_heads h JOIN allowlist_versions v ON v.id = h.id AND v.version = h.version WHERE h.id = ?`,
        [id],
      );
      if (!head) throw new StoreNotFoundError(`no allowlist entry ${String(id).slice(0, 128)}`);
      const version = Number(head.version);
      if (options.expectedVersion !== undefined && options.expectedVersion !== version)
        throw new StoreConflictError(`allowlist entry ${id} is at version ${version}, not ${options.expectedVersion}`);
      const [entry, retired] = make(head);
      const moved = await tx.run('UPDATE allowlist_heads SET version = ?, retired = ? WHERE id = ? AND version = ?', [
        version + 1,
        retired ? 1 : 0,
        id,
        version,
      ]);
      if (moved.changes !== 1)
        throw new StoreConflictError(`allowlist entry ${id} changed meanwhile; reload and retry`);
      return toVersion(await insertVersion(tx, id, version + 1, entry, retired, actor, now()));
    });

  const current = async () =>
    (
      await db.all<VersionRow>(
        `SELECT ${COLUMNS} FROM allowlist_heads h JOIN allowlist_versions v ON v.id = h.id AND v.version = h.version
         WHERE h.retired = 0 ORDER BY v.id`,
      )
    ).map(toVersion);

  return {
    create: async (input, options) => {
      const entry = validate(input);
      return db.transaction(async (tx) => {
        const actor = requiredText('actor', options.actor, 256);
        const at = now();
        const id = newId('al', at);
        await tx.run('INSERT INTO allowlist_heads (id, version, retired) VALUES (?, 1, 0)', [id]);
        return toVersion(await insertVersion(tx, id, 1, entry, false, actor, at));
      });
    },
    update: async (id, input, options) => {
      const entry = validate(input);
      return nextVersion(id, options, (head) => {
        if (Number(head.retired) === 1) throw new StoreInputError(`allowlist entry ${id} is retired`);
        return [entry, false];
      });
    },
    retire: (id, options) =>
      nextVersion(id, options, (head) => {
        if (Number(head.retired) === 1) throw new StoreInputError(`allowlist entry ${id} is already retired`);
        const was = toVersion(head);
        return [
          { match: was.match, analytics: was.analytics, owner: was.owner, reason: was.reason, expires: was.expires },
          true,
        ];
      }),
    current,
    async history(id) {
      return (
        await db.all<VersionRow>(`SELECT ${COLUMNS} FROM allowlist_versions v WHERE v.id = ? ORDER BY v.version`, [id])
      ).map(toVersion);
    },
    async exportYaml() {
      const entries = (await current()).map((e) => ({
        match: e.match,
        ...(e.analytics.length > 0 ? { analytics: e.analytics } : {}),
        owner: e.owner,
        reason: e.reason,
        expires: e.expires,
      }));
      // yaml quotes whatever needs it (newlines, `#`, `: `, leading `*`), so hostile text stays one value
      return stringify({ allowlist: entries }, { lineWidth: 0 });
    },
  };
}
