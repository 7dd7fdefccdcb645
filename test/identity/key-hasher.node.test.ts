import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/identity/hash';
import { createKeyHasher } from '../../src/identity/key-hasher';

const digest = crypto.subtle.digest.bind(crypto.subtle);
let digests = 0;

/** Counts the real digests while a test runs. */
function countDigests() {
  digests = 0;
  Object.defineProperty(crypto.subtle, 'digest', {
    configurable: true,
    value: (...args: Parameters<SubtleCrypto['digest']>) => {
      digests++;
      return digest(...args);
    },
  });
}

afterEach(() => {
  Object.defineProperty(crypto.subtle, 'digest', { configurable: true, value: digest });
});

describe('createKeyHasher', () => {
  it('answers what sha256Hex answers, first time and remembered', async () => {
    const hashKey = createKeyHasher(16);
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 200 }), async (key) => {
        const expected = await sha256Hex(key);
        expect(await hashKey(key)).toBe(expected);
        expect(await hashKey(key)).toBe(expected);
      }),
    );
  });

  it('answers a remembered key at once, without a promise', async () => {
    const hashKey = createKeyHasher(4);
    const first = hashKey('live-key-dddd');
    expect(first).toBeInstanceOf(Promise);
    const hash = await first;
    expect(hashKey('live-key-dddd')).toBe(hash);
  });

  it('hashes a key once per isolate, and again only after the bound dropped it', async () => {
    countDigests();
    const hashKey = createKeyHasher(2);
    for (let i = 0; i < 100; i++) await hashKey('live-key-aaaa');
    expect(digests).toBe(1);
    await hashKey('live-key-bbbb');
    await hashKey('live-key-cccc');
    expect(digests).toBe(3);
    // The oldest of the three is gone: bounded memory, however many keys callers try.
    await hashKey('live-key-aaaa');
    expect(digests).toBe(4);
  });
});
