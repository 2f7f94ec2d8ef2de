/**
 * Sensors: each one's host, version, platform, whether it runs as root, when it was last heard from
 * (stale after 3 of its heartbeat intervals), and what it says it cannot see with the gaps its sampler
 * counted in the last sample. Every sensor-sent string is shown through Text (inert).
 */
import type { Sensor } from '../api-types';
import { useLive } from '../live';
import { age, Text, when } from '../text';
import { useApi } from '../use-api';

function Platform(props: { sensor: Sensor }) {
  const beat = props.sensor.heartbeat;
  if (!beat) return <span className="muted">no heartbeat</span>;
  return (
    <>
      <Text value={beat.platform} max={20} /> <Text value={beat.kernel} max={40} />
      <br />
      {beat.root ? 'root' : <span className="muted">not root</span>}
    </>
  );
}

function CannotSee(props: { sensor: Sensor }) {
  const { cannot_see: statements, heartbeat } = props.sensor;
  const gaps = heartbeat?.gaps ?? [];
  if (statements.length === 0 && gaps.length === 0)
    return <span className="muted">{heartbeat ? 'nothing it knows of' : 'nothing reported'}</span>;
  return (
    <>
      {statements.length > 0 && (
        <ul className="plain">
          {statements.map((g, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
            <li key={i}>
              <Text value={g} max={300} />
            </li>
          ))}
        </ul>
      )}
      {gaps.length > 0 && (
        <ul className="plain muted" aria-label="gaps in the last sample">
          {gaps.map((g, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
            <li key={i}>
              <Text value={g.kind} max={64} /> × {g.count}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

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
              <th>platform</th>
              <th>last seen</th>
              <th>first seen</th>
              <th>cannot see</th>
            </tr>
          </thead>
          <tbody>
            {sensors.data.items.map((s) => (
              <tr key={s.id} className={s.stale ? 'stale' : undefined}>
                <td>
                  <Text value={s.id} max={60} />
                </td>
                <td>
                  <Text value={s.host} max={60} />
                </td>
                <td>
                  <Text value={s.heartbeat?.version ?? s.version} max={40} />
                </td>
                <td>
                  <Platform sensor={s} />
                </td>
                <td title={when(s.last_seen)}>
                  {age(s.last_seen)} ago
                  {s.stale && (
                    <span
                      className="sev sev-high"
                      title={`not heard from for 3 heartbeat intervals (${s.heartbeat?.interval_s ?? 60} s each)`}
                    >
                      stale
                    </span>
                  )}
                </td>
                <td>{when(s.first_seen)}</td>
                <td>
                  <CannotSee sensor={s} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
