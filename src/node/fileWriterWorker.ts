/**
 * Thread of the file writer (see fileWriter.ts): replaces files atomically
 * with blocking calls, so that one write of several files costs the node's
 * event loop one message each way instead of a hop per file operation.
 */
import { parentPort } from 'node:worker_threads';
import { writeFileAtomic } from '../storage/common.js';
import type { FileWriteRequest } from './fileWriter.js';
import { nameThread } from '../worker.js';

nameThread('fastpos-files');
parentPort!.on('message', (m: FileWriteRequest) => {
  try {
    for (const f of m.files) writeFileAtomic(m.dir, f.name, f.data, 0o600);
    parentPort!.postMessage({ id: m.id });
  } catch (e) {
    // Never an answer without `error` for a failed write: that would read as success.
    const message = e instanceof Error ? e.message : String(e);
    parentPort!.postMessage({ id: m.id, error: message === '' ? 'write failed' : message });
  }
});
