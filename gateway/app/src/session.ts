// Who is signed in: the bearer token and what it says (sub, roles, exp), kept in localStorage
// so a reload or a second tab stays signed in. The token is only ever sent to this gateway.

export type Role = 'customer' | 'courier' | 'admin';

export interface Session {
  token: string;
  sub: string;
  roles: string[];
  /** Seconds since the epoch. */
  exp: number;
}

const KEY = 'mesh.session';
const listeners = new Set<() => void>();

/** The claims of a JWT, or null when it is not one (the gateway checks the signature). */
export function claimsOf(token: string): Omit<Session, 'token'> | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json);
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return null;
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r: unknown) => typeof r === 'string') : [];
    return { sub: claims.sub, roles, exp: claims.exp };
  } catch {
    return null;
  }
}

let current: Session | null = load();

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    if (!session.token || session.exp * 1000 <= Date.now()) {
      localStorage.removeItem(KEY);
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

export function session(): Session | null {
  if (current && current.exp * 1000 <= Date.now()) signOut();
  return current;
}

export function hasRole(role: Role): boolean {
  return session()?.roles.includes(role) ?? false;
}

/** Signs in with a token; returns an error sentence when it is not a usable JWT. */
export function signIn(token: string): string | null {
  const claims = claimsOf(token);
  if (!claims) return 'That is not a token (a JWT has three parts separated by dots).';
  if (claims.exp * 1000 <= Date.now()) return 'That token has expired; get a new one.';
  current = { token: token.trim(), ...claims };
  localStorage.setItem(KEY, JSON.stringify(current));
  listeners.forEach((fn) => fn());
  return null;
}

export function signOut() {
  current = null;
  localStorage.removeItem(KEY);
  listeners.forEach((fn) => fn());
}

export function onSessionChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
