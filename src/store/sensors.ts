/**
 * Sensors: each one's last contact, version and what it says it cannot see (its gaps), for the sensors
 * page. A contact (`seen`, every accepted ingest body) moves last seen; a heartbeat (`heartbeat`, the
 * sensor's own `PUT /api/v1/sensors/self`) replaces what the sensor says of itself: host, platform,
 * kernel, root, its sampler's counted gaps and its cannot-see statements. The heartbeat lives in its own
 * columns, so a contact written at the same time never puts back an older list.
 */
import { boundedJson, boundedText, type Db, requiredText, StoreInputError } from './db.js';

const MAX_GAPS = 64;
/** A sensor id is its token's name made inert and clipped to 256 (ingest's rule), so up to 256 plus the clip mark. */
const MAX_ID_CHARS = 300;
/** A sensor not heard from for this many heartbeat intervals is stale. */
export const STALE_INTERVALS = 3;
/** The interval assumed for a sensor that never said its own (watch --server's default). */
export const DEFAULT_HEARTBEAT_INTERVAL_S = 60;
const MIN_INTERVAL_S = 5;
const MAX_INTERVAL_S = 86_400;
const MAX_COUNT = 2 ** 31 - 1;

/** One kind of gap the sensor's sampler counted in its last sample ("fd_unreadable", 12). */
export interface SensorGap {
  kind: string;
  count: number;
}

/** What a sensor says of itself in a heartbeat. */
export interface SensorHeartbeat {
  version: string;
  hostname: string;
  platform: string;
  kernel: string;
  /** Runs as root (uid 0): other users' fd tables and exe links are readable. */
  root: boolean;
  /** How often it sends a heartbeat (seconds). */
  interval_s: number;
  gaps: SensorGap[];
  /** What it cannot see, in plain words. */
  cannot_see: string[];
}

export interface StoredHeartbeat extends SensorHeartbeat {
  received_at: number;
}

export interface SensorInfo {
  id: string;
  host: string;
  version: string;
  /** What the sensor cannot see ("no root: other users' fds unreadable"): its latest heartbeat's list when it sent one. */
  cannot_see: string[];
  first_seen: number;
  /** The last contact of any kind (a heartbeat or an ingest body). */
  last_seen: number;
  /** The latest heartbeat, null when the sensor never sent one (a shipper that only posts events). */
  heartbeat: StoredHeartbeat | null;
  /** Not heard from for STALE_INTERVALS heartbeat intervals (its own, else the default). */
  stale: boolean;
}

export interface SensorStore {
  /** Records a contact; the first one registers the sensor. */
  seen(report: { id: string; host: string; version: string; cannot_see?: string[] }): Promise<SensorInfo>;
  /** Records a heartbeat (the latest replaces the one before); the first contact registers the sensor. */
  heartbeat(id: string, report: SensorHeartbeat): Promise<SensorInfo>;
  get(id: string): Promise<SensorInfo | undefined>;
  list(): Promise<SensorInfo[]>;
}

interface SensorRow {
  id: string;
  host: string;
  version: string;
  cannot_see: string;
  first_seen: number | string;
  last_seen: number | string;
  heartbeat: string | null;
  heartbeat_at: number | string | null;
}

const COLUMNS = 'id, host, version, cannot_see, first_seen, last_seen, heartbeat, heartbeat_at';

function textList(field: string, value: unknown, maxChars: number): string[] {
  if (!Array.isArray(value) || value.length > MAX_GAPS)
    throw new StoreInputError(`${field} must list at most ${MAX_GAPS} entries`);
  return value.map((g) => boundedText(field, g, maxChars));
}

/** A heartbeat as stored: every text clipped, counts and the interval bounded, unknown fields dropped. */
function checkedHeartbeat(report: SensorHeartbeat): SensorHeartbeat {
  if (typeof report !== 'object' || report === null) throw new StoreInputError('a heartbeat must be an object');
  if (typeof report.root !== 'boolean') throw new StoreInputError('heartbeat root must be true or false');
  const interval = report.interval_s;
  if (!Number.isInteger(interval) || interval < MIN_INTERVAL_S || interval > MAX_INTERVAL_S)
    throw new StoreInputError(
      `heartbeat interval_s must be a whole number of seconds, ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}`,
    );
  if (!Array.isArray(report.gaps) || report.gaps.length > MAX_GAPS)
    throw new StoreInputError(`heartbeat gaps must list at most ${MAX_GAPS} kinds`);
  const gaps = report.gaps.map((g, i): SensorGap => {
    if (typeof g !== 'object' || g === null) throw new StoreInputError(`heartbeat gaps[${i}] must be an object`);
    if (!Number.isInteger(g.count) || g.count < 0 || g.count > MAX_COUNT)
      throw new StoreInputError(`heartbeat gaps[${i}].count must be a whole number, 0 to ${MAX_COUNT}`);
    return { kind: boundedText(`heartbeat gaps[${i}].kind`, g.kind, 64), count: g.count };
  });
  return {
    version: boundedText('heartbeat version', report.version, 64),
    hostname: boundedText('heartbeat hostname', report.hostname, 512),
    platform: boundedText('heartbeat platform', report.platform, 64),
    kernel: boundedText('heartbeat kernel', report.kernel, 256),
    root: report.root,
    interval_s: interval,
    gaps,
    cannot_see: textList('heartbeat cannot_see', report.cannot_see, 512),
  };
}

export function sensorStore(db: Db, now: () => number): SensorStore {
  const row = (r: SensorRow): SensorInfo => {
    const heartbeat =
      r.heartbeat === null || r.heartbeat_at === null
        ? null
        : { ...(JSON.parse(r.heartbeat) as SensorHeartbeat), received_at: Number(r.heartbeat_at) };
    const lastSeen = Math.max(Number(r.last_seen), heartbeat?.received_at ?? 0);
    const intervalMs = (heartbeat?.interval_s ?? DEFAULT_HEARTBEAT_INTERVAL_S) * 1000;
    return {
      id: r.id,
      host: r.host,
      version: r.version,
      cannot_see: heartbeat ? heartbeat.cannot_see : (JSON.parse(r.cannot_see) as string[]),
      first_seen: Number(r.first_seen),
      last_seen: lastSeen,
      heartbeat,
      stale: now() - lastSeen > STALE_INTERVALS * intervalMs,
    };
  };
  const get = async (id: string) => {
    const r = await db.get<SensorRow>(`SELECT ${COLUMNS} FROM sensors WHERE id = ?`, [id]);
    return r && row(r);
  };
  return {
    async seen(report) {
      const id = requiredText('sensor id', report.id, MAX_ID_CHARS);
      const gaps = textList('cannot_see', report.cannot_see ?? [], 512);
      const at = now();
      await db.run(
        `INSERT INTO sensors (id, host, version, cannot_see, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, cannot_see = excluded.cannot_see,
           last_seen = excluded.last_seen`,
        [
          id,
          boundedText('sensor host', report.host, 512),
          boundedText('sensor version', report.version, 64),
          boundedJson('cannot_see', gaps, 64 * 1024),
          at,
          at,
        ],
      );
      return (await get(id))!;
    },
    async heartbeat(sensorId, report) {
      const id = requiredText('sensor id', sensorId, MAX_ID_CHARS);
      const beat = checkedHeartbeat(report);
      const at = now();
      const body = boundedJson('heartbeat', beat, 128 * 1024);
      await db.run(
        `INSERT INTO sensors (id, host, version, cannot_see, first_seen, last_seen, heartbeat, heartbeat_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, cannot_see = excluded.cannot_see,
           last_seen = excluded.last_seen, heartbeat = excluded.heartbeat, heartbeat_at = excluded.heartbeat_at`,
        [id, beat.hostname, beat.version, boundedJson('cannot_see', beat.cannot_see, 64 * 1024), at, at, body, at],
      );
      return (await get(id))!;
    },
    get,
    async list() {
      return (await db.all<SensorRow>(`SELECT ${COLUMNS} FROM sensors ORDER BY id`)).map(row);
    },
  };
}
