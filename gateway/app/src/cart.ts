// The cart, kept in localStorage until the order is placed. Prices here are for display:
// the order's total comes from menu-service, never from the page.

import { useEffect, useState } from 'preact/hooks';

export interface CartLine {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
  quantity: number;
}

const KEY = 'mesh.cart';
const MAX_QUANTITY = 100;
const listeners = new Set<() => void>();

function read(): CartLine[] {
  try {
    const lines = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(lines) ? lines : [];
  } catch {
    return [];
  }
}

function write(lines: CartLine[]) {
  localStorage.setItem(KEY, JSON.stringify(lines));
  listeners.forEach((fn) => fn());
}

export function addToCart(item: Omit<CartLine, 'quantity'>, quantity = 1) {
  const lines = read();
  const line = lines.find((l) => l.id === item.id);
  if (line) line.quantity = Math.min(MAX_QUANTITY, line.quantity + quantity);
  else lines.push({ ...item, quantity });
  write(lines);
}

export function setQuantity(id: string, quantity: number) {
  const q = Math.max(0, Math.min(MAX_QUANTITY, Math.floor(quantity) || 0));
  write(read().flatMap((l) => (l.id !== id ? [l] : q > 0 ? [{ ...l, quantity: q }] : [])));
}

export function clearCart() {
  write([]);
}

export function useCart(): CartLine[] {
  const [lines, setLines] = useState(read);
  useEffect(() => {
    const update = () => setLines(read());
    listeners.add(update);
    addEventListener('storage', update);
    return () => {
      listeners.delete(update);
      removeEventListener('storage', update);
    };
  }, []);
  return lines;
}
