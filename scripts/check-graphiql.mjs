#!/usr/bin/env node
// Browser check of the gateway's GraphiQL page, against a running gateway:
//
//   node scripts/check-graphiql.mjs http://127.0.0.1:PORT
//
// Loads <base>/graphql in Debian's headless Chromium (driven by playwright-core, which is a
// devDependency of gateway/web: `npm ci` there installs it; it never downloads a browser) and
//   1. waits for GraphiQL to render (container + query editor visible);
//   1b. opens the Docs pane and expects the schema there: the root types Query, Mutation and
//      Subscription and the schema's types listed, never "Error fetching schema" (GraphiQL
//      loads the schema with the standard introspection query, so this proves the gateway
//      answers it);
//   1c. types `{ menuI` into the editor and expects the completion list to offer `menuItems`;
//   2. runs `{ __typename }` through the Run button and expects `"__typename": "Query"`;
//   3. runs `subscription { __typename }` and expects GraphiQL to open a graphql-transport-ws
//      socket to <base host>/graphql/ws, get `connection_ack` and an answer (next/error), which
//      proves the subscription path without depending on the schema
//      (skip with CHECK_GRAPHIQL_SKIP_WS=1);
//   4. asserts every request the page made (HTTP and WebSocket) went to the gateway's own
//      host:port, i.e. the page works with no internet; that assets answered 200 with a JS/CSS
//      content type; and that the page threw no uncaught error nor hit a CSP refusal.
// Exits non-zero with a message on any failure; prints one summary line on success.
//
// Env: CHECK_GRAPHIQL_SCREENSHOT=/path.png  screenshot after the query (also on failure)
//      CHECK_GRAPHIQL_TIMEOUT_MS=20000      per-step timeout
//      CHROMIUM_PATH=/usr/bin/chromium      browser binary (Debian's `chromium` package)

import { baseUrlArg, CheckError, fail, openBrowser } from './lib/browser.mjs';

const TIMEOUT = Number(process.env.CHECK_GRAPHIQL_TIMEOUT_MS || 20000);
const SCREENSHOT = process.env.CHECK_GRAPHIQL_SCREENSHOT || '';
const SKIP_WS = process.env.CHECK_GRAPHIQL_SKIP_WS === '1';

const base = baseUrlArg('node scripts/check-graphiql.mjs http://127.0.0.1:PORT');
const pageUrl = new URL('/graphql', base).toString();
// With a token, the page is opened as /graphql#token=... (what scripts/up prints) and a query
// only a signed-in user may run must answer.
const TOKEN = process.env.CHECK_GRAPHIQL_TOKEN || '';
const ownHost = base.host; // host:port, as every request of the page must use

// --- the check -------------------------------------------------------------------------------

const wsFrames = []; // parsed graphql-transport-ws messages received on /graphql/ws
const wsErrors = []; // socket errors on /graphql/ws, e.g. a failed upgrade
let subscribing = false; // step 3 under way

let browser;
let page;
let requests = []; // every URL the page asked for, HTTP and WebSocket
let problems = []; // uncaught page errors, CSP refusals, bad asset answers

// The text of a GraphiQL CodeMirror 5 editor (the DOM only holds the visible lines).
const editorText = (selector) =>
  page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return el && el.CodeMirror ? el.CodeMirror.getValue() : null;
  }, selector);

async function run(query) {
  // Fill the operation editor through CodeMirror's API (typing would fight autocompletion).
  await page.evaluate((q) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q);
  }, query);
  // GraphiQL re-parses the editor after a short debounce, and the fetcher picks HTTP or
  // WebSocket (and the operation name) from that parsed document: wait until it is this query.
  await page.waitForFunction(
    (q) => {
      const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
      return cm.documentAST?.loc?.source?.body === q;
    },
    query,
    { timeout: TIMEOUT, polling: 50 },
  );
  await page.locator('.graphiql-execute-button').click({ timeout: TIMEOUT });
}

async function waitForResult(predicate, what) {
  const deadline = Date.now() + TIMEOUT;
  let last = null;
  while (Date.now() < deadline) {
    last = await editorText('.result-window .CodeMirror');
    if (last && predicate(last)) return last;
    await page.waitForTimeout(100);
  }
  fail(`timed out after ${TIMEOUT} ms waiting for ${what}; result pane shows:\n${last ?? '(nothing)'}`);
}

async function main() {
  browser = await openBrowser({
    ownHost,
    // GraphiQL 3 shows a subscription's GraphQL errors (a graphql-transport-ws `error` frame)
    // in the result pane but also leaves them as an unhandled rejection; that one is expected.
    expectedPageError: () => subscribing && wsFrames.some((f) => f.type === 'error'),
  });
  ({ requests, problems } = browser);
  // The asset route must answer with usable content types (browsers refuse CSS served otherwise).
  browser.context.on('response', (res) => {
    const { pathname } = new URL(res.url());
    if (!pathname.startsWith('/graphiql/assets/')) return;
    const type = res.headers()['content-type'] || '(none)';
    const want = pathname.endsWith('.js') ? /javascript/ : pathname.endsWith('.css') ? /^text\/css/ : null;
    if (res.status() !== 200) problems.push(`${pathname} answered ${res.status()}`);
    else if (want && !want.test(type)) problems.push(`${pathname} served as ${type}`);
  });
  page = await browser.page();
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).pathname !== '/graphql/ws') return;
    ws.on('socketerror', (err) => wsErrors.push(String(err)));
    ws.on('framereceived', ({ payload }) => {
      try {
        wsFrames.push(JSON.parse(String(payload)));
      } catch {
        wsFrames.push({ type: '(unparsable)', payload: String(payload) });
      }
    });
  });

  // 1. GraphiQL renders.
  const response = await page.goto(TOKEN ? `${pageUrl}#token=${TOKEN}` : pageUrl, { waitUntil: 'load', timeout: TIMEOUT });
  if (!response || !response.ok()) fail(`GET ${pageUrl} answered ${response ? response.status() : 'nothing'}`);
  try {
    await page.locator('.graphiql-container').waitFor({ state: 'visible', timeout: TIMEOUT });
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    const body = (await page.locator('body').innerText().catch(() => '')).slice(0, 500);
    fail(`GraphiQL did not render within ${TIMEOUT} ms (missing assets?). Page text:\n${body}`);
  }

  // 1b. The Docs pane lists the schema.
  await page.getByRole('button', { name: 'Show Documentation Explorer' }).click({ timeout: TIMEOUT });
  const docs = page.locator('section[aria-label="Documentation Explorer"]');
  await docs.waitFor({ state: 'visible', timeout: TIMEOUT });
  const docsDeadline = Date.now() + TIMEOUT;
  let docsText = '';
  while (Date.now() < docsDeadline) {
    docsText = await docs.innerText();
    if (/Root Types/.test(docsText) || /Error fetching schema/.test(await page.locator('body').innerText())) break;
    await page.waitForTimeout(100);
  }
  const bodyText = await page.locator('body').innerText();
  if (/Error fetching schema/.test(bodyText)) fail(`GraphiQL says "Error fetching schema":\n${bodyText.slice(0, 800)}`);
  for (const expected of ['Root Types', 'Query', 'Mutation', 'Subscription', 'All Schema Types', 'MenuItem', 'Movie', 'Order']) {
    if (!docsText.includes(expected)) fail(`the Docs pane does not list ${expected}; it shows:\n${docsText.slice(0, 800)}`);
  }
  const typesListed = (docsText.split('All Schema Types')[1] || '').split('\n').filter((line) => line.trim()).length;

  // 1c. Typing offers completions from the schema.
  const editor = page.locator('.graphiql-query-editor .CodeMirror');
  await page.evaluate(() => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('');
  });
  await editor.click({ timeout: TIMEOUT });
  await page.keyboard.type('{ menuI', { delay: 50 });
  const hints = page.locator('.CodeMirror-hints');
  try {
    await hints.waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    fail('typing "{ menuI" in the editor offered no completions');
  }
  const offered = await hints.innerText();
  if (!offered.includes('menuItems')) fail(`completions for "{ menuI" do not offer menuItems: ${offered}`);
  await page.keyboard.press('Escape');

  // 2. A query over HTTP POST /graphql.
  await run('{ __typename }');
  const text = await waitForResult((t) => /"__typename"|"errors"/.test(t), 'the query result');
  let typename;
  try {
    typename = JSON.parse(text)?.data?.__typename;
  } catch {
    fail(`result pane is not JSON:\n${text}`);
  }
  if (typeof typename !== 'string') fail(`query { __typename } gave no data.__typename:\n${text}`);
  if (typename !== 'Query') fail(`the query root type is "${typename}", not "Query"`);
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT });

  // 2b. Signed in through the link: the token reached the Headers tab and goes with queries.
  let tokenSummary = 'no token given';
  if (TOKEN) {
    await page.evaluate(() => {
      document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('');
    });
    await run('{ orders(customerId: "graphiql-check") { nodes { id } } }');
    const signedIn = await waitForResult((t) => /"orders"|"errors"/.test(t), 'the signed-in query result');
    if (!/"orders":\s*\{/.test(signedIn)) fail(`a query needing a token failed in GraphiQL opened with #token=:\n${signedIn}`);
    if (page.url().includes('token=')) fail('the token stayed in the address bar');
    tokenSummary = 'a token from #token= signs queries in';
  }

  // 3. A subscription over graphql-transport-ws at /graphql/ws.
  let wsSummary = 'subscriptions skipped';
  if (!SKIP_WS) {
    await page.evaluate(() => {
      document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('');
    });
    subscribing = true;
    await run('subscription { __typename }');
    const deadline = Date.now() + TIMEOUT;
    const answered = () => wsFrames.some((f) => ['next', 'error', 'complete'].includes(f.type));
    while (Date.now() < deadline && !answered()) await page.waitForTimeout(100);
    const wsUrls = requests.filter((u) => /^wss?:/.test(u));
    if (!wsUrls.some((u) => new URL(u).pathname === '/graphql/ws')) {
      fail(`GraphiQL opened no WebSocket to /graphql/ws for a subscription (sockets: ${wsUrls.join(', ') || 'none'})`);
    }
    if (!wsFrames.some((f) => f.type === 'connection_ack')) {
      fail(
        `no graphql-transport-ws connection_ack on /graphql/ws; ` +
          `socket errors: ${wsErrors.join('; ') || 'none'}; frames: ${JSON.stringify(wsFrames)}`,
      );
    }
    if (!answered()) fail(`the server never answered the subscription on /graphql/ws; frames: ${JSON.stringify(wsFrames)}`);
    wsSummary = `subscription answered over ${wsUrls[0]}`;
  }

  // 4. Nothing left the gateway.
  const foreign = browser.foreignRequests();
  if (foreign.length) fail(`the page made requests to other hosts than ${ownHost}:\n  ${foreign.join('\n  ')}`);
  if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);

  console.log(
    `check-graphiql: OK: ${pageUrl} rendered GraphiQL, the Docs pane lists ${typesListed} types, ` +
      `"{ menuI" completes to menuItems, { __typename } -> "${typename}", ` +
      `${tokenSummary}, ${wsSummary}, ${requests.length} requests all to ${ownHost}`,
  );
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  console.error(`check-graphiql: FAILED: ${err instanceof Error ? err.message : err}`);
  if (requests.length) console.error(`check-graphiql: requests made:\n  ${requests.join('\n  ')}`);
  if (SCREENSHOT && page) await page.screenshot({ path: SCREENSHOT }).catch(() => {});
} finally {
  if (browser) await browser.close();
}
process.exit(code);
