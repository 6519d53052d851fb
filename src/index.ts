/**
 * The library face of fastpos for integrators: the typed HTTP client, local
 * signing, the canonical encodings and hashes, and the domain types. A node
 * is started with the `fastpos` command (or `runNode` from here).
 * @module
 */
export * from './client/index.js';
export * from './types/index.js';
export { FastposError, ErrorCode } from './errors.js';
export { canonicalJson } from './codec/canonical.js';
export { decodeTx, encodeTx, txSignBytes } from './codec/tx.js';
export { blockHash, commitHash, decodeFinalizedBlock, voteSignBytes } from './codec/block.js';
export { envelopeSignBytes } from './codec/envelope.js';
export { verifyCommit } from './consensus/commit.js';
export { buildValidatorSet } from './consensus/validatorSet.js';
export { addressFromPubKey, devAccount, devValidator } from './crypto/keys.js';
export { createSigner, verifySignature } from './crypto/ed25519.js';
export { runNode } from './node/run.js';
