/**
 * Worker thread that verifies batches of Ed25519 signatures with node:crypto,
 * keeping parsed public keys cached (which doubles the verify rate), and
 * computes the lattice elements of a block's changed state entries.
 * A batch travels packed (two strings and one transferred buffer) so that
 * handing it over costs next to nothing on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../crypto/ed25519.js';
import { nameThread } from '../worker.js';
import { LTHASH_BYTES, ltElementOf } from '../state/ltHash.js';

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

/** State entries whose lattice elements are wanted (`ltElementInput` texts). */
export interface ElementJob {
  readonly id: number;
  readonly inputs: readonly string[];
}

function elements(job: ElementJob): void {
  const out = new Uint8Array(job.inputs.length * LTHASH_BYTES);
  for (let i = 0; i < job.inputs.length; i++) {
    const el = ltElementOf(job.inputs[i]!);
    out.set(new Uint8Array(el.buffer, el.byteOffset, LTHASH_BYTES), i * LTHASH_BYTES);
  }
  parentPort!.postMessage({ id: job.id, results: out }, [out.buffer]);
}

parentPort?.on('message', (b: VerifyBatch | ElementJob) => {
  if ('inputs' in b) {
    elements(b);
    return;
  }
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
