// The cart and checkout: places the order as the signed-in customer, then opens its page.

import { useState } from 'preact/hooks';
import { gql } from '../api';
import { clearCart, setQuantity, useCart } from '../cart';
import { money, randomKey } from '../format';
import { CREATE_ORDER } from '../queries';
import { href, navigate } from '../router';
import { hasRole, session } from '../session';
import { ErrorMessage, Page } from '../ui';

export function Cart() {
  const lines = useCart();
  const [address, setAddress] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // One key per checkout attempt: pressing the button twice places one order.
  const [key] = useState(randomKey);
  const currency = lines[0]?.currency ?? 'USD';
  const total = lines.reduce((sum, l) => sum + l.priceCents * l.quantity, 0);
  const signedIn = session();
  const mayOrder = hasRole('customer') || hasRole('admin');

  async function placeOrder(event: Event) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const input = {
        items: lines.map((l) => ({ menuItemId: l.id, quantity: l.quantity })),
        deliveryAddress: address,
        idempotencyKey: key,
      };
      const { createOrder } = await gql(CREATE_ORDER, { input });
      clearCart();
      navigate(`/orders/${encodeURIComponent(createOrder.id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title="Cart">
      {!lines.length ? (
        <p>
          Your cart is empty. <a href={href('/')}>Pick something from the menu</a>.
        </p>
      ) : (
        <>
          <table class="lines">
            <caption class="visually-hidden">Items in your cart</caption>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col">Quantity</th>
                <th scope="col" class="num">
                  Price
                </th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l) => (
                <tr key={l.id}>
                  <th scope="row">
                    <a href={href(`/menu/${encodeURIComponent(l.id)}`)}>{l.name}</a>
                  </th>
                  <td>
                    <label class="visually-hidden" for={`qty-${l.id}`}>
                      Quantity of {l.name}
                    </label>
                    <input
                      id={`qty-${l.id}`}
                      class="qty"
                      type="number"
                      min={0}
                      max={100}
                      value={l.quantity}
                      onChange={(e) => setQuantity(l.id, Number(e.currentTarget.value))}
                    />{' '}
                    <button type="button" class="link" onClick={() => setQuantity(l.id, 0)} aria-label={`Remove ${l.name}`}>
                      Remove
                    </button>
                  </td>
                  <td class="num">{money(l.priceCents * l.quantity, l.currency)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={2}>
                  Total (the menu's prices decide)
                </th>
                <td class="num">{money(total, currency)}</td>
              </tr>
            </tfoot>
          </table>
          <h2>Checkout</h2>
          {!signedIn ? (
            <p>
              <a href={href('/login')}>Sign in as a customer</a> to place the order.
            </p>
          ) : !mayOrder ? (
            <p>Signed in as a {signedIn.roles.join(', ')}: only a customer (or an admin) can place orders.</p>
          ) : (
            <form class="form" onSubmit={placeOrder}>
              <label for="address">Delivery address</label>
              <input id="address" required autoComplete="street-address" value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
              <ErrorMessage error={error} />
              <button type="submit" disabled={busy}>
                {busy ? 'Placing the order…' : 'Place order'}
              </button>
            </form>
          )}
        </>
      )}
    </Page>
  );
}
