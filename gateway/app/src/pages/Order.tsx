// One order at /app/orders/:id: what was ordered, and a status timeline that moves as the
// order's events arrive over the orderUpdates subscription (no reload, no polling).

import { useEffect, useState } from 'preact/hooks';
import { type ApiError, gql, subscribe } from '../api';
import { money, when, words } from '../format';
import { CANCEL_ORDER, ORDER, ORDER_UPDATES, type DeliveryStatus, type Order as OrderT, type OrderStatus, type OrderUpdate } from '../queries';
import { href } from '../router';
import { hasRole, session } from '../session';
import { ErrorMessage, Loading, Page, useLoad } from '../ui';

const STEPS: [OrderStatus, string][] = [
  ['PLACED', 'Placed'],
  ['PAID', 'Paid'],
  ['OUT_FOR_DELIVERY', 'Out for delivery'],
  ['DELIVERED', 'Delivered'],
];

type Live = 'connecting' | 'live' | 'error';

/** The order's own history and its delivery's, as the subscription sends them. */
function eventsOf(order: OrderT): OrderUpdate[] {
  return [
    ...order.history.map((h) => ({ eventId: h.eventId, eventType: h.eventType, orderStatus: h.status, deliveryStatus: null, occurredAt: h.occurredAt, detail: h.detail || null })),
    ...(order.delivery?.history ?? []).map((h) => ({
      eventId: h.eventId,
      eventType: 'DeliveryStatusChanged',
      orderStatus: null,
      deliveryStatus: h.status,
      occurredAt: h.occurredAt,
      detail: h.note,
    })),
  ];
}

function merge(known: OrderUpdate[], more: OrderUpdate[]): OrderUpdate[] {
  const seen = new Set(known.map((e) => e.eventId));
  const added = more.filter((e) => !seen.has(e.eventId));
  if (!added.length) return known;
  return [...known, ...added].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
}

function Timeline({ status, events }: { status: OrderStatus; events: OrderUpdate[] }) {
  const reachedAt = (s: OrderStatus) => events.find((e) => e.orderStatus === s)?.occurredAt;
  let steps: { key: string; label: string; state: 'done' | 'current' | 'todo' | 'failed'; at?: string }[];
  if (status === 'PAYMENT_FAILED' || status === 'CANCELLED') {
    const reached = STEPS.filter(([s]) => reachedAt(s) || s === 'PLACED');
    steps = [
      ...reached.map(([s, label]) => ({ key: s, label, state: 'done' as const, at: reachedAt(s) })),
      { key: status, label: status === 'CANCELLED' ? 'Cancelled' : 'Payment failed', state: 'failed', at: reachedAt(status) },
    ];
  } else {
    const at = STEPS.findIndex(([s]) => s === status);
    steps = STEPS.map(([s, label], i) => ({
      key: s,
      label,
      state: i < at ? 'done' : i === at ? (s === 'DELIVERED' ? 'done' : 'current') : 'todo',
      at: reachedAt(s),
    }));
    if (status === 'DELIVERED') steps[steps.length - 1].state = 'current';
  }
  const said = { done: 'done', current: 'now', todo: 'not yet', failed: 'stopped here' };
  return (
    <ol class="timeline" aria-label="Order status">
      {steps.map((step) => (
        <li key={step.key} class={step.state} aria-current={step.state === 'current' || step.state === 'failed' ? 'step' : undefined} data-step={step.key}>
          <span class="dot" aria-hidden="true" />
          <span class="label">{step.label}</span>
          <span class="visually-hidden"> ({said[step.state]})</span>
          {step.at && <time dateTime={step.at}>{when(step.at)}</time>}
        </li>
      ))}
    </ol>
  );
}

export function Order({ id }: { id: string }) {
  const token = session()?.token;
  const loaded = useLoad(() => gql(ORDER, { id }).then((d) => d.order), [id, token]);
  const [events, setEvents] = useState<OrderUpdate[]>([]);
  const [live, setLive] = useState<Live>('connecting');
  const [liveError, setLiveError] = useState<ApiError | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  useEffect(() => {
    if (loaded.data) setEvents((known) => merge(known, eventsOf(loaded.data!)));
  }, [loaded.data]);

  useEffect(() => {
    setEvents([]);
    setLive('connecting');
    setLiveError(null);
    if (!token) return;
    const sub = subscribe(
      ORDER_UPDATES,
      { orderId: id },
      {
        connected: () => setLive('live'),
        next: (data) => {
          setLive('live');
          setEvents((known) => merge(known, [data.orderUpdates]));
        },
        error: (err) => {
          setLive('error');
          setLiveError(err);
        },
      },
    );
    return () => sub.stop();
  }, [id, token]);

  const order = loaded.data;
  if (!token) {
    return (
      <Page title="Order">
        <p>
          <a href={href('/login')}>Sign in</a> to see this order.
        </p>
      </Page>
    );
  }
  if (!order) {
    return (
      <Page title="Order">
        {loaded.loading ? <Loading what="the order" /> : <ErrorMessage error={loaded.error} />}
      </Page>
    );
  }

  const last = <K extends 'orderStatus' | 'deliveryStatus'>(key: K) => [...events].reverse().find((e) => e[key])?.[key] ?? null;
  const status = (last('orderStatus') as OrderStatus | null) ?? order.status;
  const deliveryStatus = (last('deliveryStatus') as DeliveryStatus | null) ?? order.delivery?.status ?? null;
  const mayCancel = (status === 'PLACED' || status === 'PAID') && (hasRole('customer') || hasRole('admin'));

  async function cancel() {
    setActionError(null);
    try {
      await gql(CANCEL_ORDER, { id });
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <Page title={`Order ${order.id.slice(0, 8)}`}>
      <p class="status-now" role="status" aria-live="polite">
        Status: <strong data-status={status}>{words(status)}</strong>
        {deliveryStatus && (
          <>
            {' '}
            · delivery: <span data-delivery-status={deliveryStatus}>{words(deliveryStatus)}</span>
          </>
        )}
      </p>
      <Timeline status={status} events={events} />
      <p class={`live ${live}`}>
        {live === 'live' ? 'Live: this page updates by itself as the order moves.' : live === 'connecting' ? 'Connecting for live updates…' : 'Live updates stopped.'}
      </p>
      {liveError && <ErrorMessage error={liveError} />}
      {mayCancel && (
        <p>
          <button type="button" class="secondary" onClick={cancel}>
            Cancel this order
          </button>
        </p>
      )}
      <ErrorMessage error={actionError} />

      <h2>What you ordered</h2>
      <table class="lines">
        <thead>
          <tr>
            <th scope="col">Item</th>
            <th scope="col" class="num">
              Quantity
            </th>
            <th scope="col" class="num">
              Price
            </th>
          </tr>
        </thead>
        <tbody>
          {order.items.map((line) => (
            <tr key={line.menuItemId}>
              <th scope="row">{line.name}</th>
              <td class="num">{line.quantity}</td>
              <td class="num">{money(line.unitPriceCents * line.quantity, order.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={2}>
              Total
            </th>
            <td class="num">{money(order.totalCents, order.currency)}</td>
          </tr>
        </tfoot>
      </table>
      <dl class="facts">
        <dt>Order id</dt>
        <dd>
          <code>{order.id}</code>
        </dd>
        <dt>Deliver to</dt>
        <dd>{order.deliveryAddress}</dd>
        <dt>Placed</dt>
        <dd>{when(order.createdAt)}</dd>
      </dl>

      <h2>Events</h2>
      <ol class="events" aria-label="Events of this order">
        {events.map((e) => (
          <li key={e.eventId}>
            <time dateTime={e.occurredAt}>{when(e.occurredAt)}</time> {e.orderStatus ? words(e.orderStatus) : `Delivery ${words(e.deliveryStatus ?? '').toLowerCase()}`}
            {e.detail ? <span class="muted"> · {e.detail}</span> : null}
          </li>
        ))}
      </ol>
    </Page>
  );
}
