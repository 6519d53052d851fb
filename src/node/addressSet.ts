/**
 * A set of addresses (40 lowercase hex) kept flat: 20 bytes per address and a
 * 4-byte slot, off the JS heap, where a `Set<string>` costs about 90 bytes of
 * heap per address (a genesis of a million accounts: about 40 MiB instead of
 * about 90). Open addressing with linear probing; the slot comes from a hash
 * keyed by a random key drawn per set, so that a crafted list of addresses
 * cannot be made to share slots (and turn each insert into a long probe).
 * @module
 */
import { randomBytes } from 'node:crypto';

const ADDRESS_BYTES = 20;

export class AddressSet {
  private keys = Buffer.alloc(ADDRESS_BYTES * 1024);
  /** Index + 1 of the address in `keys`; 0: empty. Its length is a power of two, at least twice `count`. */
  private slots = new Int32Array(2048);
  private count = 0;
  private readonly k0: number;
  private readonly k1: number;

  constructor() {
    const k = randomBytes(8);
    this.k0 = k.readUInt32LE(0);
    this.k1 = k.readUInt32LE(4);
  }

  get size(): number {
    return this.count;
  }

  /** Adds an address (40 lowercase hex); false when the set holds it already. */
  add(address: string): boolean {
    if (this.keys.length < (this.count + 1) * ADDRESS_BYTES) {
      const grown = Buffer.alloc(Math.ceil(this.keys.length * 1.5 / ADDRESS_BYTES) * ADDRESS_BYTES);
      this.keys.copy(grown, 0, 0, this.count * ADDRESS_BYTES);
      this.keys = grown;
    }
    const at = this.count * ADDRESS_BYTES;
    if (this.keys.write(address, at, ADDRESS_BYTES, 'hex') !== ADDRESS_BYTES || address.length !== 2 * ADDRESS_BYTES) {
      throw new RangeError(`not an address: ${address}`);
    }
    const mask = this.slots.length - 1;
    for (let s = this.hashAt(at) & mask; ; s = (s + 1) & mask) {
      const held = this.slots[s]!;
      if (held === 0) {
        this.slots[s] = this.count + 1;
        break;
      }
      if (this.keys.compare(this.keys, at, at + ADDRESS_BYTES, (held - 1) * ADDRESS_BYTES, held * ADDRESS_BYTES) === 0) return false;
    }
    this.count++;
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    return true;
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let i = 0; i < this.count; i++) {
      let s = this.hashAt(i * ADDRESS_BYTES) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = i + 1;
    }
    this.slots = slots;
  }

  /** A keyed 32-bit hash of the 20 bytes at `at` (multiply-xorshift rounds, murmur3's finalizer). */
  private hashAt(at: number): number {
    let h = this.k0;
    for (let i = 0; i < ADDRESS_BYTES; i += 4) {
      h = Math.imul(h ^ this.keys.readUInt32LE(at + i), 0x9e3779b1);
      h ^= h >>> 15;
      h = Math.imul(h ^ this.k1, 0x85ebca6b);
    }
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }
}
