// Builds the page into dist/, which the gateway serves under /app/ (GATEWAY_APP_DIR).
// Everything the page loads is bundled here from npm packages: no CDN, works offline.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/app/',
  // Preact's JSX runtime, without a framework plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The gateway's CSP allows no inline script or style: keep every asset a file.
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev` against a gateway on :3000 (scripts/up).
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:3000', ws: true },
      '/auth': 'http://127.0.0.1:3000',
    },
  },
});
