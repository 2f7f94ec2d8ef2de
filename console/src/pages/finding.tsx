/**
 * One finding: the decision and its reasons, the evidence timeline with the CPU chart, the process tree
 * (or the facts of a container or instance), the playbook's four questions with what answered them,
 * containment commands with copy buttons, cost, gaps, the allowlist entry it suggests, its case.
 */
import { useMemo, useState } from 'react';
import { seg } from '../api';
import type { Finding, FindingDetail, ProcessFacts, StoredCase } from '../api-types';
import { CpuChart } from '../cpu-chart';
import { useLive } from '../live';
import { Link } from '../router';
import { Text, visible, visibleLines, when } from '../text';
import { useApi } from '../use-api';
import { computeHours, hostScope, type ProcessNode, processForest } from '../view-model';

export function FindingPage(props: { id: string }) {
  const detail = useApi<FindingDetail>(`/findings/${seg(props.id)}`);
  // the case holding it (null until ingest files one: a case change then says so)
  const held = useApi<{ case: StoredCase | null }>(`/findings/${seg(props.id)}/case`);
  useLive((c) => {
    if (c.kind === 'reset' || (c.kind === 'finding' && c.id === props.id)) detail.reload();
    if (c.kind === 'reset' || c.kind === 'case') held.reload();
  });
  const theCase = held.data?.case ?? undefined;

  if (detail.error)
    return (
      <main>
        <p className="error" role="alert">
          <Text value={detail.error.message} />
        </p>
        <Link to="/findings">Back to findings</Link>
      </main>
    );
  if (!detail.data) return <main className="loading">Loading…</main>;
  const f = detail.data.finding;
  return (
    <main className="finding">
      <p className="crumbs">
        <Link to="/findings">Findings</Link> › <Text value={f.id} />
        {theCase && (
          <>
            {' '}
            · case <Link to={`/cases/${seg(theCase.id)}`}>{visible(theCase.title).slice(0, 80)}</Link> (
            {theCase.state.replace('_', ' ')})
          </>
        )}
      </p>
      <h1>
        <span className={`sev sev-${f.severity}`}>{f.severity}</span> <Text value={f.title} max={300} />
      </h1>
      <dl className="facts-line">
        <dt>analytic</dt>
        <dd>
          <Text value={f.analytic} /> {f.attack && f.attack.length > 0 && <Text value={f.attack.join(', ')} />}
        </dd>
        <HostFacts finding={f} />
        {f.confidence !== undefined && (
          <>
            <dt>confidence</dt>
            <dd>{Math.round(f.confidence * 100)}%</dd>
          </>
        )}
        <dt>seen</dt>
        <dd>
          {when(f.first_seen)} – {when(f.last_seen)}
        </dd>
        <dt>revision</dt>
        <dd>
          {detail.data.revision} of {detail.data.revisions.length}
        </dd>
      </dl>
      <Decision finding={f} />
      <section>
        <h2>Evidence timeline</h2>
        <CpuChart finding={f} />
        <Evidence finding={f} />
      </section>
      <Processes finding={f} />
      <Questions finding={f} />
      <Containment finding={f} />
      <Cost finding={f} />
      <section>
        <h2>Gaps</h2>
        {f.gaps && f.gaps.length > 0 ? (
          <ul>
            {f.gaps.map((g, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: gaps are a fixed list
              <li key={i}>
                <Text value={g} />
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">None named: every leg had the telemetry it needs.</p>
        )}
      </section>
      {f.context && f.context.length > 0 && (
        <section>
          <h2>Other detections nearby</h2>
          <ul>
            {f.context.map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: context is a fixed list
              <li key={i}>
                {when(c.time)} <Text value={c.level} /> <Text value={c.title} /> ({visible(c.relative)};{' '}
                <Text value={c.source} />)
              </li>
            ))}
          </ul>
        </section>
      )}
      <section>
        <h2>Allowlist entry it suggests</h2>
        <p className="muted">For an analyst who decides this use is approved (close its case as benign).</p>
        <pre className="code">{visibleLines(f.triage?.allowlist_suggestion ?? '')}</pre>
      </section>
    </main>
  );
}

/** Links to host pages, comma-separated: each name as text. */
function HostLinks(props: { names: string[] }) {
  return (
    <>
      {props.names.map((h, i) => (
        <span key={h}>
          {i > 0 && ', '}
          <Link to={`/hosts/${seg(h)}`}>{visible(h).slice(0, 120)}</Link>
        </span>
      ))}
    </>
  );
}

/**
 * Where the finding is: a host links to its page; a cluster or a cloud account is no host (the host
 * page would show it as one with nothing seen), so it is named as text and what runs on hosts is linked.
 */
function HostFacts(props: { finding: Finding }) {
  const scope = hostScope(props.finding);
  if (scope.kind === 'host')
    return (
      <>
        <dt>host</dt>
        <dd>
          <HostLinks names={[scope.name]} />
        </dd>
      </>
    );
  if (scope.kind === 'cluster')
    return (
      <>
        <dt>cluster</dt>
        <dd data-testid="finding-scope">
          <Text value={scope.name} max={120} />
          {scope.nodes.length > 0 && (
            <>
              {' '}
              (nodes <HostLinks names={scope.nodes} />)
            </>
          )}
        </dd>
      </>
    );
  return (
    <>
      <dt>cloud account</dt>
      <dd data-testid="finding-scope">
        <Text value={`${scope.provider} ${scope.account ?? ''}`.trim()} max={120} />
        {scope.hosts.length > 0 && (
          <>
            {' '}
            (hosts on its instances <HostLinks names={scope.hosts} />)
          </>
        )}
      </dd>
    </>
  );
}

function Decision(props: { finding: Finding }) {
  const f = props.finding;
  const esc = f.triage?.escalation;
  return (
    <section className="decision">
      <h2>Decision</h2>
      <p>
        <strong>{esc ? visible(esc.tier) : 'no triage'}</strong>
        {f.summary && (
          <>
            {' '}
            — <Text value={f.summary} />
          </>
        )}
        {f.legs && f.legs.length > 0 && <span className="muted"> (legs: {visible(f.legs.join(', '))})</span>}
      </p>
      {f.suppressed_by && (
        <p className="suppressed">
          Suppressed by <Text value={f.suppressed_by.list} />: <Text value={f.suppressed_by.match} /> (owner{' '}
          <Text value={f.suppressed_by.owner} />, until <Text value={f.suppressed_by.expires} />; reason{' '}
          <Text value={f.suppressed_by.reason} />)
        </p>
      )}
      {esc && esc.reasons.length > 0 && (
        <>
          <h3>Why</h3>
          <ul>
            {esc.reasons.map((r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: reasons are a fixed list
              <li key={i}>
                <Text value={r} max={400} />
              </li>
            ))}
          </ul>
        </>
      )}
      {esc && esc.next_steps.length > 0 && (
        <>
          <h3>Next steps</h3>
          <ol>
            {esc.next_steps.map((r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: steps are a fixed list
              <li key={i}>
                <Text value={r} max={400} />
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function Evidence(props: { finding: Finding }) {
  const evidence = [...(props.finding.evidence ?? [])].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  if (evidence.length === 0) return <p className="muted">No evidence listed.</p>;
  return (
    <table className="evidence">
      <thead>
        <tr>
          <th>time</th>
          <th>strength</th>
          <th>kind</th>
          <th>what</th>
          <th>source</th>
        </tr>
      </thead>
      <tbody>
        {evidence.map((e, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: evidence is a fixed list
          <tr key={i}>
            <td className="nowrap">{when(e.time)}</td>
            <td className="nowrap">
              <span className={`strength strength-${e.strength}`}>{visible(e.strength)}</span>
            </td>
            <td className="nowrap">
              <Text value={e.kind} max={40} />
            </td>
            <td>
              <Text value={e.explanation} max={300} />
              {e.intel && (
                <div className="muted">
                  intel <Text value={e.intel.set} /> <Text value={e.intel.version} max={60} />
                </div>
              )}
            </td>
            <td className="source">
              <Text value={e.source} max={80} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type TreeNode = ProcessNode<ProcessFacts>;

function TreeItem(props: { node: TreeNode; primary: string | undefined; depth: number }) {
  const { p } = props.node;
  return (
    <li className={p.entity === props.primary ? 'primary' : ''}>
      <span className="proc">
        <Text value={p.name ?? p.executable ?? p.entity} max={60} />
        {p.pid !== undefined && <span className="muted"> pid {p.pid}</span>}
        {p.user !== undefined && (
          <span className="muted">
            {' '}
            user <Text value={p.user} max={40} />
          </span>
        )}
      </span>
      {p.command_line !== undefined && (
        <div className="cmdline">
          <Text value={p.command_line} max={200} />
        </div>
      )}
      {props.node.children.length > 0 && props.depth < 64 && (
        <ul>
          {props.node.children.map((c) => (
            <TreeItem key={c.p.entity} node={c} primary={props.primary} depth={props.depth + 1} />
          ))}
        </ul>
      )}
    </li>
  );
}

function Processes(props: { finding: Finding }) {
  const f = props.finding;
  const forest = useMemo(() => processForest(f.processes ?? []), [f.processes]);
  const facts = Object.entries(f.facts ?? {});
  return (
    <section>
      <h2>{forest.length > 0 ? 'Process tree' : 'What ran'}</h2>
      {forest.length > 0 && (
        <ul className="tree">
          {forest.map((n) => (
            <TreeItem key={n.p.entity} node={n} primary={f.entity} depth={0} />
          ))}
        </ul>
      )}
      {facts.length > 0 && (
        <>
          <h3>{forest.length > 0 ? 'Facts' : 'Container / instance'}</h3>
          <table className="kv">
            <tbody>
              {facts.map(([k, v]) => (
                <tr key={k}>
                  <th>
                    <Text value={k} max={60} />
                  </th>
                  <td>
                    {Array.isArray(v) ? (
                      <ul className="plain">
                        {v.slice(0, 100).map((x, i) => (
                          // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
                          <li key={i}>
                            <Text value={x} />
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <Text value={v} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Questions(props: { finding: Finding }) {
  const questions = props.finding.triage?.questions ?? [];
  if (questions.length === 0) return null;
  return (
    <section>
      <h2>The four questions</h2>
      <ol className="questions">
        {questions.map((q) => (
          <li key={q.id}>
            <strong>
              <Text value={q.question} />
            </strong>{' '}
            <span className={q.status === 'answered' ? 'answered' : 'open'}>
              {q.status === 'answered' ? 'answered' : 'needs an analyst'}
            </span>
            <p>
              <Text value={q.answer} max={600} />
            </p>
            {q.evidence.length > 0 && (
              <p className="muted">
                answered by: <Text value={q.evidence.join(', ')} />
              </p>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

function CopyButton(props: { text: string }) {
  const [said, setSaid] = useState('');
  const copy = () => {
    navigator.clipboard
      .writeText(props.text)
      .then(() => setSaid('copied'))
      .catch(() => setSaid('select and copy: the browser refused'));
  };
  return (
    <>
      <button type="button" className="copy" onClick={copy}>
        Copy
      </button>
      {said && <span className="muted"> {said}</span>}
    </>
  );
}

function Containment(props: { finding: Finding }) {
  const plan = props.finding.triage?.containment;
  if (!plan || plan.steps.length === 0) return null;
  return (
    <section>
      <h2>Containment ({visible(plan.platform)})</h2>
      <p className="muted">Printed for you to run where it applies; coalmine runs nothing.</p>
      <ol className="plan">
        {plan.steps.map((s, i) => {
          // the commands are copied as coalmine wrote them (already quoted for a shell), shown with escapes visible
          const text = s.commands.join('\n');
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: a fixed plan
            <li key={i}>
              <strong>{visible(s.phase)}</strong>: <Text value={s.action} max={400} />
              {s.commands.length > 0 && (
                <div className="commands">
                  <pre className="code">{visibleLines(text)}</pre>
                  <CopyButton text={text} />
                </div>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function Cost(props: { finding: Finding }) {
  const t = props.finding.triage;
  if (!t) return null;
  const c = t.cost;
  return (
    <section>
      <h2>Cost</h2>
      {c ? (
        <p>
          {c.amount} {visible(c.currency)} —{' '}
          {c.instance_hours !== undefined
            ? `${c.instance_hours} instance-hours of ${visible(c.instance_type ?? '?')} at ${c.price_per_instance_hour ?? '?'}`
            : computeHours(c)}{' '}
          <span className="muted">({visible(c.basis)})</span>
        </p>
      ) : (
        <p className="muted">{t.cost_note ? visible(t.cost_note) : 'Not priced.'}</p>
      )}
    </section>
  );
}
