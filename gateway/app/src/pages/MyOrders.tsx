// The signed-in customer's orders, newest first; an admin may name the customer.

import { useState } from 'preact/hooks';
import { gql } from '../api';
import { money, when, words } from '../format';
import { MY_ORDERS, type OrderSummary } from '../queries';
import { href } from '../router';
import { hasRole, session } from '../session';
import { ErrorMessage, Loading, Page, useLoad } from '../ui';

export function MyOrders() {
  const admin = hasRole('admin');
  const [customer, setCustomer] = useState('');
  const [asked, setAsked] = useState('');
  const [more, setMore] = useState<OrderSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const token = session()?.token;
  const loaded = useLoad(async () => {
    const data = await gql(MY_ORDERS, { customerId: admin && asked ? asked : null });
    setMore([]);
    setCursor(data.orders.pageInfo.hasNextPage ? data.orders.pageInfo.endCursor : null);
    return data.orders.nodes;
  }, [asked, token]);

  async function loadMore() {
    setMoreError(null);
    try {
      const data = await gql(MY_ORDERS, { customerId: admin && asked ? asked : null, after: cursor });
      setMore((m) => [...m, ...data.orders.nodes]);
      setCursor(data.orders.pageInfo.hasNextPage ? data.orders.pageInfo.endCursor : null);
    } catch (err) {
      setMoreError(err);
    }
  }

  if (!token) {
    return (
      <Page title="My orders">
        <p>
          <a href={href('/login')}>Sign in as a customer</a> to see your orders.
        </p>
      </Page>
    );
  }
  const orders = [...(loaded.data ?? []), ...more];
  return (
    <Page title={admin && asked ? `Orders of ${asked}` : 'My orders'}>
      {admin && (
        <form
          class="form inline"
          onSubmit={(e) => {
            e.preventDefault();
            setAsked(customer.trim());
          }}
        >
          <label for="customer">Customer id (admins)</label>
          <input id="customer" value={customer} onInput={(e) => setCustomer(e.currentTarget.value)} />
          <button type="submit">Show orders</button>
        </form>
      )}
      {loaded.loading && <Loading what="orders" />}
      <ErrorMessage error={loaded.error} />
      {loaded.data && !orders.length && (
        <p>
          No orders yet. <a href={href('/')}>Order from the menu</a>.
        </p>
      )}
      {!!orders.length && (
        <ul class="orders">
          {orders.map((o) => (
            <li key={o.id} class="card">
              <h2 class="h3">
                <a href={href(`/orders/${encodeURIComponent(o.id)}`)}>Order {o.id.slice(0, 8)}</a>
              </h2>
              <p>
                <strong>{words(o.status)}</strong> · {money(o.totalCents, o.currency)} · {when(o.createdAt)}
              </p>
              <p class="muted">{o.items.map((i) => `${i.quantity} × ${i.name}`).join(', ')}</p>
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" onClick={loadMore}>
          Show older orders
        </button>
      )}
      <ErrorMessage error={moreError} />
    </Page>
  );
}
