/** Build-time variables the dashboard reads (`VITE_EDGELIMIT_API=https://api.example.com vite build`). */
interface ImportMetaEnv {
  readonly VITE_EDGELIMIT_API?: string;
  readonly VITE_EDGELIMIT_DOCS?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
