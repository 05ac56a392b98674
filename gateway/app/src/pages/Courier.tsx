// The courier's view: open a delivery by its order id and move it to its next state
// (PENDING → ASSIGNED → PICKED_UP → IN_TRANSIT → DELIVERED, or FAILED).

import { useEffect, useState } from 'preact/hooks';
import { gql } from '../api';
import { when, words } from '../format';
import { DELIVERY, MOVE_DELIVERY, type Delivery, type DeliveryStatus } from '../queries';
import { href, navigate } from '../router';
import { hasRole, session } from '../session';
import { ErrorMessage, Loading, Page, useLoad } from '../ui';

const NEXT: Partial<Record<DeliveryStatus, DeliveryStatus>> = {
  PENDING: 'ASSIGNED',
  ASSIGNED: 'PICKED_UP',
  PICKED_UP: 'IN_TRANSIT',
  IN_TRANSIT: 'DELIVERED',
};

const ACTION: Record<DeliveryStatus, string> = {
  PENDING: 'Pending',
  ASSIGNED: 'Take it (assigned)',
  PICKED_UP: 'Picked up',
  IN_TRANSIT: 'On the way (in transit)',
  DELIVERED: 'Delivered',
  FAILED: 'Could not deliver (failed)',
};

function DeliveryCard({ orderId }: { orderId: string }) {
  const loaded = useLoad(() => gql(DELIVERY, { orderId }).then((d) => d.delivery), [orderId]);
  const [moved, setDelivery] = useState<Delivery | null>(null);
  const delivery = moved ?? loaded.data;
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');

  if (loaded.loading && !delivery) return <Loading what="the delivery" />;
  if (!delivery) return <ErrorMessage error={loaded.error} />;

  const next = NEXT[delivery.status];
  const final = delivery.status === 'DELIVERED' || delivery.status === 'FAILED';

  async function move(status: DeliveryStatus) {
    setError(null);
    setDone('');
    setBusy(true);
    try {
      const { updateDeliveryStatus } = await gql(MOVE_DELIVERY, { orderId, status, note: note.trim() || null });
      setDelivery(updateDeliveryStatus);
      setNote('');
      setDone(`Moved to ${words(status).toLowerCase()}.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="delivery-heading" class="card">
      <h2 id="delivery-heading">Delivery of order {orderId.slice(0, 8)}</h2>
      <p>
        Now: <strong data-delivery-status={delivery.status}>{words(delivery.status)}</strong>
        {delivery.courier && <> · courier {delivery.courier}</>}
      </p>
      {!final && (
        <div class="form">
          <label for="note">Note (optional)</label>
          <input id="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          <p class="actions">
            {next && (
              <button type="button" disabled={busy} onClick={() => move(next)}>
                {ACTION[next]}
              </button>
            )}{' '}
            <button type="button" class="secondary" disabled={busy} onClick={() => move('FAILED')}>
              {ACTION.FAILED}
            </button>
          </p>
        </div>
      )}
      <p role="status" class="ok-text">
        {done}
      </p>
      <ErrorMessage error={error} />
      <ol class="events" aria-label="Delivery history">
        {delivery.history.map((h) => (
          <li key={h.eventId}>
            <time dateTime={h.occurredAt}>{when(h.occurredAt)}</time> {words(h.status)}
            {h.courier && <> by {h.courier}</>}
            {h.note && <span class="muted"> · {h.note}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function Courier({ orderId }: { orderId: string }) {
  const [typed, setTyped] = useState(orderId);
  useEffect(() => setTyped(orderId), [orderId]);
  if (!session()) {
    return (
      <Page title="Courier">
        <p>
          <a href={href('/login?role=courier&sub=k-1')}>Sign in as a courier</a> to move deliveries.
        </p>
      </Page>
    );
  }
  return (
    <Page title="Courier">
      {!(hasRole('courier') || hasRole('admin')) && <p class="error">Moving a delivery needs the courier role; this sign-in does not have it.</p>}
      <form
        class="form inline"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/courier?order=${encodeURIComponent(typed.trim())}`);
        }}
      >
        <label for="order-id">Order id</label>
        <input id="order-id" required value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        <button type="submit">Open delivery</button>
      </form>
      {orderId && <DeliveryCard key={orderId} orderId={orderId} />}
    </Page>
  );
}
