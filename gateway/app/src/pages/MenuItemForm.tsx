// The admin's form for a menu item, new or changed. The price is typed in the currency's
// units ("12.50") and sent in cents; the allergens are the schema's, one checkbox each.

import { useState } from 'preact/hooks';
import { ApiError, gql } from '../api';
import { words } from '../format';
import { Allergen } from '../generated/enums';
import { CREATE_MENU_ITEM, UPDATE_MENU_ITEM, type MenuItem } from '../queries';
import { ErrorMessage } from '../ui';

const ALLERGENS: Allergen[] = Object.values(Allergen);

function cents(price: string): number | null {
  const m = price.trim().match(/^(\d{1,9})(?:[.,](\d{1,2}))?$/);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

export function MenuItemForm({ item, onSaved }: { item?: MenuItem; onSaved: (item: MenuItem) => void }) {
  const [name, setName] = useState(item?.name ?? '');
  const [description, setDescription] = useState(item?.description ?? '');
  const [price, setPrice] = useState(item ? (item.priceCents / 100).toFixed(2) : '');
  const [currency, setCurrency] = useState(item?.currency ?? 'USD');
  const [category, setCategory] = useState(item?.category ?? '');
  const [available, setAvailable] = useState(item?.available ?? true);
  const [allergens, setAllergens] = useState<Allergen[]>(item?.allergens ?? []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState('');
  const prefix = item ? `edit-${item.id}` : 'new-item';

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    setSaved('');
    const priceCents = cents(price);
    if (priceCents === null) {
      setError(new ApiError('The price must be a number like 12.50.', 'INVALID_ARGUMENT'));
      return;
    }
    const fields = { name, description, priceCents, currency: currency.trim().toUpperCase(), category, available };
    // A change with no allergen checked clears them (`noAllergens`): an empty list keeps them.
    const changes = allergens.length > 0 ? { ...fields, allergens } : { ...fields, noAllergens: true };
    setBusy(true);
    try {
      const result = item
        ? (await gql(UPDATE_MENU_ITEM, { id: item.id, input: changes })).updateMenuItem
        : (await gql(CREATE_MENU_ITEM, { input: { ...fields, allergens } })).createMenuItem;
      setSaved(item ? 'Saved.' : `Added ${result.name}.`);
      onSaved(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} class="form">
      <label for={`${prefix}-name`}>Name</label>
      <input id={`${prefix}-name`} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for={`${prefix}-description`}>Description</label>
      <textarea id={`${prefix}-description`} rows={3} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <label for={`${prefix}-price`}>Price</label>
      <input id={`${prefix}-price`} required inputMode="decimal" value={price} onInput={(e) => setPrice(e.currentTarget.value)} />
      <label for={`${prefix}-currency`}>Currency</label>
      <input id={`${prefix}-currency`} required maxLength={3} value={currency} onInput={(e) => setCurrency(e.currentTarget.value)} />
      <label for={`${prefix}-category`}>Category</label>
      <input id={`${prefix}-category`} required value={category} onInput={(e) => setCategory(e.currentTarget.value)} />
      <label class="check">
        <input type="checkbox" checked={available} onChange={(e) => setAvailable(e.currentTarget.checked)} /> Available
      </label>
      <fieldset class="allergens">
        <legend>Allergens</legend>
        {ALLERGENS.map((allergen) => (
          <label class="check" key={allergen}>
            <input
              type="checkbox"
              checked={allergens.includes(allergen)}
              onChange={(e) => {
                const checked = e.currentTarget.checked;
                setAllergens((now) => (checked ? [...now, allergen] : now.filter((a) => a !== allergen)));
              }}
            />{' '}
            {words(allergen)}
          </label>
        ))}
      </fieldset>
      <ErrorMessage error={error} />
      <p role="status" class="ok-text">
        {saved}
      </p>
      <button type="submit" disabled={busy}>
        {item ? 'Save changes' : 'Add menu item'}
      </button>
    </form>
  );
}
