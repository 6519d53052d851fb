import * as nodeCrypto from 'node:crypto';

const { createHash } = nodeCrypto;
// One-shot hashing (Node 20.12+) is about 3× faster than createHash for small inputs.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array | string, enc: 'hex' | 'buffer') => string | Buffer }).hash;

/** SHA-256 of bytes or a UTF-8 string, as a Buffer. */
export function sha256(data: Uint8Array | string): Buffer {
  if (oneShot !== undefined) return oneShot('sha256', data, 'buffer') as Buffer;
  return createHash('sha256').update(data).digest();
}

/** SHA-256 as lowercase hex. */
export function sha256Hex(data: Uint8Array | string): string {
  if (oneShot !== undefined) return oneShot('sha256', data, 'hex') as string;
  return createHash('sha256').update(data).digest('hex');
}

/** SHAKE-256 extendable output of `length` bytes. */
export function shake256(data: Uint8Array | string, length: number): Buffer {
  return createHash('shake256', { outputLength: length }).update(data).digest();
}

/** 32 zero bytes in hex: the "no previous" hash. */
export const ZERO_HASH = '0'.repeat(64);
