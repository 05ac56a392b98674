// Signing in. /app/login?role=customer&sub=c-1 signs in at once through the development
// sign-in (POST /auth/dev-token, on only when the gateway runs with GATEWAY_DEV_LOGIN=true)
// and returns to the menu (or to ?next=/app/...). Without the development sign-in, a token
// from the identity provider can be pasted.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, devLoginEnabled, devToken } from '../api';
import { navigate } from '../router';
import { session, signIn } from '../session';
import { ErrorMessage, Loading, Page } from '../ui';

const ROLES = ['customer', 'courier', 'admin'];

/** Where to go after signing in: a page of this app only, never another site. */
function nextPath(query: URLSearchParams): string {
  const next = query.get('next') ?? '';
  return /^\/app\/[^/]/.test(next) || next === '/app/' ? next.slice('/app'.length) : '/';
}

export function Login({ query }: { query: URLSearchParams }) {
  const [dev, setDev] = useState<boolean | null>(null);
  const [role, setRole] = useState(ROLES.includes(query.get('role') ?? '') ? query.get('role')! : 'customer');
  const [sub, setSub] = useState(query.get('sub') ?? '');
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const linked = query.get('role') && query.get('sub');

  async function devSignIn(r: string, s: string) {
    setError(null);
    setBusy(true);
    try {
      const token = await devToken(r, s);
      if (token === null) {
        setDev(false);
        setError(new ApiError('Development sign-in is off on this gateway (production). Paste a token from your identity provider instead.', 'FAILED_PRECONDITION'));
        return;
      }
      const problem = signIn(token);
      if (problem) throw new ApiError(problem, 'INVALID_ARGUMENT');
      navigate(nextPath(query), { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    if (linked) devSignIn(query.get('role')!, query.get('sub')!);
    else devLoginEnabled().then(setDev);
  }, []);

  const who = session();
  return (
    <Page title="Sign in">
      {who && (
        <p>
          You are signed in as <strong>{who.sub}</strong> ({who.roles.join(', ')}). Signing in again replaces that.
        </p>
      )}
      {busy && <Loading what="your sign-in" />}
      <ErrorMessage error={error} />
      {dev === null && !linked && <Loading what="the sign-in options" />}
      {dev !== false && (
        <section aria-labelledby="dev-heading">
          <h2 id="dev-heading">Development sign-in</h2>
          <p class="muted">
            For development only: the gateway hands out a token for any role. A link like <code>/app/login?role=customer&amp;sub=c-1</code> signs in
            directly.
          </p>
          <form
            class="form"
            onSubmit={(e) => {
              e.preventDefault();
              devSignIn(role, sub.trim());
            }}
          >
            <label for="role">Role</label>
            <select id="role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <label for="sub">Subject (who you are, e.g. c-1)</label>
            <input id="sub" required value={sub} onInput={(e) => setSub(e.currentTarget.value)} />
            <button type="submit" disabled={busy}>
              Sign in
            </button>
          </form>
        </section>
      )}
      {dev === false && <p>Development sign-in is off on this gateway.</p>}
      <section aria-labelledby="token-heading">
        <h2 id="token-heading">Sign in with a token</h2>
        <form
          class="form"
          onSubmit={(e) => {
            e.preventDefault();
            const problem = signIn(pasted);
            if (problem) setError(new ApiError(problem, 'INVALID_ARGUMENT'));
            else navigate(nextPath(query), { replace: true });
          }}
        >
          <label for="token">Bearer token (a JWT)</label>
          <textarea id="token" rows={3} required value={pasted} onInput={(e) => setPasted(e.currentTarget.value)} />
          <button type="submit">Use this token</button>
        </form>
      </section>
    </Page>
  );
}
