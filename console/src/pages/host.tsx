/**
 * One host (GET /api/v1/hosts/{name}): what the live engine holds of it (telemetry, coverage row, the
 * processes of its open clusters) and what the store holds (its findings and cases).
 */
import { seg } from '../api';
import type { CaseState, Severity } from '../api-types';
import { useLive } from '../live';
import { Link } from '../router';
import { Text, visible, when } from '../text';
import { useApi } from '../use-api';
import { type HostCoverageRow, ScopeCard } from './coverage';

interface HostDetail {
  host: {
    name: string;
    platform: string | null;
    first_seen: string | null;
    last_seen: string | null;
    events: number;
    telemetry: string[];
    formats: string[];
    findings: number;
    open_cases: number;
  };
  tracked: boolean;
  coverage: HostCoverageRow | null;
  findings: Array<{
    id: string;
    title: string;
    severity: Severity;
    analytic: string;
    revision: number;
    last_seen: string;
  }>;
  findings_more: boolean;
  cases: Array<{ id: string; title: string; severity: Severity; state: CaseState }>;
  entities: Array<{
    key: string;
    pid: number | null;
    name: string | null;
    command_line: string | null;
    executable: string | null;
    user: string | null;
    first_seen: string;
    last_seen: string;
  }>;
  entities_more: boolean;
}

export function HostPage(props: { name: string }) {
  const detail = useApi<HostDetail>(`/hosts/${seg(props.name)}`);
  useLive((c) => {
    if (c.kind === 'reset' || c.kind === 'finding' || c.kind === 'case') detail.reload();
  });
  if (detail.error)
    return (
      <main>
        <h1>
          Host <Text value={props.name} max={80} />
        </h1>
        <p className="error" role="alert">
          <Text value={detail.error.message} />
        </p>
      </main>
    );
  if (!detail.data) return <main className="loading">Loading…</main>;
  const d = detail.data;
  const h = d.host;
  return (
    <main className="host">
      <p className="crumbs">
        <Link to="/coverage">Coverage</Link> › host
      </p>
      <h1>
        <Text value={h.name} max={120} /> <span className="muted">{visible(h.platform ?? '')}</span>
      </h1>
      <p>
        {h.events} events from <Text value={h.formats.join(', ') || 'no source'} max={200} />, seen {when(h.first_seen)}{' '}
        – {when(h.last_seen)}
        {!d.tracked && (
          <span className="muted"> (not held by the live engine now: only the store's findings and cases)</span>
        )}
      </p>
      <section>
        <h2>Cases</h2>
        {d.cases.length === 0 && <p className="muted">None.</p>}
        <ul>
          {d.cases.map((c) => (
            <li key={c.id}>
              <span className={`sev sev-${c.severity}`}>{c.severity}</span>{' '}
              <Link to={`/cases/${seg(c.id)}`}>{visible(c.title).slice(0, 200)}</Link>{' '}
              <span className="muted">{visible(c.state).replace('_', ' ')}</span>
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Findings</h2>
        {d.findings.length === 0 && <p className="muted">None.</p>}
        <ul>
          {d.findings.map((f) => (
            <li key={f.id}>
              <span className={`sev sev-${f.severity}`}>{f.severity}</span>{' '}
              <Link to={`/findings/${seg(f.id)}`}>{visible(f.title).slice(0, 200)}</Link>{' '}
              <span className="muted">
                {visible(f.analytic)}, last seen {when(f.last_seen)}
              </span>
            </li>
          ))}
        </ul>
        {d.findings_more && (
          <p>
            <Link to={`/findings?host=${encodeURIComponent(h.name)}`}>All findings on this host</Link>
          </p>
        )}
      </section>
      {d.coverage && (
        <section>
          <h2>Coverage</h2>
          <ScopeCard scope={d.coverage} title="analytics and telemetry" />
        </section>
      )}
      <section>
        <h2>Processes under watch</h2>
        <p className="muted">The processes of this host's open correlation units in the live engine.</p>
        {d.entities.length === 0 && <p className="muted">None now.</p>}
        {d.entities.length > 0 && (
          <table className="rows">
            <thead>
              <tr>
                <th>pid</th>
                <th>process</th>
                <th>user</th>
                <th>command line</th>
                <th>last seen</th>
              </tr>
            </thead>
            <tbody>
              {d.entities.map((e) => (
                <tr key={e.key}>
                  <td>{e.pid ?? ''}</td>
                  <td>
                    <Text value={e.name ?? e.executable ?? e.key} max={60} />
                  </td>
                  <td>
                    <Text value={e.user ?? ''} max={40} />
                  </td>
                  <td className="cmdline">
                    <Text value={e.command_line ?? ''} max={200} />
                  </td>
                  <td className="nowrap">{when(e.last_seen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {d.entities_more && <p className="muted">More are held than listed here.</p>}
      </section>
    </main>
  );
}
