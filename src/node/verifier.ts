import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker.js';
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../crypto/ed25519.js';
import type { ElementJob, VerifyBatch } from './verifyWorker.js';
import { LTHASH_BYTES, LTHASH_LANES } from '../state/ltHash.js';

import type { SignatureVerifier, VerifyItem } from './context.js';

export type { SignatureVerifier, VerifyItem } from './context.js';

interface Pending {
  item: VerifyItem;
  resolve: (ok: boolean) => void;
}

/** Signatures per hand-over at most (about 14 ms of one core's work). */
const MAX_BATCH = 128;
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
 * A pool of worker threads fed in batches. Requests queue up while the main
 * thread handles what the network delivered in this turn of the event loop
 * (one request or a hundred); right after that turn, the queue is shared out
 * among the workers, idle ones first. A worker may hold a second batch while
 * it checks the first (at most MAX_IN_FLIGHT), so it goes on without waiting
 * for the main thread, which may be building or executing a block meanwhile.
 * Under light load a signature is handed over at once; under heavy load each
 * hand-over (which wakes a thread, a costly step on virtual machines)
 * carries many signatures.
 */
class WorkerPoolVerifier implements SignatureVerifier {
  private readonly workers: Slot[] = [];
  private readonly callbacks = new Map<number, (results: Uint8Array) => void>();
  private queue: Pending[] = [];
  private scheduled: NodeJS.Immediate | null = null;
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
        this.dispatch();
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
      this.scheduled ??= setImmediate(() => {
        this.scheduled = null;
        this.dispatch();
      });
    });
  }

  /** Shares the queue out among the workers with room, the least loaded first. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let least = MAX_IN_FLIGHT;
      for (const w of this.workers) least = Math.min(least, w.inFlight);
      if (least >= MAX_IN_FLIGHT) return;
      const peers = this.workers.filter((w) => w.inFlight === least);
      const take = Math.min(MAX_BATCH, Math.ceil(this.queue.length / peers.length));
      for (const slot of peers) {
        if (this.queue.length === 0) return;
        this.send(slot, take);
      }
    }
  }

  verifyMany(items: readonly VerifyItem[]): Promise<boolean[]> {
    return Promise.all(items.map((i) => this.verify(i)));
  }

  /**
   * Shares the inputs out among all workers at once (ahead of queued signature
   * batches they do not hold yet); each element comes back in its own memory.
   */
  stateElements(inputs: readonly string[]): Promise<Uint16Array[]> {
    if (this.closed) return Promise.reject(new Error('verifier closed'));
    const per = Math.ceil(inputs.length / this.workers.length);
    const parts: Promise<Uint16Array[]>[] = [];
    for (let w = 0; w < this.workers.length && w * per < inputs.length; w++) {
      const slot = this.workers[w]!;
      const chunk = inputs.slice(w * per, (w + 1) * per);
      const id = this.nextId++;
      parts.push(
        new Promise((resolve) => {
          this.callbacks.set(id, (bytes) => {
            const out: Uint16Array[] = [];
            for (let i = 0; i < chunk.length; i++) {
              const el = new Uint16Array(LTHASH_LANES);
              new Uint8Array(el.buffer).set(bytes.subarray(i * LTHASH_BYTES, (i + 1) * LTHASH_BYTES));
              out.push(el);
            }
            resolve(out);
          });
        }),
      );
      slot.inFlight++;
      const job: ElementJob = { id, inputs: chunk };
      slot.worker.postMessage(job);
    }
    return Promise.all(parts).then((lists) => lists.flat());
  }

  /** Hands the next `take` queued checks to a worker, packed as two strings and one transferred buffer. */
  private send(slot: Slot, take: number): void {
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
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** `threads` = 0 verifies on the calling thread. */
export function createVerifier(threads: number): SignatureVerifier {
  return threads > 0 ? new WorkerPoolVerifier(threads) : new InlineVerifier();
}
