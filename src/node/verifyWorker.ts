/**
 * Worker thread that verifies batches of Ed25519 signatures with node:crypto,
 * keeping parsed public keys cached (which doubles the verify rate).
 * A batch travels packed (two strings and one transferred buffer) so that
 * handing it over costs next to nothing on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../crypto/ed25519.js';
import { nameThread } from '../worker.js';

export interface VerifyBatch {
  readonly id: number;
  /** Public keys, 64 hex chars each, concatenated. */
  readonly pubKeys: string;
  /** Signatures, 128 hex chars each, concatenated. */
  readonly signatures: string;
  /** Messages, concatenated. */
  readonly messages: ArrayBuffer;
  /** Length of each message. */
  readonly lengths: Uint32Array;
}

nameThread('fastpos-verify');
const cache = new Map<string, KeyObject>();

parentPort?.on('message', (b: VerifyBatch) => {
  const n = b.lengths.length;
  const results = new Uint8Array(n);
  const all = new Uint8Array(b.messages);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const len = b.lengths[i]!;
    const msg = all.subarray(off, off + len);
    off += len;
    results[i] = verifySignature(b.pubKeys.slice(i * 64, i * 64 + 64), msg, b.signatures.slice(i * 128, i * 128 + 128), cache) ? 1 : 0;
  }
  parentPort!.postMessage({ id: b.id, results }, [results.buffer]);
});
