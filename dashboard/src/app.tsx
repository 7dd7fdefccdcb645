/** The app shell: loads the config, routes between the customer and operator views, holds sign-in state. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { createClient } from './api/client';
import { SignIn } from './components/sign-in';
import type { DashboardConfig } from './config';
import { type Role, readCredential, writeCredential } from './session';
import { CustomerView } from './views/customer-view';
import { OperatorView } from './views/operator-view';

/** `#/operator` is the fleet view; anything else is the customer view. */
function routeFromHash(hash: string): Role {
  return hash.replace(/^#\/?/, '').startsWith('operator') ? 'operator' : 'customer';
}

function useRoute(): Role {
  const [route, setRoute] = useState<Role>(() => routeFromHash(window.location.hash));
  useEffect(() => {
    const onHash = () => setRoute(routeFromHash(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

/** Demo credentials are only hinted at when the API is a local dev stack. */
function isLocal(apiBase: string): boolean {
  const host = new URL(apiBase).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/**
 * The operator tab is for operators: hidden from a signed-in customer (who cannot use it) unless
 * an admin token is also in this tab; `#/operator` still opens the operator sign-in.
 */
export function showFleetTab(route: Role, credentials: Record<Role, string | undefined>): boolean {
  return route === 'operator' || Boolean(credentials.operator) || !credentials.customer;
}

const TITLES: Record<Role, string> = {
  customer: 'Usage and limits · edgelimit',
  operator: 'Fleet health · edgelimit',
};

/** Renders the whole page for the loaded runtime config. */
export function App({ config }: { config: DashboardConfig }) {
  const route = useRoute();
  const [credentials, setCredentials] = useState<Record<Role, string | undefined>>(() => ({
    customer: readCredential('customer', config.apiBase),
    operator: readCredential('operator', config.apiBase),
  }));
  const [notice, setNotice] = useState<Record<Role, string | undefined>>({
    customer: undefined,
    operator: undefined,
  });

  useEffect(() => {
    document.title = TITLES[route];
  }, [route]);

  const signIn = useCallback(
    (role: Role, value: string) => {
      writeCredential(role, config.apiBase, value);
      setCredentials((c) => ({ ...c, [role]: value }));
      setNotice((n) => ({ ...n, [role]: undefined }));
    },
    [config.apiBase],
  );
  const signOut = useCallback(
    (role: Role, message?: string) => {
      writeCredential(role, config.apiBase, undefined);
      setCredentials((c) => ({ ...c, [role]: undefined }));
      setNotice((n) => ({ ...n, [role]: message }));
    },
    [config.apiBase],
  );
  const onCustomerUnauthorized = useCallback((m: string) => signOut('customer', m), [signOut]);
  const onOperatorUnauthorized = useCallback((m: string) => signOut('operator', m), [signOut]);

  const credential = credentials[route];
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <a class="brand" href="#/">
            <span class="brand-mark" aria-hidden="true" />
            edgelimit
          </a>
          <nav aria-label="Views">
            <a href="#/" aria-current={route === 'customer' ? 'page' : undefined}>
              My usage
            </a>
            {showFleetTab(route, credentials) ? (
              <a href="#/operator" aria-current={route === 'operator' ? 'page' : undefined}>
                Fleet health
              </a>
            ) : null}
          </nav>
          {credential ? (
            <button type="button" class="button button-secondary" onClick={() => signOut(route)}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {route === 'customer' ? (
          credential ? (
            <CustomerView
              key={credential}
              config={config}
              apiKey={credential}
              onUnauthorized={onCustomerUnauthorized}
            />
          ) : (
            <SignIn
              config={config}
              title="See your API usage"
              fieldLabel="API key"
              credentialName="API key"
              hint={`The key you send as Authorization: Bearer … or X-API-Key.${
                isLocal(config.apiBase) ? ' Locally, try demo-free-key.' : ''
              }`}
              notice={notice.customer}
              verify={async (key) => {
                await createClient(config.apiBase, key).rateLimit();
              }}
              onSignedIn={(key) => signIn('customer', key)}
            />
          )
        ) : credential ? (
          <OperatorView
            key={credential}
            apiBase={config.apiBase}
            adminToken={credential}
            onUnauthorized={onOperatorUnauthorized}
          />
        ) : (
          <SignIn
            config={config}
            title="Fleet health (operators)"
            fieldLabel="Admin token"
            credentialName="admin token"
            hint={`The worker's ADMIN_TOKEN secret.${
              isLocal(config.apiBase) ? ' Locally, demo-admin-token.' : ''
            }`}
            notice={notice.operator}
            refusedHelp="It must be the worker's ADMIN_TOKEN secret (set with wrangler secret put ADMIN_TOKEN); customer API keys cannot open this view."
            verify={async (token) => {
              await createClient(config.apiBase, token).metrics('1h', 'minute');
            }}
            onSignedIn={(token) => signIn('operator', token)}
          />
        )}
      </main>
      <footer class="footer">
        <div class="footer-inner">
          <span>
            API: <code>{config.apiBase}</code>
          </span>
          <a href={config.docsUrl} target="_blank" rel="noopener noreferrer">
            Rate-limit documentation<span class="visually-hidden"> (opens in a new tab)</span>
          </a>
        </div>
      </footer>
    </>
  );
}
