/** Sensors: each one's host, version, first and last contact, and what it says it cannot see. */
import type { Sensor } from '../api-types';
import { useLive } from '../live';
import { age, Text, when } from '../text';
import { useApi } from '../use-api';

export function SensorsPage() {
  const sensors = useApi<{ items: Sensor[] }>('/sensors');
  useLive((c) => {
    if (c.kind === 'reset' || c.kind === 'sensor') sensors.reload();
  });
  return (
    <main className="sensors">
      <h1>Sensors</h1>
      {sensors.error && (
        <p className="error" role="alert">
          <Text value={sensors.error.message} />
        </p>
      )}
      {sensors.data && sensors.data.items.length === 0 && <p className="muted">No sensor has reported yet.</p>}
      {sensors.data && sensors.data.items.length > 0 && (
        <table className="rows">
          <thead>
            <tr>
              <th>sensor</th>
              <th>host</th>
              <th>version</th>
              <th>last seen</th>
              <th>first seen</th>
              <th>cannot see</th>
            </tr>
          </thead>
          <tbody>
            {sensors.data.items.map((s) => (
              <tr key={s.id}>
                <td>
                  <Text value={s.id} max={60} />
                </td>
                <td>
                  <Text value={s.host} max={60} />
                </td>
                <td>
                  <Text value={s.version} max={40} />
                </td>
                <td title={when(s.last_seen)}>{age(s.last_seen)} ago</td>
                <td>{when(s.first_seen)}</td>
                <td>
                  {s.cannot_see.length === 0 ? (
                    <span className="muted">nothing reported</span>
                  ) : (
                    <ul className="plain">
                      {s.cannot_see.map((g, i) => (
                        // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
                        <li key={i}>
                          <Text value={g} max={300} />
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
