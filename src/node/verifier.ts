import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker.js';
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../crypto/ed25519.js';
import type { VerifyBatch } from './verifyWorker.js';

export interface VerifyItem {
  readonly pubKey: string;
  readonly message: Uint8Array;
  readonly signature: string;
}

/** Verifies Ed25519 signatures off the main thread, batching what arrives in one turn of the event loop. */
export interface SignatureVerifier {
  verify(item: VerifyItem): Promise<boolean>;
  verifyMany(items: readonly VerifyItem[]): Promise<boolean[]>;
  close(): Promise<void>;
}

interface Pending {
  item: VerifyItem;
  resolve: (ok: boolean) => void;
}

const MAX_BATCH = 256;
/** Queue length that triggers a hand-over at once; below it, at most 1 ms of waiting. */
const FLUSH_AT = 64;

class InlineVerifier implements SignatureVerifier {
  private readonly cache = new Map<string, KeyObject>();
  async verify(item: VerifyItem): Promise<boolean> {
    return verifySignature(item.pubKey, item.message, item.signature, this.cache);
  }
  async verifyMany(items: readonly VerifyItem[]): Promise<boolean[]> {
    return items.map((i) => verifySignature(i.pubKey, i.message, i.signature, this.cache));
  }
  async close(): Promise<void> {}
}

class WorkerPoolVerifier implements SignatureVerifier {
  private readonly workers: { worker: Worker; inflight: number }[] = [];
  private readonly callbacks = new Map<number, (results: Uint8Array) => void>();
  private queue: Pending[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = startWorker(import.meta.url, 'verifyWorker');
      worker.unref();
      const slot = { worker, inflight: 0 };
      worker.on('message', (m: { id: number; results: Uint8Array }) => {
        slot.inflight--;
        const cb = this.callbacks.get(m.id);
        this.callbacks.delete(m.id);
        cb?.(m.results);
      });
      worker.on('error', (e) => {
        // A crashed verifier is a bug; fail loudly rather than accept unverified txs.
        throw e;
      });
      this.workers.push(slot);
    }
  }

  verify(item: VerifyItem): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('verifier closed'));
    return new Promise((resolve) => {
      this.queue.push({ item, resolve });
      // Gather a few requests per hand-over: each postMessage has a fixed cost.
      if (this.queue.length >= FLUSH_AT) {
        if (this.flushTimer !== null) clearTimeout(this.flushTimer);
        this.flushTimer = null;
        this.flush();
      } else if (this.flushTimer === null) {
        this.flushTimer = setTimeout(() => {
          this.flushTimer = null;
          this.flush();
        }, 1);
      }
    });
  }

  verifyMany(items: readonly VerifyItem[]): Promise<boolean[]> {
    return Promise.all(items.map((i) => this.verify(i)));
  }

  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    // Spread the turn's work evenly, in chunks, over the least busy workers.
    const chunks = queue.length < 16 ? 1 : Math.max(this.workers.length, Math.ceil(queue.length / MAX_BATCH));
    const size = Math.ceil(queue.length / chunks);
    for (let start = 0; start < queue.length; start += size) {
      const part = queue.slice(start, start + size);
      const slot = this.workers.reduce((a, b) => (b.inflight < a.inflight ? b : a));
      const id = this.nextId++;
      let total = 0;
      for (const p of part) total += p.item.message.length;
      const messages = new Uint8Array(total);
      const lengths = new Uint32Array(part.length);
      let off = 0;
      let pubKeys = '';
      let signatures = '';
      for (let i = 0; i < part.length; i++) {
        const it = part[i]!.item;
        // Malformed hex would shift the packing: such items are refused here.
        if (it.pubKey.length !== 64 || it.signature.length !== 128) {
          pubKeys += '0'.repeat(64);
          signatures += '0'.repeat(128);
        } else {
          pubKeys += it.pubKey;
          signatures += it.signature;
        }
        messages.set(it.message, off);
        lengths[i] = it.message.length;
        off += it.message.length;
      }
      const batch: VerifyBatch = { id, pubKeys, signatures, messages: messages.buffer, lengths };
      this.callbacks.set(id, (results) =>
        part.forEach((p, i) => p.resolve(results[i] === 1 && p.item.pubKey.length === 64 && p.item.signature.length === 128)),
      );
      slot.inflight++;
      slot.worker.postMessage(batch, [messages.buffer, lengths.buffer]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** `threads` = 0 verifies on the calling thread. */
export function createVerifier(threads: number): SignatureVerifier {
  return threads > 0 ? new WorkerPoolVerifier(threads) : new InlineVerifier();
}
