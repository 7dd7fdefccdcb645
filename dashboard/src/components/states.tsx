/** Loading, empty and error states, so every panel tells the user what is going on. */
import type { ComponentChildren } from 'preact';

/** A placeholder while the first answer is on its way. */
export function Loading({ what }: { what: string }) {
  return (
    <p class="state state-loading" role="status">
      <span class="spinner" aria-hidden="true" />
      Loading {what}…
    </p>
  );
}

/** Nothing to show yet, with a hint on how to get something. */
export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state state-empty">{children}</p>;
}

/** A failure with an optional retry; announced to screen readers. */
export function ErrorNotice({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  return (
    <div class="state state-error" role="alert">
      <p>{error.message}</p>
      {onRetry ? (
        <button type="button" class="button button-secondary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** "Updated 3 s ago · refreshes every 5 s", or the reason the last refresh failed. */
export function Freshness({
  updatedAt,
  now,
  everyMs,
  error,
}: {
  updatedAt: number | undefined;
  now: number;
  everyMs: number;
  error?: Error | undefined;
}) {
  const seconds =
    updatedAt === undefined ? undefined : Math.max(0, Math.floor((now - updatedAt) / 1000));
  return (
    <p class={`freshness${error ? ' is-stale' : ''}`}>
      {updatedAt === undefined ? 'Not loaded yet' : `Updated ${seconds} s ago`}
      {` · refreshes every ${Math.round(everyMs / 1000)} s`}
      {error ? ` · last refresh failed: ${error.message}` : ''}
    </p>
  );
}
