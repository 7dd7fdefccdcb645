/** SHA-256 helpers for API keys and service tokens (Web Crypto, available in workerd). */

const encoder = new TextEncoder();

/** Lowercase hex SHA-256 of a string: how API keys are stored and looked up. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Raw SHA-256 digest, for constant-time comparison of equal-length values. */
export async function sha256Bytes(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}
