/** Vite build of the dashboard: Preact JSX through the built-in transform, relative asset paths. */
import { defineConfig } from 'vite';

export default defineConfig({
  // Relative URLs so the same build works at a Pages root, a sub-path or from the local server.
  base: './',
  // Vite 8 maps these esbuild options onto its Oxc transform; no Preact plugin is needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  envPrefix: 'VITE_',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
