/**
 * Cryptographic primitives on node:crypto: SHA-256, SHAKE-256, Ed25519 (RFC 8032)
 * with raw 32-byte keys, addresses (protocol §2) and the public development keys.
 * Pure functions: no I/O, no clock, no randomness (new key pairs: `client/keygen.ts`).
 * @module
 */
export * from './hash.js';
export * from './ed25519.js';
export * from './keys.js';
