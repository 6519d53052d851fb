/**
 * Atomic, durable file replacement off the event loop, for the double-sign
 * guard and the pending evidence list. Each file is written to a temporary name, fsynced, renamed over the
 * old one, and the folder fsynced (`writeFileAtomic`). The calls run on one
 * worker thread shared by the process: with the libuv pool each of those
 * steps was a separate hop back through the event loop, and on a busy node
 * every hop waits behind other work (tens of milliseconds per record,
 * measured under load), while this costs one message each way.
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker.js';

export interface FileWriteRequest {
  readonly id: number;
  readonly dir: string;
  /** Written in this order, each one atomically. */
  readonly files: readonly { readonly name: string; readonly data: string }[];
}

let worker: Worker | null = null;
let nextId = 1;
/** Requests in flight, with the thread that has them: only that thread's answer or failure settles them. */
const waiting = new Map<number, { readonly thread: Worker; resolve: () => void; reject: (e: Error) => void }>();

function thread(): Worker {
  if (worker !== null) return worker;
  const w = startWorker(import.meta.url, 'fileWriterWorker');
  w.unref();
  w.on('message', (m: { id: number; error?: string }) => {
    const p = waiting.get(m.id);
    if (p === undefined || p.thread !== w) return;
    waiting.delete(m.id);
    if (![...waiting.values()].some((q) => q.thread === w)) w.unref();
    // Success only on an answer without an error, for this very request.
    if (m.error === undefined) p.resolve();
    else p.reject(new Error(m.error));
  });
  const fail = (e: Error): void => {
    if (worker === w) worker = null;
    for (const [id, p] of waiting) {
      if (p.thread !== w) continue;
      waiting.delete(id);
      p.reject(e);
    }
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`file writer thread exited (code ${code})`)));
  worker = w;
  return w;
}

/** Replaces `files` in `dir`, in order, each atomically and durably; resolves once all are on disk. */
export function writeFilesDurably(dir: string, files: FileWriteRequest['files']): Promise<void> {
  const w = thread();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { thread: w, resolve, reject });
    // Keeps the process alive while a record is being written.
    w.ref();
    w.postMessage({ id, dir, files } satisfies FileWriteRequest);
  });
}

type Files = FileWriteRequest['files'];

/**
 * Keeps the latest of a series of values on disk, one write at a time: a
 * value given while a write runs is covered by the next write (values in
 * between are skipped), so a burst costs one or two writes. `write` resolves
 * once a write that includes its value is durable, and rejects when the write
 * that was to cover it failed (that of a later value, if it was skipped): a
 * value is never reported durable on the strength of another write. A later
 * value gets its own write; callers for whom one failure must stop everything
 * (the double-sign guard) keep that failure themselves.
 */
export class LatestValueWriter<T> {
  private pending: { value: T } | null = null;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private writing = false;

  /** `files` gives what to write for a value; `written` runs after those files are durable. */
  constructor(
    private readonly dir: string,
    private readonly files: (value: T) => Files,
    private readonly written?: (value: T) => void,
  ) {}

  write(value: T): Promise<void> {
    this.pending = { value };
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.writing) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.writing = true;
    while (this.pending !== null) {
      const { value } = this.pending;
      this.pending = null;
      const waiters = this.waiters;
      this.waiters = [];
      try {
        await writeFilesDurably(this.dir, this.files(value));
        this.written?.(value);
        for (const w of waiters) w.resolve();
      } catch (e) {
        for (const w of waiters) w.reject(e);
      }
    }
    this.writing = false;
  }
}
