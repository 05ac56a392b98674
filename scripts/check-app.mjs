#!/usr/bin/env node
// Browser check of the web page for people (/app/), against a running mesh:
//
//   node scripts/check-app.mjs http://127.0.0.1:PORT
//
// In Debian's headless Chromium (lib/browser.mjs: no request may leave the machine), as a person
// would, by roles and labels:
//   1. `/` lands on /app/ and shows the menu by category, with prices and availability;
//   2. an item's link opens /app/menu/<id>; loading that URL afresh shows it too;
//   3. /app/login?role=customer&sub=... signs in and returns to the menu;
//   4. the item goes into the cart, the cart places the order, the order page shows PAID;
//   5. a courier (a second tab, signed in through the sign-in form) moves the delivery step by
//      step in the courier view, and the customer's order page follows each step live: no
//      reload (a marker set on its window survives, no navigation happened);
//   6. "My orders" lists the order; another customer gets a readable "not found", not JSON;
//   7. an admin adds a menu item with an allergen and a movie, edits both, and the title search
//      finds the movie;
//   8. at phone width (375 px) the pages fit without sideways scrolling; Tab reaches the skip
//      link first;
//   9. every request (HTTP and WebSocket) went to the gateway, no page error, no CSP refusal.
// Screenshots of each page go to .run/artifacts/app/ (CHECK_APP_ARTIFACTS), also on failure.
//
// Env: CHECK_APP_TIMEOUT_MS=20000   per-step timeout
//      CHECK_APP_ARTIFACTS=DIR      where the screenshots go

import fs from 'node:fs';
import path from 'node:path';
import { baseUrlArg, CheckError, fail, openBrowser, REPO } from './lib/browser.mjs';

const TIMEOUT = Number(process.env.CHECK_APP_TIMEOUT_MS || 20000);
const ARTIFACTS = process.env.CHECK_APP_ARTIFACTS || path.join(REPO, '.run', 'artifacts', 'app');
const base = baseUrlArg('node scripts/check-app.mjs http://127.0.0.1:PORT');
const url = (p) => new URL(p, base).toString();
const run = Math.random().toString(36).slice(2, 8);

let browser;
let page; // the customer's tab
let courier; // the courier's (and later the admin's) tab
const shots = [];
const steps = [];

async function shot(p, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await p.screenshot({ path: file, fullPage: true });
  shots.push(path.relative(REPO, file));
}

const step = (what) => {
  steps.push(what);
};

/** Waits for the page's status line to say `status` (the order's enum value). */
async function waitForStatus(p, status, what) {
  try {
    await p.locator(`[data-status="${status}"]`).waitFor({ timeout: TIMEOUT });
  } catch {
    const now = await p.locator('.status-now').innerText().catch(() => '(no status line)');
    const alerts = await p.getByRole('alert').allInnerTexts().catch(() => []);
    fail(`${what}: the order page never showed ${status}; it shows "${now}"${alerts.length ? `; errors: ${alerts.join(' | ')}` : ''}`);
  }
}

async function heading(p, name) {
  await p.getByRole('heading', { level: 1, name }).waitFor({ timeout: TIMEOUT });
}

/** No sideways scrolling at the current viewport. */
async function fitsWidth(p, what) {
  const { scroll, client } = await p.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  if (scroll > client + 1) fail(`${what} is ${scroll} px wide at a ${client} px viewport (sideways scrolling)`);
}

async function signInWithForm(p, role, sub) {
  await p.goto(url('/app/login'), { timeout: TIMEOUT });
  await heading(p, 'Sign in');
  await p.getByLabel('Role').selectOption(role);
  await p.getByLabel(/^Subject/).fill(sub);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByText(`Signed in as ${sub}`).waitFor({ timeout: TIMEOUT });
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await openBrowser({ ownHost: base.host });
  page = await browser.page();
  page.setDefaultTimeout(TIMEOUT);

  // 1. The home page is the menu.
  const landed = await page.goto(url('/'), { waitUntil: 'load', timeout: TIMEOUT });
  if (!landed || !landed.ok()) fail(`GET / answered ${landed ? landed.status() : 'nothing'}`);
  if (new URL(page.url()).pathname !== '/app/') fail(`/ did not redirect to /app/ (landed on ${page.url()})`);
  await heading(page, 'Menu');
  const categories = page.locator('main section.category');
  await categories.first().waitFor();
  const categoryNames = await categories.locator('h2').allInnerTexts();
  const cards = page.locator('main .card');
  const count = await cards.count();
  if (!count) fail('the menu shows no items');
  const firstCard = await cards.first().innerText();
  if (!/\$\d/.test(firstCard) || !/Available|Sold out/.test(firstCard)) fail(`a menu card shows no price or availability:\n${firstCard}`);
  await shot(page, '01-home');
  step(`menu: ${count} items in ${categoryNames.length} categories (${categoryNames.join(', ')})`);

  // 2. An item's own page, by link and by URL. The cheapest available one, so payment passes.
  const items = await page.evaluate(() =>
    [...document.querySelectorAll('main .card')].map((card) => ({
      name: card.querySelector('h3 a')?.textContent ?? '',
      href: card.querySelector('h3 a')?.getAttribute('href') ?? '',
      price: Number((card.querySelector('.price')?.textContent ?? '').replace(/[^0-9.]/g, '')),
      available: !card.querySelector('button')?.disabled,
    })),
  );
  const item = items.filter((i) => i.available).sort((a, b) => a.price - b.price)[0];
  if (!item) fail('no menu item is available to order');
  await page.getByRole('link', { name: item.name, exact: true }).click();
  await heading(page, item.name);
  if (!/^\/app\/menu\/[^/]+$/.test(new URL(page.url()).pathname)) fail(`the item opened at ${page.url()}, not /app/menu/<id>`);
  const itemUrl = page.url();
  await page.goto(itemUrl, { timeout: TIMEOUT });
  await heading(page, item.name);
  const allergens = (await page.locator('p.allergens').textContent({ timeout: TIMEOUT })) ?? '';
  if (!/^(Contains: [a-z ,]+\.|No declared allergens\.)$/.test(allergens)) fail(`the item page's allergens read "${allergens}"`);
  await shot(page, '02-item');
  step(`item page ${new URL(itemUrl).pathname} (${item.name}: ${allergens}), also when loaded directly`);

  // 3. Signing in by link.
  const customer = `c-app-${run}`;
  await page.goto(url(`/app/login?role=customer&sub=${customer}`), { timeout: TIMEOUT });
  await page.waitForURL((u) => u.pathname === '/app/', { timeout: TIMEOUT });
  await page.getByText(`Signed in as ${customer}`).waitFor();
  await heading(page, 'Menu');
  step(`/app/login?role=customer&sub=${customer} signed in and returned to the menu`);

  // 4. Cart and checkout.
  await page.goto(itemUrl, { timeout: TIMEOUT });
  await page.getByRole('button', { name: `Add ${item.name} to cart` }).click();
  await page.getByText('1 in cart').waitFor();
  await page.getByRole('link', { name: /^Cart \(1\)$/ }).click();
  await heading(page, 'Cart');
  await page.getByLabel('Delivery address').fill('1 Browser Lane');
  await shot(page, '03-cart');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL((u) => /^\/app\/orders\/[^/]+$/.test(u.pathname), { timeout: TIMEOUT });
  const orderId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await waitForStatus(page, 'PAID', 'after checkout');
  await page.getByText('Live: this page updates by itself').waitFor();
  await shot(page, '04-order-paid');
  step(`order ${orderId} placed from the cart, PAID on its page`);

  // 5. The courier moves the delivery; the order page follows without a reload.
  const marker = `marker-${run}`;
  await page.evaluate((m) => {
    window.__appCheckMarker = m;
  }, marker);
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });
  courier = await browser.context.newPage();
  courier.setDefaultTimeout(TIMEOUT);
  await signInWithForm(courier, 'courier', `k-app-${run}`);
  await courier.getByRole('link', { name: 'Courier' }).click();
  await heading(courier, 'Courier');
  await courier.getByLabel('Order id').fill(orderId);
  await courier.getByRole('button', { name: 'Open delivery' }).click();
  await courier.locator('[data-delivery-status="PENDING"]').waitFor();
  const moves = [
    ['Take it (assigned)', 'ASSIGNED', 'PAID'],
    ['Picked up', 'PICKED_UP', 'OUT_FOR_DELIVERY'],
    ['On the way (in transit)', 'IN_TRANSIT', 'OUT_FOR_DELIVERY'],
    ['Delivered', 'DELIVERED', 'DELIVERED'],
  ];
  for (const [button, delivery, order] of moves) {
    await courier.getByRole('button', { name: button, exact: true }).click();
    await courier.locator(`[data-delivery-status="${delivery}"]`).first().waitFor();
    await page.locator(`[data-delivery-status="${delivery}"]`).waitFor({ timeout: TIMEOUT }).catch(() => {
      fail(`the order page did not show the delivery ${delivery} after the courier moved it`);
    });
    await waitForStatus(page, order, `after the courier's "${button}"`);
    if (delivery === 'PICKED_UP') {
      await shot(courier, '05-courier');
      await shot(page, '06-order-out-for-delivery');
    }
  }
  const kept = await page.evaluate(() => window.__appCheckMarker);
  if (kept !== marker || navigations !== 0) {
    fail(`the order page reloaded while following the delivery (marker ${kept ?? 'gone'}, ${navigations} navigations)`);
  }
  const current = await page.locator('ol.timeline li[aria-current="step"]').innerText();
  if (!/Delivered/.test(current)) fail(`the timeline's current step is "${current}", not Delivered`);
  await shot(page, '07-order-delivered');
  step('courier view moved the delivery PENDING → ASSIGNED → PICKED_UP → IN_TRANSIT → DELIVERED; the order page followed live (OUT_FOR_DELIVERY, DELIVERED) with no reload');

  // 6. My orders; someone else's order is a readable error.
  await page.getByRole('link', { name: 'My orders' }).click();
  await heading(page, 'My orders');
  await page.getByRole('link', { name: `Order ${orderId.slice(0, 8)}` }).waitFor();
  await shot(page, '08-my-orders');
  await signInWithForm(courier, 'customer', `c-other-${run}`);
  await courier.goto(url(`/app/orders/${orderId}`), { timeout: TIMEOUT });
  const alert = courier.getByRole('alert').first();
  await alert.waitFor();
  const said = await alert.innerText();
  if (!/not found/i.test(said) || /[{}]/.test(said)) fail(`another customer's order shows "${said}", not a readable not-found sentence`);
  step(`my orders lists it; another customer reads "${said}"`);

  // 7. The admin's catalog: a menu item, then a movie found by its title.
  await signInWithForm(courier, 'admin', `admin-app-${run}`);
  await courier.getByRole('link', { name: 'Admin' }).click();
  await heading(courier, 'Admin');
  const dish = `Check soup ${run}`;
  await courier.getByLabel('Name').fill(dish);
  await courier.getByLabel('Price').fill('4.50');
  await courier.getByLabel('Category').fill('Soups');
  await courier.getByRole('checkbox', { name: 'Milk', exact: true }).check();
  await courier.getByRole('button', { name: 'Add menu item' }).click();
  await courier.getByRole('link', { name: `Open ${dish}` }).click();
  await heading(courier, dish);
  await courier.locator('p.allergens').getByText('Contains: milk.').waitFor();
  if (!(await courier.getByRole('checkbox', { name: 'Milk', exact: true }).isChecked())) fail('the edit form does not show the item\'s allergen checked');
  await courier.getByLabel('Price').fill('5.25');
  await courier.getByRole('checkbox', { name: 'Celery', exact: true }).check();
  await courier.getByRole('button', { name: 'Save changes' }).click();
  await courier.getByText('Saved.').waitFor();
  await courier.getByText('$5.25').first().waitFor();
  const declared = (await courier.locator('p.allergens').textContent()) ?? '';
  if (!/^Contains: (celery, milk|milk, celery)\.$/.test(declared)) fail(`after checking celery the item reads "${declared}"`);
  // Unchecking every one clears them.
  await courier.getByRole('checkbox', { name: 'Celery', exact: true }).uncheck();
  await courier.getByRole('checkbox', { name: 'Milk', exact: true }).uncheck();
  await courier.getByRole('button', { name: 'Save changes' }).click();
  await courier.locator('p.allergens').getByText('No declared allergens.').waitFor();
  await courier.getByRole('checkbox', { name: 'Celery', exact: true }).check();
  await courier.getByRole('button', { name: 'Save changes' }).click();
  await courier.locator('p.allergens').getByText('Contains: celery.').waitFor();
  await shot(courier, '09-admin-item');

  const title = `The Mesh ${run}`;
  await courier.getByRole('link', { name: 'Movies' }).click();
  await heading(courier, 'Movies');
  await courier.getByLabel('Title', { exact: true }).fill(title);
  await courier.getByLabel('Description', { exact: true }).fill('Five services and a gateway.');
  await courier.getByRole('button', { name: 'Add movie' }).click();
  await courier.getByText(`Added “${title}”.`).waitFor();
  await courier.getByRole('button', { name: `Edit ${title}` }).click();
  await courier.locator('main .card').getByLabel('Description').fill('Five services, a gateway and a page.');
  await courier.getByRole('button', { name: 'Save movie' }).click();
  await courier.getByText(`Saved “${title}”.`).waitFor();
  // The search, in the first tab (loaded afresh, so now with the admin's sign-in).
  await page.goto(url('/app/movies'), { timeout: TIMEOUT });
  await heading(page, 'Movies');
  await page.getByRole('searchbox', { name: 'Title contains' }).fill(`mesh ${run}`.toUpperCase());
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL((u) => u.pathname === '/app/movies' && u.searchParams.has('title'));
  await page.getByText('1 movie with').waitFor();
  const found = await page.locator('main .card h2').allInnerTexts();
  if (found.length !== 1 || found[0] !== title) fail(`searching "MESH ${run.toUpperCase()}" found ${JSON.stringify(found)}, not ["${title}"]`);
  await page.getByText('Five services, a gateway and a page.').waitFor();
  await shot(page, '10-movies');
  step(`admin added menu item "${dish}" with milk, then changed its price and allergens (celery and milk, then none, then celery); added and edited movie "${title}"; the title search (any case) finds it`);

  // 8. Phone width and the keyboard.
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(url('/app/'), { timeout: TIMEOUT });
  await heading(page, 'Menu');
  await page.locator('main .card').first().waitFor();
  await fitsWidth(page, 'the menu');
  await shot(page, '11-home-phone');
  await page.goto(url(`/app/orders/${orderId}`), { timeout: TIMEOUT });
  await waitForStatus(page, 'DELIVERED', 'at phone width');
  await fitsWidth(page, 'the order page');
  await shot(page, '12-order-phone');
  // A fresh load: the first Tab stop is the skip link, which leads to the content.
  await page.reload({ timeout: TIMEOUT });
  await waitForStatus(page, 'DELIVERED', 'after a reload');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (focused !== 'Skip to content') fail(`the first Tab stop is "${focused}", not the skip link`);
  step('phone width (375 px): menu and order page fit; Tab reaches "Skip to content" first');

  // 9. Nothing left the machine; no page errors, no CSP refusals; live updates over /graphql/ws.
  const foreign = browser.foreignRequests();
  if (foreign.length) fail(`the page made requests to other hosts than ${base.host}:\n  ${foreign.join('\n  ')}`);
  if (browser.problems.length) fail(`the page reported problems:\n  ${browser.problems.join('\n  ')}`);
  const sockets = browser.requests.filter((u) => /^wss?:/.test(u));
  if (!sockets.some((u) => new URL(u).pathname === '/graphql/ws')) fail(`no WebSocket to /graphql/ws (sockets: ${sockets.join(', ') || 'none'})`);

  for (const s of steps) console.log(`check-app: ${s}`);
  console.log(`check-app: screenshots: ${shots.join(', ')}`);
  console.log(`check-app: OK: ${browser.requests.length} requests, all to ${base.host} (WebSocket ${sockets.length}x /graphql/ws)`);
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  for (const s of steps) console.error(`check-app: ok: ${s}`);
  console.error(`check-app: FAILED: ${err instanceof CheckError ? err.message : err?.stack || err}`);
  for (const [p, name] of [
    [page, 'failed-customer'],
    [courier, 'failed-second-tab'],
  ]) {
    if (p) await shot(p, name).catch(() => {});
  }
  if (shots.length) console.error(`check-app: screenshots: ${shots.join(', ')}`);
} finally {
  if (browser) await browser.close();
}
process.exit(code);
