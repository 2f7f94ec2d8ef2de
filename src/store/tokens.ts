/**
 * API tokens: `cm_` + 32 random bytes in base64url, shown once at creation and stored only as their
 * SHA-256. A slow KDF (scrypt, argon2) protects guessable passwords; these secrets carry 256 bits of
 * entropy, so a stolen hash cannot be reversed by guessing, and one fast hash per request keeps
 * verification cheap. The stored and computed hashes are compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendAudit } from './audit.js';
import { boundedText, type Db, newId, requiredText, StoreInputError } from './db.js';

export const ROLES = ['viewer', 'analyst', 'admin', 'sensor'] as const;
export type Role = (typeof ROLES)[number];

const SECRET_SHAPE = /^cm_[A-Za-z0-9_-]{43}$/;
/** `last_used_at` is written at most this often per token, not on every request. */
const LAST_USED_GRANULARITY_MS = 60_000;

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface TokenStore {
  /** The secret is in the answer and nowhere else: it cannot be shown again. */
  create(options: { name: string; role: Role; actor: string }): Promise<{ token: TokenInfo; secret: string }>;
  /** The token a presented secret belongs to, or undefined (unknown, malformed or revoked). */
  verify(secret: unknown): Promise<TokenInfo | undefined>;
  /** True when it was live and is now revoked. */
  revoke(id: string, options: { actor: string }): Promise<boolean>;
  list(): Promise<TokenInfo[]>;
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest();

interface TokenRow extends TokenInfo {
  secret_hash: string;
}

const COLUMNS = 'id, name, role, created_at, created_by, revoked_at, last_used_at';

function info(row: TokenInfo): TokenInfo {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    created_at: Number(row.created_at),
    created_by: row.created_by,
    revoked_at: n(row.revoked_at),
    last_used_at: n(row.last_used_at),
  };
}

export function tokenStore(db: Db, now: () => number): TokenStore {
  return {
    async create(options) {
      if (!ROLES.includes(options.role)) throw new StoreInputError(`role must be one of ${ROLES.join(', ')}`);
      const secret = `cm_${randomBytes(32).toString('base64url')}`;
      const at = now();
      const token: TokenInfo = {
        id: newId('tok', at),
        name: boundedText('token name', options.name, 128),
        role: options.role,
        created_at: at,
        created_by: requiredText('actor', options.actor, 256),
        revoked_at: null,
        last_used_at: null,
      };
      await db.transaction(async (tx) => {
        await tx.run(
          'INSERT INTO api_tokens (id, name, role, secret_hash, created_at, created_by, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)',
          [token.id, token.name, token.role, hashOf(secret).toString('hex'), at, token.created_by],
        );
        await appendAudit(tx, at, {
          actor: token.created_by,
          subject_type: 'token',
          subject_id: token.id,
          action: 'create',
          detail: { name: token.name, role: token.role },
        });
      });
      return { token, secret };
    },

    async verify(secret) {
      if (typeof secret !== 'string' || !SECRET_SHAPE.test(secret)) return undefined;
      const presented = hashOf(secret);
      // looked up by its hash: the lookup's timing tells nothing about any other token's secret
      const row = await db.get<TokenRow>(`SELECT ${COLUMNS}, secret_hash FROM api_tokens WHERE secret_hash = ?`, [
        presented.toString('hex'),
      ]);
      if (!row) return undefined;
      const stored = Buffer.from(row.secret_hash, 'hex');
      if (stored.length !== presented.length || !timingSafeEqual(stored, presented)) return undefined;
      if (row.revoked_at !== null) return undefined;
      const at = now();
      if (row.last_used_at === null || at - Number(row.last_used_at) >= LAST_USED_GRANULARITY_MS) {
        await db.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, row.id]);
        row.last_used_at = at;
      }
      return info(row);
    },

    revoke: (id, options) =>
      db.transaction(async (tx) => {
        const actor = requiredText('actor', options.actor, 256);
        const at = now();
        const done = await tx.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id]);
        if (done.changes === 0) return false;
        await appendAudit(tx, at, { actor, subject_type: 'token', subject_id: id, action: 'revoke', detail: {} });
        return true;
      }),

    async list() {
      return (await db.all<TokenInfo>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY id`)).map(info);
    },
  };
}
