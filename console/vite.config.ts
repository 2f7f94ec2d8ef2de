/**
 * The console's build: React's TSX compiled by Vite's esbuild (automatic runtime, no plugin), into
 * dist/console/ which `serve` hands out under a CSP without inline scripts or styles, so nothing may
 * be inlined into index.html and no polyfill script is injected.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    // every asset a file of its own: the CSP allows 'self', and data: only for images
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8477' } },
});
