/** Plain-text output of the admin CLI: padded tables and key/value blocks. */

/**
 * Formats rows as a table with an upper-case header, columns padded to their widest cell and
 * separated by two spaces; the last column is not padded, so lines carry no trailing spaces.
 * @example formatTable(['window', 'limit'], [['1m', '100']]) // 'WINDOW  LIMIT\n1m      100'
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      headers
        .map((_, i) => {
          const cell = row[i] ?? '';
          return i === headers.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * Formats label/value pairs with the values aligned; pairs whose value is `undefined` are left out.
 * @example formatFields([['customer', 'acme'], ['tier', 'pro']]) // 'customer  acme\ntier      pro'
 */
export function formatFields(pairs: readonly (readonly [string, string | undefined])[]): string {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`.trimEnd()).join('\n');
}

/** A titled section: the title, then the body, or `(none)`. */
export function section(title: string, body: string): string {
  return `${title}\n${body.trim() ? body : '(none)'}`;
}

/** `100/1m, 1000/1d`. */
export function formatLimits(limits: readonly { limit: number; window: string }[]): string {
  return limits.map((l) => `${l.limit}/${l.window}`).join(', ');
}

/** A time as ISO 8601 with how far away it is: `2030-01-01T00:00:00.000Z (in 2h 5m)`. */
export function formatTime(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return iso;
  const delta = at - now;
  const span = formatSpan(Math.abs(delta));
  return `${iso} (${delta >= 0 ? `in ${span}` : `${span} ago`})`;
}

function formatSpan(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)}s`;
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return (
    [d ? `${d}d` : '', h ? `${h}h` : '', m && !d ? `${m}m` : ''].filter(Boolean).join(' ') || '0m'
  );
}
