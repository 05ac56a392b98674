// The admin's page: add a menu item (existing ones are edited on their own page, movies on
// the movie page).

import { useState } from 'preact/hooks';
import type { MenuItem } from '../queries';
import { href } from '../router';
import { hasRole } from '../session';
import { Page } from '../ui';
import { MenuItemForm } from './MenuItemForm';

export function Admin() {
  const [added, setAdded] = useState<MenuItem | null>(null);
  if (!hasRole('admin')) {
    return (
      <Page title="Admin">
        <p>
          This page is for admins. <a href={href('/login?role=admin&sub=admin')}>Sign in as an admin</a> (development sign-in).
        </p>
      </Page>
    );
  }
  return (
    <Page title="Admin">
      <p>
        Menu items are edited on their own page (open one from <a href={href('/')}>the menu</a>); movies on <a href={href('/movies')}>the movie page</a>.
      </p>
      <section aria-labelledby="new-item">
        <h2 id="new-item">Add a menu item</h2>
        <MenuItemForm key={added?.id ?? 'new'} onSaved={setAdded} />
        {added && (
          <p>
            <a href={href(`/menu/${encodeURIComponent(added.id)}`)}>Open {added.name}</a>
          </p>
        )}
      </section>
    </Page>
  );
}
