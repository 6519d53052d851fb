import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

// DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface KeyPair {
  /** 32-byte private seed, hex. */
  readonly privateKey: string;
  /** 32-byte raw public key, hex. */
  readonly publicKey: string;
}

/** A signer holding a parsed private key: signing is then a single native call. */
export interface Signer {
  readonly publicKey: string;
  sign(message: Uint8Array): string;
}

export function privateKeyObject(seedHex: string): KeyObject {
  const seed = Buffer.from(seedHex, 'hex');
  if (seed.length !== 32) throw new RangeError('Ed25519 private key must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/**
 * A parsed public key from its raw 32 bytes. Imported as a JWK: OpenSSL then
 * takes the raw key as it is, where a DER import runs its decoder chain and
 * costs about as much as one signature check.
 */
export function publicKeyObject(pubKeyHex: string): KeyObject {
  const raw = Buffer.from(pubKeyHex, 'hex');
  if (raw.length !== 32) throw new RangeError('Ed25519 public key must be 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function publicKeyFromPrivate(seedHex: string): string {
  const der = createPublicKey(privateKeyObject(seedHex)).export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length).toString('hex');
}

export function createSigner(seedHex: string): Signer {
  const key = privateKeyObject(seedHex);
  const publicKey = publicKeyFromPrivate(seedHex);
  return { publicKey, sign: (message) => sign(null, message, key).toString('hex') };
}


const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/**
 * Verifies an Ed25519 signature. Never throws: malformed keys or signatures are
 * simply invalid. `cache` keeps parsed public keys, which doubles the verify rate.
 */
export function verifySignature(
  pubKeyHex: string,
  message: Uint8Array,
  signatureHex: string,
  cache?: Map<string, KeyObject>,
): boolean {
  if (!HEX64.test(pubKeyHex) || !HEX128.test(signatureHex)) return false;
  try {
    let key = cache?.get(pubKeyHex);
    if (key === undefined) {
      key = publicKeyObject(pubKeyHex);
      if (cache !== undefined) {
        if (cache.size >= 100_000) cache.clear();
        cache.set(pubKeyHex, key);
      }
    }
    return verify(null, message, key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}
