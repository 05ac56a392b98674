// The page's frame (skip link, navigation, who is signed in) and its routes.

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { useCart } from './cart';
import { href, useRoute } from './router';
import { hasRole, onSessionChange, session, signOut } from './session';
import { Admin } from './pages/Admin';
import { Cart } from './pages/Cart';
import { Courier } from './pages/Courier';
import { Home } from './pages/Home';
import { Item } from './pages/Item';
import { Login } from './pages/Login';
import { Movies } from './pages/Movies';
import { MyOrders } from './pages/MyOrders';
import { Order } from './pages/Order';
import { Page } from './ui';

function useSession() {
  const [, setRound] = useState(0);
  useEffect(() => onSessionChange(() => setRound((r) => r + 1)), []);
  return session();
}

function Nav({ path }: { path: string }) {
  const who = useSession();
  const cart = useCart();
  const count = cart.reduce((n, l) => n + l.quantity, 0);
  const link = (to: string, label: string, match = (p: string) => p === to) => (
    <li>
      <a href={href(to)} aria-current={match(path) ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <header class="site">
      <a class="brand" href={href('/')}>
        Mesh Eats
      </a>
      <nav aria-label="Main">
        <ul>
          {link('/', 'Menu', (p) => p === '/' || p.startsWith('/menu/'))}
          {link('/movies', 'Movies')}
          {link('/cart', count ? `Cart (${count})` : 'Cart')}
          {(hasRole('customer') || hasRole('admin')) && link('/orders', 'My orders', (p) => p.startsWith('/orders'))}
          {(hasRole('courier') || hasRole('admin')) && link('/courier', 'Courier')}
          {hasRole('admin') && link('/admin', 'Admin')}
        </ul>
      </nav>
      <div class="who">
        {who ? (
          <>
            <span>
              Signed in as <strong>{who.sub}</strong> ({who.roles.join(', ') || 'no role'})
            </span>{' '}
            <button type="button" class="link" onClick={() => signOut()}>
              Sign out
            </button>
          </>
        ) : (
          <a href={href('/login')}>Sign in</a>
        )}
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        There is no page here. <a href={href('/')}>Back to the menu</a>.
      </p>
    </Page>
  );
}

function Routes({ path, query }: { path: string; query: URLSearchParams }) {
  let m: RegExpMatchArray | null;
  if (path === '/' || path === '') return <Home />;
  if ((m = path.match(/^\/menu\/([^/]+)\/?$/))) return <Item id={decodeURIComponent(m[1])} />;
  if (path === '/cart') return <Cart />;
  if (path === '/orders') return <MyOrders />;
  if ((m = path.match(/^\/orders\/([^/]+)\/?$/))) return <Order id={decodeURIComponent(m[1])} />;
  if (path === '/courier') return <Courier orderId={query.get('order') ?? ''} />;
  if (path === '/movies') return <Movies title={query.get('title') ?? ''} />;
  if (path === '/login') return <Login query={query} />;
  if (path === '/admin') return <Admin />;
  return <NotFound />;
}

function App() {
  const route = useRoute();
  useSession();
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Nav path={route.path} />
      <main id="main">
        <Routes path={route.path} query={route.query} />
      </main>
      <footer class="site">
        <p>
          Served by the mesh gateway. The same API: <a href="/graphql">GraphiQL</a>, <a href="/api-docs">REST docs</a>.
        </p>
      </footer>
    </>
  );
}

const root = document.getElementById('root');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
