/**
 * The queue: cases or findings, worst first, filtered by severity, tier, state, host, analytic, age and
 * free text, every filter in the URL's query so a view can be linked. Keys: j/k move, Enter opens,
 * / focuses the text filter. Live changes reload the list without a page reload.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { CASE_STATES, type Page, SEVERITIES, SEVERITY_RANK, type StoredCase, type StoredFinding } from '../api-types';
import { typingIn } from '../app';
import { useLive } from '../live';
import { navigate, useLocation } from '../router';
import { age, Text, visible } from '../text';
import { useApi } from '../use-api';
import { findingFilterQuery, findingsExportHref } from '../view-model';

const PAGE = '200';
const AGES: Array<[string, number]> = [
  ['1h', 3600e3],
  ['24h', 86400e3],
  ['7d', 7 * 86400e3],
  ['30d', 30 * 86400e3],
];
const FILTER_NAMES = ['severity', 'tier', 'state', 'host', 'analytic', 'age', 'q'] as const;
type FilterName = (typeof FILTER_NAMES)[number];

interface Row {
  id: string;
  href: string;
  severity: string;
  tier: string;
  state: string;
  host: string;
  analytic: string;
  title: string;
  /** epoch ms of the newest activity, for age */
  at: number;
  extra: string;
}

function caseRow(c: StoredCase): Row {
  return {
    id: c.id,
    href: `/cases/${encodeURIComponent(c.id)}`,
    severity: c.severity,
    tier: c.tier,
    state: c.resolution ? `${c.state} (${c.resolution})` : c.state,
    host: (c.grouped.hosts ?? []).join(', '),
    analytic: '',
    title: c.title,
    at: c.updated_at,
    extra: `${c.findings.length} finding${c.findings.length === 1 ? '' : 's'}${c.reopened ? `, reopened ×${c.reopened}` : ''}`,
  };
}

function findingRow(s: StoredFinding): Row {
  const f = s.finding;
  return {
    id: f.id,
    href: `/findings/${encodeURIComponent(f.id)}`,
    severity: f.severity,
    tier: f.triage?.escalation.tier ?? '',
    state: f.suppressed_by ? 'suppressed' : '',
    host: f.host,
    analytic: f.analytic,
    title: f.title,
    at: Date.parse(f.last_seen) || s.received_at,
    extra: `rev ${s.revision}`,
  };
}

export function QueuePage(props: { kind: 'cases' | 'findings' }) {
  const { query } = useLocation();
  const filters = useMemo(
    () => Object.fromEntries(FILTER_NAMES.map((n) => [n, query.get(n) ?? ''])) as Record<FilterName, string>,
    [query],
  );
  const filter = (name: FilterName) => filters[name];
  // the server filters what it can; the rest is filtered here on the page it sent
  const serverQuery = useMemo(() => {
    const q = props.kind === 'findings' ? findingFilterQuery(filters) : findingFilterQuery({ state: filters.state }); // the cases list filters by state only
    q.set('limit', PAGE);
    return q.toString();
  }, [filters, props.kind]);
  const loaded = useApi<Page<StoredCase | StoredFinding>>(`/${props.kind}`, serverQuery);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const known = useRef<Set<string> | null>(null);

  useLive((c) => {
    if (c.kind === 'reset' || c.kind === 'finding' || c.kind === 'case') loaded.reload();
  });

  const rows = useMemo(() => {
    const filter = (name: FilterName) => filters[name];
    const items = loaded.data?.items ?? [];
    const all =
      props.kind === 'cases' ? (items as StoredCase[]).map(caseRow) : (items as StoredFinding[]).map(findingRow);
    const sev = filter('severity');
    const tier = filter('tier');
    const host = filter('host').toLowerCase();
    const analytic = filter('analytic').toLowerCase();
    const text = filter('q').toLowerCase();
    const maxAge = AGES.find(([k]) => k === filter('age'))?.[1];
    const now = Date.now();
    return all
      .filter((r) => !sev || sev.split(',').includes(r.severity))
      .filter((r) => !tier || r.tier === tier)
      .filter((r) => !host || r.host.toLowerCase().includes(host))
      .filter((r) => !analytic || r.analytic.toLowerCase() === analytic || props.kind === 'cases')
      .filter((r) => !maxAge || now - r.at <= maxAge)
      .filter((r) => !text || `${r.title} ${r.host} ${r.id}`.toLowerCase().includes(text))
      .sort((a, b) => (SEVERITY_RANK[b.severity as 'low'] ?? 0) - (SEVERITY_RANK[a.severity as 'low'] ?? 0));
  }, [loaded.data, filters, props.kind]);

  // rows that arrived since the page first loaded are marked new
  useEffect(() => {
    if (!loaded.data) return;
    const ids = new Set(rows.map((r) => r.id));
    if (known.current) {
      const added = rows.filter((r) => !known.current?.has(r.id)).map((r) => r.id);
      if (added.length > 0) setFresh((f) => new Set([...f, ...added]));
    }
    known.current = ids;
  }, [rows, loaded.data]);

  const [selected, setSelected] = useState(0);
  const textFilter = useRef<HTMLInputElement>(null);
  const tableRef = useRef<HTMLTableSectionElement>(null);

  const setFilter = useCallback(
    (name: FilterName, value: string) => {
      const q = new URLSearchParams(window.location.search);
      if (value) q.set(name, value);
      else q.delete(name);
      const qs = q.toString();
      navigate(`/${props.kind}${qs ? `?${qs}` : ''}`, { replace: true });
      setSelected(0);
    },
    [props.kind],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typingIn(e.target)) {
        if (e.key === 'Escape' && e.target instanceof HTMLElement) e.target.blur();
        return;
      }
      if (e.key === 'j') setSelected((s) => Math.min(s + 1, Math.max(rows.length - 1, 0)));
      else if (e.key === 'k') setSelected((s) => Math.max(s - 1, 0));
      else if (e.key === 'Enter' && rows[selected]) {
        // Enter on a focused link or button is that control's
        if (e.target instanceof HTMLElement && e.target.closest('a, button')) return;
        navigate(rows[selected].href);
      } else if (e.key === '/') {
        e.preventDefault();
        textFilter.current?.focus();
      } else return;
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [rows, selected]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: selected is the trigger
  useEffect(() => {
    tableRef.current?.querySelector('tr.selected')?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);

  const hosts = useMemo(() => [...new Set(rows.map((r) => r.host))].sort(), [rows]);

  return (
    <main className="queue">
      <h1>{props.kind === 'cases' ? 'Cases' : 'Findings'}</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <input
          ref={textFilter}
          type="search"
          name="q"
          placeholder="filter (/)"
          maxLength={200}
          value={filter('q')}
          onChange={(e) => setFilter('q', e.target.value)}
        />
        <select
          aria-label="severity"
          value={filter('severity')}
          onChange={(e) => setFilter('severity', e.target.value)}
        >
          <option value="">any severity</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="tier" value={filter('tier')} onChange={(e) => setFilter('tier', e.target.value)}>
          <option value="">any tier</option>
          <option value="Tier 2">Tier 2</option>
          <option value="L1">L1</option>
        </select>
        <select aria-label="state" value={filter('state')} onChange={(e) => setFilter('state', e.target.value)}>
          <option value="">any state</option>
          {CASE_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input
          aria-label="host"
          name="host"
          placeholder="host"
          maxLength={256}
          list="queue-hosts"
          value={filter('host')}
          onChange={(e) => setFilter('host', e.target.value)}
        />
        <datalist id="queue-hosts">
          {hosts.map((h) => (
            <option key={h} value={visible(h)} />
          ))}
        </datalist>
        {props.kind === 'findings' && (
          <input
            aria-label="analytic"
            name="analytic"
            placeholder="analytic (AN0742)"
            maxLength={32}
            value={filter('analytic')}
            onChange={(e) => setFilter('analytic', e.target.value)}
          />
        )}
        <select aria-label="age" value={filter('age')} onChange={(e) => setFilter('age', e.target.value)}>
          <option value="">any age</option>
          {AGES.map(([k]) => (
            <option key={k} value={k}>
              last {k}
            </option>
          ))}
        </select>
      </form>
      <Exports filters={filters} />
      {loaded.error && (
        <p className="error" role="alert">
          <Text value={loaded.error.message} />
        </p>
      )}
      {loaded.data && rows.length === 0 && <p className="empty">Nothing here with these filters.</p>}
      {rows.length > 0 && (
        <table className="rows">
          <thead>
            <tr>
              <th>severity</th>
              <th>tier</th>
              <th>{props.kind === 'cases' ? 'state' : 'analytic'}</th>
              <th>host</th>
              <th>title</th>
              <th>age</th>
              <th />
            </tr>
          </thead>
          <tbody ref={tableRef}>
            {rows.map((r, i) => (
              <tr
                key={r.id}
                className={`${i === selected ? 'selected' : ''} ${fresh.has(r.id) ? 'fresh' : ''}`}
                data-id={r.id}
                onClick={() => navigate(r.href)}
              >
                <td>
                  <span className={`sev sev-${r.severity}`}>{r.severity}</span>
                </td>
                <td>{r.tier}</td>
                <td>{props.kind === 'cases' ? r.state : r.analytic}</td>
                <td>
                  <Text value={r.host} max={40} toggle={false} />
                </td>
                <td>
                  <a
                    href={r.href}
                    onClick={(e) => {
                      e.preventDefault();
                    }}
                  >
                    <Text value={r.title} max={140} toggle={false} />
                  </a>
                  {fresh.has(r.id) && <span className="badge">new</span>}
                </td>
                <td title={new Date(r.at).toISOString()}>{age(r.at)}</td>
                <td className="muted">{r.extra}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loaded.data?.next && <p className="muted">More than {PAGE} match; narrow the filters to see the rest.</p>}
    </main>
  );
}

/**
 * The findings export of what the filters select, as `hunt --format ndjson|ocsf` lines: a plain link,
 * so the browser downloads it with the session cookie. The server applies severity, state, host and
 * analytic; tier, age and the text filter narrow only this page, and the line says so when one is set.
 */
function Exports(props: { filters: Record<FilterName, string> }) {
  const { filters } = props;
  const pageOnly = (['tier', 'age', 'q'] as const).filter((n) => filters[n] !== '');
  return (
    <p className="exports">
      Export the findings these filters select:{' '}
      <a href={findingsExportHref(filters, 'ndjson')} download>
        NDJSON
      </a>{' '}
      ·{' '}
      <a href={findingsExportHref(filters, 'ocsf')} download>
        OCSF
      </a>
      {pageOnly.length > 0 && (
        <span className="muted"> (by severity, state, host and analytic; not by {pageOnly.join(', ')})</span>
      )}
    </p>
  );
}
