/**
 * The console's shell: the session (login when there is none), the top bar, the page for the path,
 * and the global keys (`g c` cases, `g f` findings, `?` the key list).
 */
import { useCallback, useEffect, useState } from 'react';
import { currentSession, logout, whenSessionEnds } from './api';
import type { Session } from './api-types';
import { closeLive } from './live';
import { CasePage } from './pages/case';
import { CoveragePage } from './pages/coverage';
import { FindingPage } from './pages/finding';
import { HostPage } from './pages/host';
import { LoginPage } from './pages/login';
import { QueuePage } from './pages/queue';
import { SensorsPage } from './pages/sensors';
import { Link, matchPath, navigate, useLocation } from './router';
import { SessionContext } from './session';
import { Text } from './text';

export const KEYS: Array<[string, string]> = [
  ['j / k', 'next / previous row'],
  ['Enter', 'open the selected row'],
  ['/', 'focus the filter'],
  ['g c', 'cases queue'],
  ['g f', 'findings queue'],
  ['?', 'show or hide these keys'],
  ['Esc', 'leave a field, close this list'],
];

/** A key typed into a field is the field's, not a shortcut. */
export function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

function Page() {
  const { path } = useLocation();
  if (path === '/' || path === '/cases') return <QueuePage kind="cases" />;
  if (path === '/findings') return <QueuePage kind="findings" />;
  const finding = matchPath('/findings/:id', path);
  if (finding) return <FindingPage id={finding.id} />;
  const theCase = matchPath('/cases/:id', path);
  if (theCase) return <CasePage id={theCase.id} />;
  const host = matchPath('/hosts/:name', path);
  if (host) return <HostPage name={host.name} />;
  if (path === '/coverage') return <CoveragePage />;
  if (path === '/sensors') return <SensorsPage />;
  return (
    <main>
      <h1>Not found</h1>
      <p>
        No page at <Text value={path} />. <Link to="/">Go to the queue</Link>.
      </p>
    </main>
  );
}

function KeyHelp(props: { onClose: () => void }) {
  return (
    <div className="keys" role="dialog" aria-label="Keyboard shortcuts">
      <h2>Keys</h2>
      <table>
        <tbody>
          {KEYS.map(([k, what]) => (
            <tr key={k}>
              <td>
                <kbd>{k}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={props.onClose}>
        Close
      </button>
    </div>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [problem, setProblem] = useState<string>();
  const [showKeys, setShowKeys] = useState(false);

  useEffect(() => {
    whenSessionEnds(() => {
      closeLive();
      setSession(null);
    });
    currentSession()
      .then(setSession)
      .catch((err: unknown) => setProblem(String(err instanceof Error ? err.message : err)));
  }, []);

  // `g` then a letter within a second: go somewhere
  const onKey = useCallback((e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape') setShowKeys(false);
    if (typingIn(e.target)) return;
    if (e.key === '?') {
      setShowKeys((v) => !v);
      e.preventDefault();
      return;
    }
    const last = pendingG;
    pendingG = 0;
    if (e.key === 'g') {
      pendingG = Date.now();
      return;
    }
    if (Date.now() - last < 1000) {
      if (e.key === 'c') navigate('/cases');
      else if (e.key === 'f') navigate('/findings');
      else if (e.key === 'v') navigate('/coverage');
      else if (e.key === 's') navigate('/sensors');
    }
  }, []);
  useEffect(() => {
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onKey]);

  if (problem)
    return (
      <main>
        <p className="error">
          The server did not answer: <Text value={problem} />
        </p>
      </main>
    );
  if (session === undefined) return <main className="loading">Loading…</main>;
  if (session === null) return <LoginPage onLogin={setSession} />;

  const signOut = () => {
    closeLive();
    logout()
      .catch(() => {})
      .finally(() => setSession(null));
  };
  return (
    <SessionContext.Provider value={session}>
      <header className="top">
        <strong className="brand">coalmine</strong>
        <nav>
          <Link to="/cases">Cases</Link>
          <Link to="/findings">Findings</Link>
          <Link to="/coverage">Coverage</Link>
          <Link to="/sensors">Sensors</Link>
        </nav>
        <span className="who">
          <Text value={session.name} max={40} /> <span className="role">({session.role})</span>
          <button type="button" className="link" onClick={() => setShowKeys((v) => !v)} title="Keyboard shortcuts (?)">
            keys
          </button>
          <button type="button" className="link" onClick={signOut}>
            Log out
          </button>
        </span>
      </header>
      {showKeys && <KeyHelp onClose={() => setShowKeys(false)} />}
      <Page />
    </SessionContext.Provider>
  );
}

let pendingG = 0;
