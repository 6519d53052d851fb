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
const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

function thread(): Worker {
  if (worker !== null) return worker;
  const w = startWorker(import.meta.url, 'fileWriterWorker');
  w.unref();
  w.on('message', (m: { id: number; error?: string }) => {
    const p = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) w.unref();
    if (m.error === undefined) p?.resolve();
    else p?.reject(new Error(m.error));
  });
  const fail = (e: Error): void => {
    worker = null;
    for (const p of waiting.values()) p.reject(e);
    waiting.clear();
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
    waiting.set(id, { resolve, reject });
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
 * once a write that includes its value is durable.
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
