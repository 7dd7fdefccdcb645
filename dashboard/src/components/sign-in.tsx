/** The sign-in form: checks the credential against the API before keeping it for the session. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import type { DashboardConfig } from '../config';

/** Props of {@link SignIn}. */
export interface SignInProps {
  readonly config: DashboardConfig;
  readonly title: string;
  readonly fieldLabel: string;
  readonly hint: ComponentChildren;
  /** What to call the credential in the "not accepted" message ("API key", "admin token"). */
  readonly credentialName: string;
  /** Resolves when the credential works; rejects with an {@link ApiError} otherwise. */
  verify(credential: string): Promise<void>;
  onSignedIn(credential: string): void;
  /** A message to show on arrival (say, "your session ended"). */
  readonly notice?: string | undefined;
  /** What to do when the credential is refused; default the customer's advice. */
  readonly refusedHelp?: string;
}

/** A single-field form; the credential is never echoed back or put in the URL. */
export function SignIn(props: SignInProps) {
  const { config, title, fieldLabel, hint, credentialName, verify, onSignedIn, notice } = props;
  const refusedHelp =
    props.refusedHelp ?? 'Check it for typos, or ask your account owner for a new one.';
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const submit = async (event: Event) => {
    event.preventDefault();
    const credential = value.trim();
    if (!credential) {
      setError(`Enter your ${credentialName}.`);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await verify(credential);
      onSignedIn(credential);
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'unauthorized') {
        setError(`That ${credentialName} was not accepted. ${refusedHelp}`);
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">{title}</h1>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} noValidate>
        <label for="credential">{fieldLabel}</label>
        <input
          id="credential"
          name="credential"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-describedby={`credential-hint${error ? ' credential-error' : ''}`}
          aria-invalid={error ? true : undefined}
        />
        <p id="credential-hint" class="hint">
          {hint}
        </p>
        {error ? (
          <p id="credential-error" class="field-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="button" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <p class="api-note">
        Signing in to <code>{config.apiBase}</code>. Your {credentialName} is kept in this tab only
        and is forgotten when you close it.
      </p>
      {config.apiSource === 'query' ? (
        <p class="warning" role="note">
          This address was set by the link you followed (<code>?api=</code>). Only sign in if you
          trust <code>{config.apiBase}</code>.
        </p>
      ) : null}
    </section>
  );
}
