import { useEffect, useRef, useState } from 'react';
import { ApiError, getJson, postJson } from '../api/client';

/**
 * Asks for the API token once per tab. It is checked with one GET before it is kept, so a wrong
 * token is told at once, with the API's reason. With a sign-in link's code, trades the code for
 * the token first (once); a used or expired code is told, and the form stays.
 */
export function LoginPage({ onToken, signInCode }: { onToken(token: string): void; signInCode?: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  // A code is good once: StrictMode's second effect run must not spend it again.
  const traded = useRef(false);
  useEffect(() => {
    if (!signInCode || traded.current) return;
    traded.current = true;
    setChecking(true);
    postJson<{ token: string }>('/auth/sign-in', { code: signInCode }).then(
      (answer) => onToken(answer.token),
      (failure: Error) => {
        setError(`The sign-in link did not work: ${failure.message}`);
        setChecking(false);
      },
    );
  }, [signInCode, onToken]);
  const submit = async () => {
    setChecking(true);
    setError(null);
    try {
      await getJson('/runs?limit=1', undefined, token.trim());
      onToken(token.trim());
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? `The API refused this token (${failure.message}). Use the token of FEATX_API_TOKEN, or the one the API generated into its state folder (featx CLI: --token).`
          : `Cannot reach the API: ${(failure as Error).message}`,
      );
    } finally {
      setChecking(false);
    }
  };
  return (
    <main className="login">
      <h1>featx console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label htmlFor="api-token">API token</label>
        <input id="api-token" name="api-token" type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} required aria-describedby={error ? 'login-error' : undefined} />
        <button type="submit" disabled={checking || token.trim() === ''}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
        <p className="hint">Kept for this tab only (sessionStorage); sent to the API as a bearer token.</p>
        {error && (
          <p id="login-error" role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
