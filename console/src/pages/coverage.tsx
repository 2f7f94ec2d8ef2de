/**
 * Coverage: per host, per cluster/namespace and per cloud account/region, which analytics see what
 * (present / partial / absent) and the gaps that keep them blind, from GET /api/v1/coverage (the same
 * report `coalmine coverage --format json` prints). Fields absent from the answer are left out.
 */
import type { ReactNode } from 'react';
import { seg } from '../api';
import { useLive } from '../live';
import { Link } from '../router';
import { Text, visible } from '../text';
import { useApi } from '../use-api';

interface ClassRow {
  class: string;
  status: string;
  events?: number;
  formats?: string[];
  sources?: string[];
  detail?: string;
}
interface AnalyticRow {
  analytic: string;
  title?: string;
  status: string;
  missing?: string[];
  gaps?: string[];
}
interface Scope {
  host?: string;
  platform?: string;
  cluster?: string;
  namespace?: string;
  provider?: string;
  account?: string;
  region?: string;
  classes?: ClassRow[];
  analytics?: AnalyticRow[];
  analytic?: AnalyticRow;
}
interface CoverageReport {
  covered?: boolean;
  gapCount?: number;
  hosts?: Scope[];
  namespaces?: Scope[];
  cloudRegions?: Scope[];
}

const asList = <T,>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]).slice(0, 1000) : []);

/** A host's coverage row, as GET /api/v1/hosts/{name} gives it too. */
export type HostCoverageRow = Scope;

export function ScopeCard(props: { title: ReactNode; scope: Scope }) {
  const analytics = [
    ...asList<AnalyticRow>(props.scope.analytics),
    ...(props.scope.analytic ? [props.scope.analytic] : []),
  ];
  const classes = asList<ClassRow>(props.scope.classes);
  return (
    <article className="scope">
      <h3>{props.title}</h3>
      {analytics.map((a, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
        <div key={i} className="analytic">
          <span className={`cov cov-${visible(a.status)}`}>{visible(a.status)}</span>{' '}
          <strong>{visible(a.analytic)}</strong> {a.title && <Text value={a.title} max={160} />}
          {asList<string>(a.gaps).length > 0 && (
            <ul className="gaps">
              {asList<string>(a.gaps).map((g, j) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
                <li key={j}>
                  <Text value={g} max={400} />
                </li>
              ))}
            </ul>
          )}
        </div>
      ))}
      {classes.length > 0 && (
        <table className="classes">
          <tbody>
            {classes.map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
              <tr key={i}>
                <td>
                  <Text value={c.class} max={40} />
                </td>
                <td>
                  <span className={`cov cov-${visible(c.status)}`}>{visible(c.status)}</span>
                </td>
                <td className="muted">
                  {c.events !== undefined && `${c.events} events `}
                  <Text value={asList<string>(c.formats ?? c.sources).join(', ')} max={120} />
                  {c.detail && (
                    <>
                      {' '}
                      — <Text value={c.detail} max={300} />
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}

export function CoveragePage() {
  const report = useApi<CoverageReport>('/coverage');
  useLive((c) => {
    if (c.kind === 'reset' || c.kind === 'sensor') report.reload();
  });
  if (report.error)
    return (
      <main>
        <h1>Coverage</h1>
        <p className={report.error.status === 404 ? 'muted' : 'error'}>
          {report.error.status === 404 ? (
            'This server does not report coverage.'
          ) : (
            <Text value={report.error.message} />
          )}
        </p>
      </main>
    );
  if (!report.data) return <main className="loading">Loading…</main>;
  const d = report.data;
  const hosts = asList<Scope>(d.hosts);
  const namespaces = asList<Scope>(d.namespaces);
  const clouds = asList<Scope>(d.cloudRegions);
  return (
    <main className="coverage">
      <h1>Coverage</h1>
      {d.gapCount !== undefined && (
        <p>
          {d.covered ? 'Every analytic sees what it needs.' : `${d.gapCount} gap${d.gapCount === 1 ? '' : 's'} named.`}
        </p>
      )}
      {hosts.length + namespaces.length + clouds.length === 0 && <p className="muted">No telemetry seen yet.</p>}
      {hosts.length > 0 && <h2>Hosts</h2>}
      {hosts.map((s) => (
        <ScopeCard
          key={`h:${s.host}`}
          scope={s}
          title={
            <>
              <Link to={`/hosts/${seg(s.host ?? '')}`}>{visible(s.host).slice(0, 80)}</Link>{' '}
              <span className="muted">{visible(s.platform ?? '')}</span>
            </>
          }
        />
      ))}
      {namespaces.length > 0 && <h2>Clusters</h2>}
      {namespaces.map((s) => (
        <ScopeCard
          key={`n:${s.cluster}/${s.namespace}`}
          scope={s}
          title={<Text value={`${s.cluster ?? '?'}/${s.namespace ?? '?'}`} max={120} />}
        />
      ))}
      {clouds.length > 0 && <h2>Cloud accounts</h2>}
      {clouds.map((s) => (
        <ScopeCard
          key={`c:${s.provider}/${s.account}/${s.region}`}
          scope={s}
          title={<Text value={`${s.provider ?? '?'} ${s.account ?? '?'} ${s.region ?? ''}`} max={120} />}
        />
      ))}
    </main>
  );
}
