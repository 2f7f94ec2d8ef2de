/**
 * Partition checkpoints of `coalmine worker` (bus/worker-partition.ts): per partition, its detector's
 * state as of a stream sequence (LiveDetector.checkpoint, deflated), written over the one before. A save
 * never goes back: a slower owner that lost the partition cannot put an older sequence over a newer one.
 * `config` names what the state was made under (coalmine's version, the policy, rules and intel): a
 * checkpoint of another configuration is not restored (the partition is replayed whole instead).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { type Db, StoreInputError } from './db.js';

/** Deflated state kept at most (base64 in a text column on both backends). */
export const MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024;
const MAX_CONFIG_CHARS = 200;

export interface PartitionCheckpoint {
  partition: number;
  /** The last stream sequence the state covers. */
  seq: number;
  config: string;
  savedAt: number;
  state: Buffer;
}

export interface CheckpointStore {
  /** Keeps `state` for the partition unless a checkpoint of a later sequence is stored; whether it was kept. */
  save(partition: number, seq: number, config: string, state: Buffer): Promise<boolean>;
  load(partition: number): Promise<PartitionCheckpoint | undefined>;
}

export function checkpointStore(db: Db, now: () => number): CheckpointStore {
  return {
    async save(partition, seq, config, state) {
      if (!Number.isInteger(partition) || partition < 0 || !Number.isSafeInteger(seq) || seq < 0)
        throw new StoreInputError('a checkpoint names a partition and a stream sequence');
      if (config.length === 0 || config.length > MAX_CONFIG_CHARS) throw new StoreInputError('checkpoint config');
      const packed = deflateRawSync(state, { level: 1 });
      if (packed.length > MAX_CHECKPOINT_BYTES)
        throw new StoreInputError(`checkpoint of ${packed.length} bytes is over ${MAX_CHECKPOINT_BYTES}`);
      const r = await db.run(
        `INSERT INTO partition_checkpoints (partition_no, seq, config, saved_at, state) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (partition_no) DO UPDATE SET seq = excluded.seq, config = excluded.config,
           saved_at = excluded.saved_at, state = excluded.state
         WHERE partition_checkpoints.seq <= excluded.seq`,
        [partition, seq, config, now(), packed.toString('base64')],
      );
      return r.changes > 0;
    },
    async load(partition) {
      const row = await db.get<{ seq: number | string; config: string; saved_at: number | string; state: string }>(
        'SELECT seq, config, saved_at, state FROM partition_checkpoints WHERE partition_no = ?',
        [partition],
      );
      if (!row) return undefined;
      return {
        partition,
        seq: Number(row.seq),
        config: row.config,
        savedAt: Number(row.saved_at),
        state: inflateRawSync(Buffer.from(row.state, 'base64'), { maxOutputLength: 4 * MAX_CHECKPOINT_BYTES }),
      };
    },
  };
}
