import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker.js';
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../crypto/ed25519.js';
import type { VerifyBatch } from './verifyWorker.js';

import type { SignatureVerifier, VerifyItem } from './context.js';

export type { SignatureVerifier, VerifyItem } from './context.js';

interface Pending {
  item: VerifyItem;
  resolve: (ok: boolean) => void;
}

const MAX_BATCH = 64;
/** A batch this large goes to a free worker at once; a smaller one waits up to COALESCE_MS for more. */
const COALESCE_ITEMS = 32;
const COALESCE_MS = 2;
/**
 * Batches a worker may hold at once: while it checks one, the next waits in
 * its port, so it never idles while the main thread is busy with a block.
 */
const MAX_IN_FLIGHT = 2;

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

interface Slot {
  readonly worker: Worker;
  /** Batches handed to the worker and not answered yet. */
  inFlight: number;
}

/**
 * Pull-based pool: requests gather for at most COALESCE_MS (or until
 * COALESCE_ITEMS are queued) and then go to idle workers, up to MAX_BATCH
 * each. While the queue holds a full batch more, a busy worker is handed it
 * too (at most MAX_IN_FLIGHT per worker): it starts on it as soon as it is
 * done with the one before, without waiting for the main thread, which may be
 * building or executing a block meanwhile. Under light load a signature waits
 * a few milliseconds at most; under heavy load each hand-over (which wakes a
 * thread, a costly step on virtual machines) carries many signatures.
 */
class WorkerPoolVerifier implements SignatureVerifier {
  private readonly workers: Slot[] = [];
  private readonly callbacks = new Map<number, (results: Uint8Array) => void>();
  private queue: Pending[] = [];
  private dispatchTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = startWorker(import.meta.url, 'verifyWorker');
      worker.unref();
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (m: { id: number; results: Uint8Array }) => {
        slot.inFlight--;
        const cb = this.callbacks.get(m.id);
        this.callbacks.delete(m.id);
        // Full batches go at once; a smaller one to an idle worker waits for the gathering timer.
        this.topUp();
        if (this.queue.length > 0 && this.workers.some((w) => w.inFlight === 0)) this.dispatchTimer ??= setTimeout(() => this.dispatch(), COALESCE_MS);
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
      if (this.queue.length >= COALESCE_ITEMS) this.topUp();
      if (this.queue.length > 0 && this.dispatchTimer === null) this.dispatchTimer = setTimeout(() => this.dispatch(), COALESCE_MS);
    });
  }

  /** Hands full batches to workers with room: idle ones first, then those with one batch in hand. */
  private topUp(): void {
    for (let depth = 0; depth < MAX_IN_FLIGHT; depth++) {
      for (const slot of this.workers) {
        if (this.queue.length < COALESCE_ITEMS) return;
        if (slot.inFlight === depth) this.send(slot);
      }
    }
  }

  /**
   * Hands what is queued to idle workers once the gathering timer fires. Requests gather for a few
   * milliseconds first: each hand-over wakes a thread, which on a loaded
   * machine costs a context switch on both sides, so fewer, larger batches
   * leave more CPU for everything else.
   */
  private dispatch(): void {
    if (this.dispatchTimer !== null) clearTimeout(this.dispatchTimer);
    this.dispatchTimer = null;
    this.topUp();
    for (const slot of this.workers) {
      if (this.queue.length === 0) break;
      if (slot.inFlight === 0) this.send(slot);
    }
  }

  verifyMany(items: readonly VerifyItem[]): Promise<boolean[]> {
    return Promise.all(items.map((i) => this.verify(i)));
  }

  /** Hands the next batch to a worker, packed as two strings and one transferred buffer. */
  private send(slot: Slot): void {
    const idle = this.workers.filter((w) => w.inFlight === 0).length;
    const take = Math.min(MAX_BATCH, Math.ceil(this.queue.length / Math.max(1, idle)));
    const part = this.queue.splice(0, take);
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
    slot.inFlight++;
    slot.worker.postMessage(batch, [messages.buffer, lengths.buffer]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.dispatchTimer !== null) clearTimeout(this.dispatchTimer);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** `threads` = 0 verifies on the calling thread. */
export function createVerifier(threads: number): SignatureVerifier {
  return threads > 0 ? new WorkerPoolVerifier(threads) : new InlineVerifier();
}
