/**
 * New Ed25519 key pairs from the operating system's randomness (kept out of
 * the deterministic core, which never draws random numbers).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { publicKeyFromPrivate, type KeyPair } from '../crypto/ed25519.js';

export function generateKeyPair(): KeyPair {
  const seed = randomBytes(32).toString('hex');
  return { privateKey: seed, publicKey: publicKeyFromPrivate(seed) };
}
