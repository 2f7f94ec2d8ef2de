/** GET /api/v1/sensors: each sensor's last contact, version and what it cannot see. */
import type { Route } from '../http.js';
import { READ } from '../roles.js';

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
  ];
}
