/**
 * The customer-facing rate-limit documentation the worker serves itself under the reserved prefix
 * (so the link in every problem body resolves out of the box): plain HTML, readable on a phone,
 * with the limits of the policy in force. Pure: the route passes the policy and the prefix.
 */
import type { Settings } from '../env';
import type { Limit as LimitSpec } from '../policy/limit-spec';
import type { PolicyConfig } from '../policy/records';

/** Path of the page under the reserved prefix. */
export const DOCS_PAGE_PATH = '/docs/rate-limits';

/**
 * The documentation URL linked from problem bodies: `DOCS_URL` when the operator set one, else
 * this worker's own page, absolute on the host the request came to (without a request, as RPC
 * calls have none, the page's path on this worker).
 * @example docsUrlFor(settings, c.req.url) // 'https://api.example.com/_edgelimit/docs/rate-limits'
 */
export function docsUrlFor(settings: Pick<Settings, 'docsUrl' | 'prefix'>, requestUrl?: string) {
  if (settings.docsUrl) return settings.docsUrl;
  const path = `${settings.prefix}${DOCS_PAGE_PATH}`;
  return requestUrl ? new URL(path, requestUrl).href : path;
}

const UNITS: Record<string, [string, string]> = {
  s: ['second', 'seconds'],
  m: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  d: ['day', 'days'],
};

/** `100 per minute`, `3 per 5 seconds`. */
export function describeLimit(l: LimitSpec): string {
  const match = /^(\d+)([smhd])$/.exec(l.window);
  const count = l.limit.toLocaleString('en-US');
  if (!match) return `${count} per ${l.window}`;
  const n = Number(match[1]);
  const unit = UNITS[match[2] ?? 'm'] ?? ['minute', 'minutes'];
  return `${count} per ${n === 1 ? unit[0] : `${n} ${unit[1]}`}`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function limitsText(limits: readonly LimitSpec[] | undefined): string {
  return limits?.length ? limits.map(describeLimit).join(', ') : 'no limit';
}

const TIER_NOTES: Record<string, string> = {
  free: 'Free',
  pro: 'Pro',
  enterprise: 'Enterprise (default; your contract may set your own limits)',
  anonymous: 'No API key (per client IP address)',
};

/** Renders the page for the policy in force; `origin` is the API's, for the examples. */
export function renderDocsPage(policy: PolicyConfig, prefix: string, origin: string): string {
  const tiers = Object.entries(policy.tiers)
    .map(
      ([tier, limits]) =>
        `<tr><th scope="row">${esc(TIER_NOTES[tier] ?? tier)}</th><td>${esc(limitsText(limits))}</td></tr>`,
    )
    .join('');
  const rules = policy.endpoints
    .filter((r) => !r.shadow)
    .map((r) => {
      const perTier = Object.entries(r.limits)
        .map(([tier, limits]) => `${esc(tier)}: ${esc(limitsText(limits))}`)
        .join('; ');
      return `<li><code>${esc(r.method)} ${esc(r.path)}</code> — ${perTier}</li>`;
    })
    .join('');
  const guess = limitsText(policy.keyGuessLimit);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rate limits</title>
<style>
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;max-width:46rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.7rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin-top:2rem;border-top:1px solid #e5e7eb;padding-top:1rem}
code,pre{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;border-radius:4px}
code{padding:.1em .3em}pre{padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid #e5e7eb}
a{color:#1d4ed8}dt{font-weight:600;margin-top:.75rem}dd{margin:0 0 0 1rem}
</style>
</head>
<body>
<main>
<h1>Rate limits</h1>
<p>Every request to this API counts against the limits of your plan. Limits are sliding windows:
a request is allowed when fewer than the limit were allowed in the window that ends now
(for example the last 60 seconds), so quota comes back gradually, one request at a time, as old
requests leave the window.</p>

<h2 id="limits">The limits</h2>
<table><thead><tr><th scope="col">Plan</th><th scope="col">Limits</th></tr></thead><tbody>${tiers}</tbody></table>
${rules ? `<p>Some endpoints have stricter limits of their own, counted on top of your plan's:</p><ul>${rules}</ul>` : ''}
<p>A request rejected by one limit uses none of the others. Internal services using a service
token are not limited.</p>

<h2 id="headers">The response headers</h2>
<dl>
<dt><code>X-RateLimit-Limit</code></dt><dd>The limit of the window that will block you first.</dd>
<dt><code>X-RateLimit-Remaining</code></dt><dd>Requests left in that window.</dd>
<dt><code>X-RateLimit-Reset</code></dt><dd>Unix time (seconds) when that window next gives quota back.</dd>
<dt><code>RateLimit-Policy</code></dt><dd>Every window that applies, e.g. <code>"minute";q=100;w=60</code>: <code>q</code> requests per <code>w</code> seconds.</dd>
<dt><code>RateLimit</code></dt><dd>Every window's state, e.g. <code>"minute";r=42;t=18</code>: <code>r</code> requests remaining, and more quota in <code>t</code> seconds.</dd>
<dt><code>Retry-After</code></dt><dd>On a 429: whole seconds to wait before retrying.</dd>
<dt><code>X-Edgelimit-Status</code></dt><dd><code>allowed</code>, <code>rejected</code>, <code>bypassed</code>, <code>failed-open</code>, <code>failed-closed</code> or <code>unauthenticated</code>.</dd>
<dt><code>X-Edgelimit-Warning</code>, <code>X-Edgelimit-Delay</code></dt><dd>Sent when you are close to a limit and your plan slows requests down before rejecting them.</dd>
</dl>

<h2 id="quota-exceeded">When you get a 429: wait and retry</h2>
<p>A <code>429 Too Many Requests</code> answer means a limit is full. Its body
(<code>application/problem+json</code>) names the limit (<code>violated-policies</code>,
<code>limit</code>, <code>window</code>) and when to retry (<code>retryAfter</code> seconds,
<code>retryAt</code>).</p>
<ol>
<li>Wait the number of seconds in <code>Retry-After</code>. A request sent after exactly that long is allowed.</li>
<li>Retry once; do not retry in a tight loop, because rejected requests are not free for you.</li>
<li>To avoid 429s, watch <code>X-RateLimit-Remaining</code> and slow down as it nears 0.</li>
</ol>
<pre>curl -si ${esc(origin)}/v1/search -X POST -H "X-API-Key: $KEY" | grep -i -E '^(retry-after|ratelimit)'</pre>
<p>Read your limits and what is left without using any quota:
<code>GET ${esc(prefix)}/rate_limit</code> with your API key. Your usage history:
<code>GET ${esc(prefix)}/usage?range=1h</code>.</p>

<h2 id="store-unavailable">503: the rate limiter is unavailable</h2>
<p>Rarely, the counters cannot be read in time and your plan is set to refuse requests rather than
let them through unchecked. Retry after <code>Retry-After</code> (one second).</p>

<h2 id="authentication">401: the API key or token was not accepted</h2>
<dl>
<dt id="unknown-api-key"><code>unknown-api-key</code></dt><dd>No such key. Check for a typo or a key from another environment.</dd>
<dt id="revoked-api-key"><code>revoked-api-key</code></dt><dd>The key was revoked. Ask for a new one.</dd>
<dt id="malformed-api-key"><code>malformed-api-key</code></dt><dd>The key has characters or a length no key has.</dd>
<dt id="invalid-service-token"><code>invalid-service-token</code></dt><dd>The service token is wrong. A wrong token is never a bypass.</dd>
</dl>
<p>Failed attempts are limited per client address (${esc(guess)}); past that, they get a 429 too.
Send the key as <code>X-API-Key: &lt;key&gt;</code> or <code>Authorization: Bearer &lt;key&gt;</code>.</p>

<h2 id="increase-requests">Asking for a higher limit</h2>
<p>Need more for a launch or a sale? Ask for a temporary increase from the dashboard
(“Request a temporary increase”) or with:</p>
<pre>curl -X POST ${esc(origin)}${esc(prefix)}/usage/increase-request \\
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
  -d '{"reason":"Launch day","limits":[{"limit":5000,"window":"1m"}],"until":"2030-11-30T00:00:00Z"}'</pre>
<p><code>reason</code> is required; <code>limits</code> and <code>until</code> (UTC) are
optional. You can send 5 requests per hour. An operator reviews each one; once granted, the
increase applies at once and ends by itself at its end time.</p>
</main>
</body>
</html>
`;
}
