import { sha256Hex, shake256 } from '../crypto/hash.js';

/**
 * LtHash16 (Bellare–Micciancio's lattice hash as used by Facebook's "Securing
 * update propagation with homomorphic hashing", 2019): a multiset hash that is
 * updated in time proportional to the entries that change. Each entry maps to
 * 1024 16-bit lanes by SHAKE-256 (lanes read little-endian); the accumulator is
 * their lane-wise sum mod 2^16. Adding then removing an entry restores the
 * accumulator exactly, so the state root after a block depends only on the
 * resulting state, not on the history.
 */
export const LTHASH_LANES = 1024;
export const LTHASH_BYTES = LTHASH_LANES * 2;
const WORDS = LTHASH_LANES / 2;
const DOMAIN = 'fastpos/state/v1\n';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HIGH = 0x80008000;
const LOW = 0x7fff7fff;

export type LtElement = Uint16Array;

/** What an entry's element hashes (after the domain prefix): key, newline, canonical value JSON. */
export function ltElementInput(key: string, valueJson: string): string {
  return key + '\n' + valueJson;
}

/** The lattice element of one state entry (key + canonical value JSON). */
export function ltElement(key: string, valueJson: string): LtElement {
  return ltElementOf(ltElementInput(key, valueJson));
}

/** The lattice element of an entry given as `ltElementInput(key, valueJson)`. */
export function ltElementOf(input: string): LtElement {
  const out = shake256(DOMAIN + input, LTHASH_BYTES);
  if (LITTLE_ENDIAN) {
    // The digest owns its memory: the lanes read it in place when it is aligned.
    if (out.byteOffset === 0 && out.buffer.byteLength === LTHASH_BYTES) return new Uint16Array(out.buffer, out.byteOffset, LTHASH_LANES);
    const lanes = new Uint16Array(LTHASH_LANES);
    new Uint8Array(lanes.buffer).set(out);
    return lanes;
  }
  const lanes = new Uint16Array(LTHASH_LANES);
  for (let i = 0; i < LTHASH_LANES; i++) lanes[i] = out[2 * i]! | (out[2 * i + 1]! << 8);
  return lanes;
}

/** Two 16-bit lanes per 32-bit word: lane-wise sum and difference mod 2^16 without carries between lanes. */
function words(a: Uint16Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, WORDS);
}

export class LtHash {
  readonly lanes: Uint16Array;
  constructor(lanes?: Uint16Array) {
    this.lanes = lanes ? Uint16Array.from(lanes) : new Uint16Array(LTHASH_LANES);
  }
  add(e: LtElement): void {
    const a = words(this.lanes);
    const b = words(e);
    for (let i = 0; i < WORDS; i++) {
      const x = a[i]!;
      const y = b[i]!;
      a[i] = ((x & LOW) + (y & LOW)) ^ ((x ^ y) & HIGH);
    }
  }
  remove(e: LtElement): void {
    const a = words(this.lanes);
    const b = words(e);
    for (let i = 0; i < WORDS; i++) {
      const x = a[i]!;
      const y = b[i]!;
      a[i] = ((x | HIGH) - (y & LOW)) ^ ((x ^ ~y) & HIGH);
    }
  }
  clone(): LtHash {
    return new LtHash(this.lanes);
  }
  /** Little-endian bytes of the lanes (for storage). */
  toBytes(): Buffer {
    const b = Buffer.alloc(LTHASH_BYTES);
    for (let i = 0; i < LTHASH_LANES; i++) b.writeUInt16LE(this.lanes[i]!, 2 * i);
    return b;
  }
  static fromBytes(b: Uint8Array): LtHash {
    if (b.length !== LTHASH_BYTES) throw new RangeError(`LtHash needs ${LTHASH_BYTES} bytes, got ${b.length}`);
    const lanes = new Uint16Array(LTHASH_LANES);
    for (let i = 0; i < LTHASH_LANES; i++) lanes[i] = b[2 * i]! | (b[2 * i + 1]! << 8);
    return new LtHash(lanes);
  }
  /** State root: sha256 of the accumulator bytes, hex. */
  digest(): string {
    return sha256Hex(Buffer.concat([Buffer.from('fastpos/stateroot/v1\n'), this.toBytes()]));
  }
}
