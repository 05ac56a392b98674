// The menu by category, with prices and availability.

import { gql } from '../api';
import { addToCart, useCart } from '../cart';
import { money } from '../format';
import type { MenuQuery } from '../generated/graphql';
import { MENU, type MenuItem } from '../queries';
import { href } from '../router';
import { ErrorMessage, Loading, Page, useLoad } from '../ui';

/** Every menu item, following the connection's pages. */
export async function loadMenu(): Promise<MenuItem[]> {
  const items: MenuItem[] = [];
  let after: string | null = null;
  for (let page = 0; page < 20; page++) {
    const data: MenuQuery = await gql(MENU, { after });
    items.push(...data.menuItems.nodes);
    if (!data.menuItems.pageInfo.hasNextPage) break;
    after = data.menuItems.pageInfo.endCursor;
  }
  return items;
}

export function AddButton({ item }: { item: MenuItem }) {
  const inCart = useCart().find((l) => l.id === item.id)?.quantity ?? 0;
  return (
    <span class="add">
      <button
        type="button"
        disabled={!item.available}
        aria-label={`Add ${item.name} to cart`}
        onClick={() => addToCart({ id: item.id, name: item.name, priceCents: item.priceCents, currency: item.currency })}
      >
        Add to cart
      </button>{' '}
      <span role="status" class="muted">
        {inCart ? `${inCart} in cart` : ''}
      </span>
    </span>
  );
}

export function Availability({ available }: { available: boolean }) {
  return <span class={available ? 'badge ok' : 'badge off'}>{available ? 'Available' : 'Sold out'}</span>;
}

export function Home() {
  const menu = useLoad(loadMenu, []);
  const byCategory = new Map<string, MenuItem[]>();
  for (const item of menu.data ?? []) {
    const list = byCategory.get(item.category) ?? [];
    list.push(item);
    byCategory.set(item.category, list);
  }
  const categories = [...byCategory.keys()].sort((a, b) => a.localeCompare(b));
  return (
    <Page title="Menu">
      {menu.loading && <Loading what="the menu" />}
      <ErrorMessage error={menu.error} />
      {menu.data && !menu.data.length && <p>The menu is empty.</p>}
      {categories.map((category) => (
        <section key={category} aria-labelledby={`cat-${slug(category)}`} class="category">
          <h2 id={`cat-${slug(category)}`}>{category}</h2>
          <ul class="cards">
            {byCategory.get(category)!.map((item) => (
              <li key={item.id} class="card">
                <h3>
                  <a href={href(`/menu/${encodeURIComponent(item.id)}`)}>{item.name}</a>
                </h3>
                <p class="muted">{item.description}</p>
                <p class="price-line">
                  <span class="price">{money(item.priceCents, item.currency)}</span> <Availability available={item.available} />
                </p>
                <AddButton item={item} />
              </li>
            ))}
          </ul>
        </section>
      ))}
    </Page>
  );
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');
