// What every page shares: its heading (focused on arrival, so a screen reader announces the new
// page), loading and error states, and a hook that runs one query.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

// The page a visit starts on keeps the browser's own focus (Tab reaches the skip link first);
// another page, reached without a reload, moves it to its heading, once.
let focusedPath = location.pathname;

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Mesh Eats`;
    if (location.pathname !== focusedPath) {
      focusedPath = location.pathname;
      heading.current?.focus({ preventScroll: true });
    }
  }, [title]);
  return (
    <>
      <h1 tabIndex={-1} ref={heading}>
        {title}
      </h1>
      {children}
    </>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? error.message : 'Something went wrong in the page; reload it and try again.';
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export interface QueryState<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `key` changes; `reload()` runs it again. */
export function useLoad<T>(load: () => Promise<T>, key: unknown[]): QueryState<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...key, round]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}
