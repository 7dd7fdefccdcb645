/** Credentials, client addresses, service tokens and identification. */
import { describe, expect, it } from 'vitest';
import { clientIp, readCredentials } from '../../src/identity/credentials';
import { sha256Hex } from '../../src/identity/hash';
import { identify } from '../../src/identity/identify';
import { createServiceTokenVerifier } from '../../src/identity/service-tokens';
import type { ApiKeyRecord } from '../../src/policy/records';

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
    const verify = createServiceTokenVerifier('billing=s3cret, t0ken');
    expect(await verify('s3cret')).toBe('billing');
    expect(await verify('t0ken')).toBe('service-2');
    expect(await verify('s3cre')).toBeUndefined();
    expect(await verify('billing=s3cret')).toBeUndefined();
  });

  it('accepts nothing when no tokens are configured', async () => {
    expect(await createServiceTokenVerifier(undefined)('')).toBeUndefined();
    expect(await createServiceTokenVerifier('')('anything')).toBeUndefined();
  });
});

describe('identify', () => {
  const records = new Map<string, ApiKeyRecord>();
  const deps = {
    verifyServiceToken: createServiceTokenVerifier('search=svc-token'),
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
    expect(await identify(h({ 'X-Service-Token': 'svc-token' }), deps)).toMatchObject({
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
