/**
 * Log in with the gateway's API token. Reads may be open on the gateway, so the token is checked with the cheapest
 * operation that needs it: `mutation { __typename }` — a mutation (the gateway's operation guard refuses it without
 * a valid token, HTTP 401 UNAUTHENTICATED) that changes nothing and sends nothing to the orchestrator.
 */
import { useState, type FormEvent } from 'react';
import { clearToken, gql, NotAuthenticated, setToken } from '../api/client';
import { navigate } from '../route';
import { ErrorBox } from '../ui/ErrorBox';

export const VERIFY_TOKEN = 'mutation VerifyToken { __typename }';

export function LoginPage() {
  const [token, setTokenText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('enter the API token the gateway was started with (TANDEM_API_TOKEN; `tandem stack` prints it)');
      return;
    }
    setBusy(true);
    setError(undefined);
    setToken(value);
    try {
      await gql<{ __typename: string }>(VERIFY_TOKEN);
      navigate('/fleet');
    } catch (e) {
      clearToken();
      setError(e instanceof NotAuthenticated ? `The gateway refused this token: ${e.message}` : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card login" onSubmit={submit} data-testid="login-view">
      <h2>Tandem console</h2>
      <p className="muted">Log in with the gateway's API token. It stays in this tab's session storage.</p>
      <p>
        <input
          type="password"
          autoComplete="current-password"
          placeholder="API token"
          data-testid="login-token"
          value={token}
          onChange={(e) => setTokenText(e.target.value)}
          style={{ width: '100%', boxSizing: 'border-box' }}
        />
      </p>
      <ErrorBox error={error} data-testid="login-error" />
      <p>
        <button className="primary" type="submit" disabled={busy} data-testid="login-submit">
          Log in
        </button>
      </p>
    </form>
  );
}
