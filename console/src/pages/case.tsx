/**
 * One case: its findings and exports, the playbook checklist (tick steps), notes, the audit trail and the state
 * changes New → Triaged → Escalated → Contained → Closed (true positive, benign, false positive), forward
 * only, a state may be skipped (a Tier 2 case is offered escalation at once; a false positive is closed
 * from New). Closing as benign offers the allowlist entries its findings suggest, one per executable
 * and host, each to keep or drop (owner, reason and expiry required). Every change sends the case's version, so a change over someone else's is a 409
 * shown as such, and the page reloads. A viewer sees no change controls.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, apiGet, apiSend, seg } from '../api';
import {
  type AllowlistInput,
  type CaseDetail,
  type CaseState,
  type FindingDetail,
  NEXT_STATES,
  RESOLUTIONS,
  type Resolution,
  type StoredCase,
} from '../api-types';
import { useLive } from '../live';
import { Link } from '../router';
import { canWork, useSession } from '../session';
import { Text, visible, when } from '../text';
import { useApi } from '../use-api';
import { caseExportHref, type EntryCandidate, entryCandidates, suggestedExpiry } from '../view-model';

const STATE_LABEL: Record<CaseState, string> = {
  new: 'New',
  triaged: 'Triaged',
  escalated: 'Escalated',
  contained: 'Contained',
  closed: 'Closed',
};
/** What moving a case to the state says, on its button. */
const STATE_MEANING: Record<CaseState, string> = {
  new: 'not yet looked at',
  triaged: 'L1 checks done',
  escalated: 'handed to Tier 2',
  contained: 'containment carried out',
  closed: 'closed with a resolution',
};
const RESOLUTION_LABEL: Record<Resolution, string> = {
  'true-positive': 'true positive',
  benign: 'benign',
  'false-positive': 'false positive',
};

export function CasePage(props: { id: string }) {
  const session = useSession();
  const work = canWork(session);
  const detail = useApi<CaseDetail>(`/cases/${seg(props.id)}`);
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  useLive((c) => {
    if (c.kind === 'reset' || (c.kind === 'case' && c.id === props.id)) detail.reload();
  });

  if (detail.error)
    return (
      <main>
        <p className="error" role="alert">
          <Text value={detail.error.message} />
        </p>
        <Link to="/cases">Back to cases</Link>
      </main>
    );
  if (!detail.data) return <main className="loading">Loading…</main>;
  const c = detail.data.case;

  /** One change: the case as answered (then the trail is read again), or the server's reason. */
  const change = async (path: string, body: Record<string, unknown>): Promise<StoredCase | undefined> => {
    setBusy(true);
    setProblem(undefined);
    try {
      const after = await apiSend<StoredCase>('POST', `/cases/${seg(c.id)}${path}`, { ...body, version: c.version });
      detail.reload();
      return after;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setProblem(`Someone changed this case meanwhile; it is shown as it is now. (${err.message})`);
        detail.reload();
      } else setProblem(err instanceof Error ? err.message : String(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="case">
      <p className="crumbs">
        <Link to="/cases">Cases</Link> › <Text value={c.id} />
      </p>
      <h1>
        <span className={`sev sev-${c.severity}`}>{c.severity}</span> <Text value={c.title} max={300} />
      </h1>
      <p className="state-line">
        <span className={`state state-${c.state}`} data-testid="case-state">
          {STATE_LABEL[c.state] ?? visible(c.state)}
        </span>
        {c.resolution && <span data-testid="case-resolution"> — {RESOLUTION_LABEL[c.resolution]}</span>}
        {c.reopened > 0 && <span className="badge">reopened ×{c.reopened}</span>}
        <span className="muted">
          {' '}
          {visible(c.tier)} · assignee {c.assignee ? <Text value={c.assignee} max={60} /> : 'nobody'} · updated{' '}
          {when(c.updated_at)}
        </span>
        {work && c.assignee !== session.name && (
          <button
            type="button"
            className="link"
            disabled={busy}
            onClick={() => change('/assign', { assignee: session.name })}
          >
            assign to me
          </button>
        )}
      </p>
      {problem && (
        <p className="error" role="alert">
          <Text value={problem} />
        </p>
      )}
      {work && <Transitions c={c} busy={busy} change={change} findingIds={detail.data.findings.map((f) => f.id)} />}
      <section>
        <h2>Findings</h2>
        <ul>
          {detail.data.findings.map((f) => (
            <li key={f.id}>
              <span className={`sev sev-${f.severity}`}>{f.severity}</span>{' '}
              <Link to={`/findings/${seg(f.id)}`}>{visible(f.title).slice(0, 200)}</Link>{' '}
              <span className="muted">
                {visible(f.analytic)} on <Text value={f.host} max={60} />, last seen {when(f.last_seen)}, rev{' '}
                {f.revision}
              </span>
            </li>
          ))}
        </ul>
        {c.findings.length > detail.data.findings.length && (
          <p className="muted">and {c.findings.length - detail.data.findings.length} more</p>
        )}
        <p className="exports">
          Export:{' '}
          <a href={caseExportHref(c.id, 'ocsf-incident')} download>
            OCSF incident
          </a>{' '}
          (the case with its state, assignee and verdict) · its findings as{' '}
          <a href={caseExportHref(c.id, 'ndjson')} download>
            NDJSON
          </a>{' '}
          or{' '}
          <a href={caseExportHref(c.id, 'ocsf')} download>
            OCSF
          </a>
        </p>
      </section>
      <section>
        <h2>Checklist</h2>
        <ul className="checklist">
          {c.checklist.map((s) => (
            <li key={s.id}>
              {work ? (
                <label>
                  <input
                    type="checkbox"
                    checked={s.done_at !== null}
                    disabled={busy}
                    data-step={s.id}
                    onChange={(e) => change(`/checklist/${seg(s.id)}`, { done: e.target.checked })}
                  />{' '}
                  <Text value={s.label} max={300} />
                </label>
              ) : (
                // a viewer sees the state of each step, not a control
                <span>
                  <span className={s.done_at !== null ? 'done' : 'todo'}>{s.done_at !== null ? '✓' : '○'}</span>{' '}
                  <Text value={s.label} max={300} />
                </span>
              )}
              {s.done_by && (
                <span className="muted">
                  {' '}
                  — <Text value={s.done_by} max={60} />, {when(s.done_at)}
                </span>
              )}
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Notes</h2>
        {c.notes.length === 0 && <p className="muted">No notes yet.</p>}
        <ul className="notes">
          {c.notes.map((n) => (
            <li key={n.id}>
              <div className="muted">
                <Text value={n.author} max={60} />, {when(n.created_at)}
              </div>
              <div className="note-text">
                <Text value={n.text} max={2000} lines />
              </div>
            </li>
          ))}
        </ul>
        {work && <NoteForm busy={busy} add={(text) => change('/notes', { text })} />}
      </section>
      <section>
        <h2>Audit trail</h2>
        <table className="audit">
          <tbody>
            {detail.data.audit.map((a) => (
              <tr key={a.id}>
                <td className="nowrap">{when(a.at)}</td>
                <td>
                  <Text value={a.actor} max={60} />
                </td>
                <td>
                  <Text value={a.action} max={60} />
                </td>
                <td className="muted">
                  <Text value={JSON.stringify(a.detail)} max={200} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}

function NoteForm(props: { busy: boolean; add: (text: string) => Promise<StoredCase | undefined> }) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void props.add(text.trim()).then((after) => {
      if (after) setText('');
    });
  };
  return (
    <form className="note-form" onSubmit={submit}>
      <textarea
        name="note"
        aria-label="New note"
        value={text}
        maxLength={16384}
        rows={3}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit" disabled={props.busy || text.trim() === ''}>
        Add note
      </button>
    </form>
  );
}

/** Findings read to suggest allowlist entries from (a case page lists at most 500; entries are per executable). */
const MAX_SUGGESTING = 20;

function Transitions(props: {
  c: StoredCase;
  busy: boolean;
  findingIds: string[];
  change: (path: string, body: Record<string, unknown>) => Promise<StoredCase | undefined>;
}) {
  const { c } = props;
  const [resolution, setResolution] = useState<Resolution>('true-positive');
  const [owner, setOwner] = useState('');
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState('');
  const [candidates, setCandidates] = useState<EntryCandidate[]>();
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [allowlistNote, setAllowlistNote] = useState<string>();
  const next = NEXT_STATES[c.state] ?? [];
  const moves = next.filter((s) => s !== 'closed');
  const benign = resolution === 'benign';
  // the finding's own triage says Tier 2: escalation is the move it calls for
  const tier2 = c.tier === 'Tier 2' && moves.includes('escalated');
  const ids = props.findingIds.slice(0, MAX_SUGGESTING).join('\n');

  // benign: the entries the case's findings suggest, read once the analyst picks it
  useEffect(() => {
    if (!benign) return;
    const abort = new AbortController();
    Promise.all(
      ids
        .split('\n')
        .filter((id) => id !== '')
        .map((id) => apiGet<FindingDetail>(`/findings/${seg(id)}`, undefined, abort.signal).then((d) => d.finding)),
    )
      .then((findings) => {
        const found = entryCandidates(findings);
        setCandidates(found);
        setChosen(new Set(found.map((e) => e.key)));
        setExpires((e) => e || found.find((x) => x.expires)?.expires || suggestedExpiry(undefined));
      })
      .catch((err: unknown) => {
        if (!abort.signal.aborted) setAllowlistNote(`The findings could not be read: ${String(err)}`);
      });
    return () => abort.abort();
  }, [benign, ids]);

  const resolve = async (e: FormEvent) => {
    e.preventDefault();
    setAllowlistNote(undefined);
    // the entries first: a case closed as benign without them would come back with the next data
    const entries = benign ? (candidates ?? []).filter((x) => chosen.has(x.key)) : [];
    try {
      for (const x of entries) {
        const entry: AllowlistInput = {
          match: x.match,
          analytics: x.analytics,
          owner: owner.trim(),
          reason: reason.trim(),
          expires,
        };
        await apiSend('POST', '/allowlist', entry);
      }
    } catch (err) {
      setAllowlistNote(`An allowlist entry was not created: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (entries.length > 0)
      setAllowlistNote(`${entries.length} allowlist entr${entries.length === 1 ? 'y' : 'ies'} created.`);
    await props.change('/transitions', { to: 'closed', resolution });
  };

  if (c.state === 'closed')
    return (
      <p className="muted">
        Closed {when(c.resolved_at)}. A rise or a recurrence of its finding reopens it.
        {allowlistNote && <> {allowlistNote}</>}
      </p>
    );
  return (
    <section className="transitions">
      <h2>State</h2>
      <div className="moves">
        {moves.map((s) => (
          <button
            key={s}
            type="button"
            title={STATE_MEANING[s]}
            className={tier2 && s === 'escalated' ? 'suggested' : undefined}
            disabled={props.busy}
            onClick={() => props.change('/transitions', { to: s })}
          >
            {STATE_LABEL[s]}
          </button>
        ))}
      </div>
      {tier2 && <p className="muted">Its triage says Tier 2: escalate it (the states between may be skipped).</p>}
      {next.includes('closed') && (
        <form className="resolve" onSubmit={resolve}>
          <label>
            Resolution{' '}
            <select name="resolution" value={resolution} onChange={(e) => setResolution(e.target.value as Resolution)}>
              {RESOLUTIONS.map((r) => (
                <option key={r} value={r}>
                  {RESOLUTION_LABEL[r]}
                </option>
              ))}
            </select>
          </label>
          {benign && (
            <fieldset>
              <legend>Allowlist entries it suggests</legend>
              {candidates === undefined && <span className="muted">Reading the findings…</span>}
              {candidates?.length === 0 && <span className="muted">The findings suggest no entry.</span>}
              {candidates?.map((x) => (
                <label key={x.key} className="candidate">
                  <input
                    type="checkbox"
                    checked={chosen.has(x.key)}
                    onChange={(e) =>
                      setChosen((was) => {
                        const now = new Set(was);
                        if (e.target.checked) now.add(x.key);
                        else now.delete(x.key);
                        return now;
                      })
                    }
                  />{' '}
                  {x.match.executable !== undefined ? (
                    <>
                      executable <Text value={x.match.executable} max={120} /> on{' '}
                    </>
                  ) : (
                    'anything on '
                  )}
                  host <Text value={x.match.host} max={80} /> ({visible(x.analytics.join(', '))})
                </label>
              ))}
              {chosen.size > 0 && (
                <>
                  <label>
                    Owner{' '}
                    <input
                      name="owner"
                      required
                      maxLength={256}
                      value={owner}
                      onChange={(e) => setOwner(e.target.value)}
                    />
                  </label>
                  <label>
                    Reason{' '}
                    <input
                      name="reason"
                      required
                      maxLength={2048}
                      value={reason}
                      onChange={(e) => setReason(e.target.value)}
                    />
                  </label>
                  <label>
                    Expires{' '}
                    <input
                      name="expires"
                      type="date"
                      required
                      value={expires}
                      onChange={(e) => setExpires(e.target.value)}
                    />
                  </label>
                </>
              )}
            </fieldset>
          )}
          <button type="submit" disabled={props.busy}>
            Close
          </button>
          {allowlistNote && <p className="muted">{allowlistNote}</p>}
        </form>
      )}
    </section>
  );
}
