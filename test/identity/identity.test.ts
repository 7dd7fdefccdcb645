/** Credentials, client addresses, service tokens and identification. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { type Bindings, readSettings } from '../../src/env';
import { clientIp, readCredentials } from '../../src/identity/credentials';
import { sha256Hex } from '../../src/identity/hash';
import { identify } from '../../src/identity/identify';
import { createServiceTokenVerifier, parseServiceTokens } from '../../src/identity/service-tokens';
import type { ApiKeyRecord } from '../../src/policy/records';
import { testWorker } from '../support/app';

const h = (init: Record<string, string>) => new Headers(init);

describe('readCredentials', () => {
  it('prefers X-Service-Token, then X-API-Key, then Authorization: Bearer', () => {
    expect(readCredentials(h({ 'X-Service-Token': ' t ', 'X-API-Key': 'k'.repeat(10) }))).toEqual({
      kind: 'service-token',
      token: 't',
    });
    expect(readCredentials(h({ 'X-API-Key': 'key-12345' }))).toEqual({
      kind: 'api-key',
      key: 'key-12345',
    });
    expect(readCredentials(h({ Authorization: 'bearer   key-12345 ' }))).toEqual({
      kind: 'api-key',
      key: 'key-12345',
    });
    expect(
      readCredentials(h({ 'X-API-Key': 'key-12345', Authorization: 'Bearer key-12345' })),
    ).toEqual({
      kind: 'api-key',
      key: 'key-12345',
    });
  });

  it('leaves other Authorization schemes to the origin and treats no key as anonymous', () => {
    expect(readCredentials(h({ Authorization: 'Basic dXNlcjpwYXNz' }))).toEqual({ kind: 'none' });
    expect(readCredentials(h({}))).toEqual({ kind: 'none' });
  });

  it('explains empty, malformed and conflicting keys', () => {
    expect(readCredentials(h({ 'X-API-Key': ' ' }))).toEqual({
      kind: 'malformed',
      message: 'the API key is empty',
    });
    expect(readCredentials(h({ 'X-API-Key': 'bad key with spaces' }))).toMatchObject({
      kind: 'malformed',
      message: expect.stringContaining('got 19 characters'),
    });
    expect(
      readCredentials(h({ 'X-API-Key': 'aaaaaaaa', Authorization: 'Bearer bbbbbbbb' })),
    ).toMatchObject({
      kind: 'malformed',
      message: expect.stringContaining('different keys'),
    });
  });
});

describe('clientIp', () => {
  it('reads CF-Connecting-IP and refuses anything that is not an address', () => {
    expect(clientIp(h({ 'CF-Connecting-IP': '203.0.113.7' }))).toBe('203.0.113.7');
    expect(clientIp(h({ 'CF-Connecting-IP': '2001:db8::1' }))).toBe('2001:db8::1');
    expect(clientIp(h({ 'CF-Connecting-IP': 'evil}{key' }))).toBe('unknown');
    expect(clientIp(h({ 'X-Forwarded-For': '203.0.113.7' }))).toBe('unknown');
  });
});

describe('createServiceTokenVerifier', () => {
  it('names services by their entry, or by position when unnamed', async () => {
    const verify = createServiceTokenVerifier('billing=s3cret-s3cret-s3cret, t0ken-t0ken-t0ken');
    expect(await verify('s3cret-s3cret-s3cret')).toBe('billing');
    expect(await verify('t0ken-t0ken-t0ken')).toBe('service-2');
    expect(await verify('s3cret-s3cret-s3cre')).toBeUndefined();
    expect(await verify('billing=s3cret-s3cret-s3cret')).toBeUndefined();
  });

  it('accepts nothing when no tokens are configured', async () => {
    expect(await createServiceTokenVerifier(undefined)('')).toBeUndefined();
    expect(await createServiceTokenVerifier('')('anything')).toBeUndefined();
  });

  it('refuses empty and short tokens, empty entries and repeated names, naming the entry', () => {
    expect(() => parseServiceTokens('billing=')).toThrow(
      'entry 1 (billing): the token is empty, at least 16 are needed',
    );
    expect(() => parseServiceTokens('a-long-enough-token-1,,')).toThrow('entry 2 is empty');
    expect(() => parseServiceTokens('short')).toThrow('entry 1: the token is 5 characters');
    expect(() => parseServiceTokens('x=a-long-enough-token-1,x=a-long-enough-token-2')).toThrow(
      'the name x is used twice',
    );
  });
});

describe('token settings', () => {
  const base = { ...env, SERVICE_TOKENS: 'search=a-long-enough-token-1' };

  it('are a settings error naming the variable, never a bypass', () => {
    expect(() => readSettings({ ...base, SERVICE_TOKENS: 'billing=' })).toThrow(
      'SERVICE_TOKENS: entry 1 (billing): the token is empty',
    );
    expect(() => readSettings({ ...base, ADMIN_TOKEN: 'short' })).toThrow(
      'ADMIN_TOKEN: the value: the token is 5 characters',
    );
  });

  it('take ADMIN_TOKEN verbatim: a comma is part of it, not a separator', async () => {
    const settings = readSettings({ ...base, ADMIN_TOKEN: 'first-fragment-x,second-fragment-y' });
    expect(settings.adminToken).toBe('first-fragment-x,second-fragment-y');
    const target = testWorker({ ADMIN_TOKEN: 'first-fragment-x,second-fragment-y' });
    const ip = { 'CF-Connecting-IP': '198.51.100.77' };
    const fragment = await target.fetch('/_edgelimit/admin/policy', {
      headers: { ...ip, Authorization: 'Bearer first-fragment-x' },
    });
    expect(fragment.status).toBe(401);
    const whole = await target.fetch('/_edgelimit/admin/policy', {
      headers: { ...ip, Authorization: 'Bearer first-fragment-x,second-fragment-y' },
    });
    expect(whole.status).toBe(200);
  });

  it('never let an empty X-Service-Token through', async () => {
    const broken = testWorker({ SERVICE_TOKENS: 'billing=' });
    const response = await broken.fetch('/v1/x', { headers: { 'X-Service-Token': '' } });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('SERVICE_TOKENS');
    const empty = await testWorker().fetch('/v1/x', { headers: { 'X-Service-Token': '' } });
    expect(empty.status).toBe(401);
  });
});

describe('identify', () => {
  const records = new Map<string, ApiKeyRecord>();
  const deps = {
    verifyServiceToken: createServiceTokenVerifier('search=svc-token-0123456789'),
    config: { apiKey: async (hash: string) => records.get(hash) ?? null },
  };
  const createdAt = '2026-01-01T00:00:00.000Z';

  it('identifies customers by the hash of their key, and rejects unknown and revoked keys', async () => {
    records.set(await sha256Hex('live-key-1'), { customerId: 'acme', createdAt });
    records.set(await sha256Hex('dead-key-1'), { customerId: 'acme', createdAt, revoked: true });
    const ip = { 'CF-Connecting-IP': '198.51.100.1' };
    expect(await identify(h({ ...ip, 'X-API-Key': 'live-key-1' }), deps)).toEqual({
      ok: true,
      caller: {
        kind: 'customer',
        customerId: 'acme',
        keyHash: await sha256Hex('live-key-1'),
        ip: '198.51.100.1',
      },
    });
    expect(await identify(h({ ...ip, 'X-API-Key': 'dead-key-1' }), deps)).toMatchObject({
      ok: false,
      failure: { code: 'revoked-api-key', ip: '198.51.100.1' },
    });
    expect(await identify(h({ 'X-API-Key': 'other-key-1' }), deps)).toMatchObject({
      ok: false,
      failure: { code: 'unknown-api-key' },
    });
  });

  it('bypasses for a valid service token and never downgrades an invalid one', async () => {
    expect(await identify(h({ 'X-Service-Token': 'svc-token-0123456789' }), deps)).toMatchObject({
      ok: true,
      caller: { kind: 'service', service: 'search' },
    });
    records.set(await sha256Hex('live-key-2'), { customerId: 'acme', createdAt });
    expect(
      await identify(h({ 'X-Service-Token': 'wrong', 'X-API-Key': 'live-key-2' }), deps),
    ).toMatchObject({ ok: false, failure: { code: 'invalid-service-token' } });
  });

  it('treats a request without credentials as anonymous, by address', async () => {
    expect(await identify(h({ 'CF-Connecting-IP': '192.0.2.9' }), deps)).toEqual({
      ok: true,
      caller: { kind: 'anonymous', ip: '192.0.2.9' },
    });
  });
});

describe('consistency settings', () => {
  it('give fast decisions a wait of their own (LEASE_WAIT_MS, 250 ms) apart from the store budget', () => {
    const {
      CONSISTENCY: _c,
      LEASE_WAIT_MS: _w,
      ...unset
    } = env as typeof env & {
      LEASE_WAIT_MS?: string;
    };
    // A deployment whose wrangler.toml omits both: the schema's defaults apply.
    const defaults = readSettings({ ...unset } as Bindings);
    expect(defaults.consistency).toBe('fast');
    expect(defaults.leaseWaitMs).toBe(250);
    expect(defaults.storeBudgetMs).toBe(50);
    expect(readSettings({ ...env, LEASE_WAIT_MS: '400' }).leaseWaitMs).toBe(400);
    expect(() => readSettings({ ...env, LEASE_WAIT_MS: '0' })).toThrow(/LEASE_WAIT_MS/);
    expect(() => readSettings({ ...env, CONSISTENCY: 'eventual' })).toThrow(/CONSISTENCY/);
  });

  it('turn the return timer on unless LEASE_RETURN_TIMER says false, and name a bad value', () => {
    const { LEASE_RETURN_TIMER: _t, ...unset } = env as typeof env & {
      LEASE_RETURN_TIMER?: string;
    };
    // The suite sets it to false; a deployment that omits it gets the timer.
    expect(readSettings({ ...unset } as Bindings).leaseReturnTimer).toBe(true);
    expect(readSettings({ ...env, LEASE_RETURN_TIMER: 'false' }).leaseReturnTimer).toBe(false);
    expect(() => readSettings({ ...env, LEASE_RETURN_TIMER: 'yes' })).toThrow(
      /LEASE_RETURN_TIMER: Invalid option: expected one of "true"\|"false"/,
    );
  });
});
