/**
 * GET /api/v1/sensors: each sensor's last contact, version, heartbeat and what it cannot see (people
 * read it). PUT /api/v1/sensors/self: a sensor's heartbeat, stored under its own token's name, so a
 * sensor speaks only for itself and reads nothing but its own row back.
 */
import type { SensorHeartbeat } from '../../store/sensors.js';
import { clip, inert } from '../../util/hostile.js';
import type { Route } from '../http.js';
import { READ, SENSOR } from '../roles.js';

export function sensorRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/sensors',
      roles: READ,
      body: 'none',
      async handler({ deps }) {
        return { status: 200, json: { items: await deps.store.sensors.list() } };
      },
    },
    {
      method: 'PUT',
      path: '/api/v1/sensors/self',
      roles: SENSOR,
      body: 'json',
      async handler({ deps, principal, body }) {
        // the body is checked against SensorHeartbeat before this runs; the store clips and bounds it again
        // named as ingest names the sender of an events body, so both write the same row
        const id = clip(inert(principal!.name), 256) || 'unknown';
        const sensor = await deps.store.sensors.heartbeat(id, body as SensorHeartbeat);
        deps.changes.publish({ kind: 'sensor', id: sensor.id });
        return { status: 200, json: sensor, headers: { 'cache-control': 'no-store' } };
      },
    },
  ];
}
