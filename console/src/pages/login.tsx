/** Login: a token (from `coalmine serve token create` or `serve --demo`) becomes a cookie session. */
import { type FormEvent, useState } from 'react';
import { ApiError, login } from '../api';
import type { Session } from '../api-types';
import { Text } from '../text';

export function LoginPage(props: { onLogin: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    login(token.trim())
      .then((s) => {
        setToken('');
        props.onLogin(s);
      })
      .catch((err: unknown) => setError(err instanceof ApiError ? err.message : String(err)))
      .finally(() => setBusy(false));
  };
  return (
    <main className="login">
      <h1>coalmine</h1>
      <form onSubmit={submit}>
        <label>
          Token
          <input
            name="token"
            type="password"
            autoComplete="off"
            value={token}
            maxLength={256}
            onChange={(e) => setToken(e.target.value)}
            placeholder="cm_…"
            // biome-ignore lint/a11y/noAutofocus: the page's one field
            autoFocus
          />
        </label>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Log in
        </button>
        {error && (
          <p className="error" role="alert">
            <Text value={error} />
          </p>
        )}
      </form>
      <p className="hint">
        A token from <code>coalmine serve token create --role analyst</code>, or the one <code>serve --demo</code>{' '}
        printed.
      </p>
    </main>
  );
}
