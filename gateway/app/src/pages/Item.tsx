// One menu item, at /app/menu/:id; admins can change it here.

import { useState } from 'preact/hooks';
import { gql } from '../api';
import { money, words } from '../format';
import { MENU_ITEM, type MenuItem } from '../queries';
import { href } from '../router';
import { hasRole } from '../session';
import { ErrorMessage, Loading, Page, useLoad } from '../ui';
import { AddButton, Availability } from './Home';
import { MenuItemForm } from './MenuItemForm';

export function Item({ id }: { id: string }) {
  const loaded = useLoad(() => gql(MENU_ITEM, { id }).then((d) => d.menuItem), [id]);
  const [changed, setChanged] = useState<MenuItem | null>(null);
  const item = changed && changed.id === id ? changed : loaded.data;
  if (loaded.loading && !item) {
    return (
      <Page title="Menu item">
        <Loading what="the item" />
      </Page>
    );
  }
  if (!item) {
    return (
      <Page title="Menu item">
        <ErrorMessage error={loaded.error} />
        <p>
          <a href={href('/')}>Back to the menu</a>
        </p>
      </Page>
    );
  }
  return (
    <Page title={item.name}>
      <p class="muted">{item.category}</p>
      <p>{item.description}</p>
      <p class="price-line">
        <span class="price">{money(item.priceCents, item.currency)}</span> <Availability available={item.available} />
      </p>
      <p class="allergens">
        {item.allergens.length > 0
          ? `Contains: ${item.allergens.map((allergen) => words(allergen).toLowerCase()).join(', ')}.`
          : 'No declared allergens.'}
      </p>
      <p class="actions">
        <AddButton item={item} /> <a href={href('/cart')}>Go to cart</a> · <a href={href('/')}>Back to the menu</a>
      </p>
      {hasRole('admin') && (
        <section aria-labelledby="edit-heading">
          <h2 id="edit-heading">Edit this item</h2>
          <MenuItemForm item={item} onSaved={setChanged} />
        </section>
      )}
    </Page>
  );
}
