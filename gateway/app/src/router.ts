// A small history router for the page's own routes, all under /app/. Links are ordinary
// <a href="/app/..."> elements: a click on one is handled here (no reload), anything else
// (a new tab, a reload, a typed URL) reaches the gateway, which serves index.html for it.

import { useEffect, useState } from 'preact/hooks';

export const BASE = '/app';

export interface Route {
  /** The path below /app, starting with "/". */
  path: string;
  query: URLSearchParams;
}

function current(): Route {
  let path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  if (!path.startsWith('/')) path = `/${path}`;
  return { path, query: new URLSearchParams(location.search) };
}

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((fn) => fn());
addEventListener('popstate', notify);

/** An /app URL for a page path: href('/orders/1') is "/app/orders/1". */
export const href = (path: string) => `${BASE}${path}`;

export function navigate(path: string, { replace = false } = {}) {
  const url = href(path);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  notify();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    listeners.add(update);
    return () => listeners.delete(update);
  }, []);
  return route;
}

// Same-window clicks on links into the page stay in the page.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === BASE || url.pathname.startsWith(`${BASE}/`))) return;
  event.preventDefault();
  history.pushState(null, '', url.pathname + url.search + url.hash);
  notify();
});
