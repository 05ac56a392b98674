// The gateway's public GraphQL API: queries and mutations over POST /graphql, the
// orderUpdates subscription over graphql-transport-ws at /graphql/ws. Every failure becomes an
// ApiError with a sentence a person can read; no raw JSON reaches the page.

import { createClient, type Client } from 'graphql-ws';
import { session, signOut } from './session';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface GraphqlError {
  message?: string;
  extensions?: { code?: string };
}

/** A readable sentence for an error code and the gateway's own message. */
export function explain(code: string, message: string): string {
  const said = message.trim().replace(/\.$/, '');
  switch (code) {
    case 'UNAUTHENTICATED':
      return `Please sign in first (${said}).`;
    case 'FORBIDDEN':
      return `Your sign-in may not do this: ${said}.`;
    case 'RESOURCE_EXHAUSTED':
      return 'Too many requests at once; wait a second and try again.';
    case 'UNAVAILABLE':
      return `A service behind the gateway is not answering right now; try again in a moment (${said}).`;
    case 'DEADLINE_EXCEEDED':
      return 'The gateway took too long to answer; try again.';
    case 'NETWORK':
      return 'Cannot reach the gateway. Check your connection and try again.';
    default:
      return said ? `${said.charAt(0).toUpperCase()}${said.slice(1)}.` : 'Something went wrong.';
  }
}

function fromGraphql(errors: GraphqlError[]): ApiError {
  const first = errors[0] ?? {};
  const code = first.extensions?.code ?? 'UNKNOWN';
  return new ApiError(explain(code, first.message ?? ''), code);
}

function authHeaders(): Record<string, string> {
  const s = session();
  return s ? { Authorization: `Bearer ${s.token}` } : {};
}

/** Reads a JSON answer, or says in words why there is none. */
async function readJson(response: Response): Promise<any> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(
      explain(response.status >= 500 ? 'UNAVAILABLE' : 'UNKNOWN', `the gateway answered HTTP ${response.status} without a usable body`),
      `HTTP_${response.status}`,
    );
  }
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(explain('NETWORK', ''), 'NETWORK');
  }
}

/**
 * A GraphQL document as the page sends it, carrying the types graphql-codegen generated for its
 * answer and its variables (src/generated/graphql.ts); they exist only for tsc.
 */
export type Document<Result, Variables> = string & { readonly __result?: Result; readonly __variables?: Variables };

/**
 * Tags a document in src/queries.ts: graphql<MenuQuery, MenuQueryVariables>`query Menu ...`.
 * Codegen reads every graphql`...` literal; the text is sent as written, with the fragments
 * interpolated into it.
 */
export function graphql<Result = never, Variables = never>(text: TemplateStringsArray, ...fragments: string[]): Document<Result, Variables> {
  return text.reduce((all, part, i) => all + fragments[i - 1] + part);
}

/** Runs one GraphQL operation as the signed-in person; throws ApiError on any error. */
export async function gql<Result, Variables>(query: Document<Result, Variables>, variables: NoInfer<Variables>): Promise<Result> {
  const response = await post('/graphql', { query, variables }, authHeaders());
  const body = await readJson(response);
  if (Array.isArray(body?.errors) && body.errors.length) {
    const err = fromGraphql(body.errors);
    // A token the gateway no longer accepts (expired, another key): forget it.
    if (err.code === 'UNAUTHENTICATED' && session()) signOut();
    throw err;
  }
  if (!response.ok || body?.data == null) {
    const err = body?.error;
    throw new ApiError(explain(err?.code ?? `HTTP_${response.status}`, err?.message ?? `the gateway answered HTTP ${response.status}`), err?.code ?? 'UNKNOWN');
  }
  return body.data as Result;
}

/**
 * The development sign-in (POST /auth/dev-token, only when the gateway runs with
 * GATEWAY_DEV_LOGIN=true). Resolves to the token; null when the gateway has it turned off.
 */
export async function devToken(role: string, sub: string): Promise<string | null> {
  const response = await post('/auth/dev-token', { role, sub });
  if (response.status === 404) return null;
  const body = await readJson(response);
  if (!response.ok) {
    throw new ApiError(explain(body?.error?.code ?? 'UNKNOWN', body?.error?.message ?? `HTTP ${response.status}`), body?.error?.code ?? 'UNKNOWN');
  }
  return String(body.token);
}

/** Whether the gateway offers the development sign-in (it answers 404 when it does not). */
export async function devLoginEnabled(): Promise<boolean> {
  try {
    const response = await post('/auth/dev-token', {});
    return response.status !== 404;
  } catch {
    return false;
  }
}

// === Subscriptions ===

let client: Client | null = null;
let clientToken: string | undefined;

/** One WebSocket per sign-in, opened when the first subscription starts. */
function wsClient(): Client {
  const token = session()?.token;
  if (client && clientToken === token) return client;
  client?.dispose();
  clientToken = token;
  const url = new URL('/graphql/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  client = createClient({
    url: url.toString(),
    connectionParams: () => (token ? { Authorization: `Bearer ${token}` } : {}),
    lazy: true,
    retryAttempts: 8,
    // Our server pings every 15 s; graphql-ws answers with pong by itself.
  });
  return client;
}

export interface Subscription {
  stop(): void;
}

/** Subscribes; `next` gets each result's data, `error` a readable ApiError. */
export function subscribe<Result, Variables>(
  query: Document<Result, Variables>,
  variables: NoInfer<Variables>,
  handlers: { next: (data: Result) => void; error: (err: ApiError) => void; connected?: () => void },
): Subscription {
  const c = wsClient();
  const off = handlers.connected ? c.on('connected', handlers.connected) : () => {};
  const stop = c.subscribe<Result>(
    { query, variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors?.length) handlers.error(fromGraphql(result.errors as GraphqlError[]));
        else if (result.data) handlers.next(result.data as Result);
      },
      error: (err) => {
        if (Array.isArray(err)) handlers.error(fromGraphql(err as GraphqlError[]));
        else if (err instanceof CloseEvent) handlers.error(new ApiError(explain('UNAVAILABLE', err.reason || `the live connection closed (${err.code})`), 'UNAVAILABLE'));
        else handlers.error(new ApiError(explain('NETWORK', ''), 'NETWORK'));
      },
      complete: () => {},
    },
  );
  return {
    stop() {
      off();
      stop();
    },
  };
}
