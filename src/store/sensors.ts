/** Sensors: each one's last contact, version and what it says it cannot see (its gaps), for the sensors page. */
import { boundedJson, boundedText, type Db, requiredText, StoreInputError } from './db.js';

const MAX_GAPS = 64;

export interface SensorInfo {
  id: string;
  host: string;
  version: string;
  /** What the sensor cannot see ("no root: other users' fds unreadable"). */
  cannot_see: string[];
  first_seen: number;
  last_seen: number;
}

export interface SensorStore {
  /** Records a contact; the first one registers the sensor. */
  seen(report: { id: string; host: string; version: string; cannot_see?: string[] }): Promise<SensorInfo>;
  get(id: string): Promise<SensorInfo | undefined>;
  list(): Promise<SensorInfo[]>;
}

interface SensorRow extends Omit<SensorInfo, 'cannot_see'> {
  cannot_see: string;
}

const row = (r: SensorRow): SensorInfo => ({
  ...r,
  cannot_see: JSON.parse(r.cannot_see) as string[],
  first_seen: Number(r.first_seen),
  last_seen: Number(r.last_seen),
});

export function sensorStore(db: Db, now: () => number): SensorStore {
  const get = async (id: string) => {
    const r = await db.get<SensorRow>(
      'SELECT id, host, version, cannot_see, first_seen, last_seen FROM sensors WHERE id = ?',
      [id],
    );
    return r && row(r);
  };
  return {
    async seen(report) {
      const id = requiredText('sensor id', report.id, 128);
      const gaps = report.cannot_see ?? [];
      if (!Array.isArray(gaps) || gaps.length > MAX_GAPS)
        throw new StoreInputError(`cannot_see must list at most ${MAX_GAPS} gaps`);
      const at = now();
      await db.run(
        `INSERT INTO sensors (id, host, version, cannot_see, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, cannot_see = excluded.cannot_see,
           last_seen = excluded.last_seen`,
        [
          id,
          boundedText('sensor host', report.host, 512),
          boundedText('sensor version', report.version, 64),
          boundedJson(
            'cannot_see',
            gaps.map((g) => boundedText('gap', g, 512)),
            64 * 1024,
          ),
          at,
          at,
        ],
      );
      return (await get(id))!;
    },
    get,
    async list() {
      return (
        await db.all<SensorRow>('SELECT id, host, version, cannot_see, first_seen, last_seen FROM sensors ORDER BY id')
      ).map(row);
    },
  };
}
