/**
 * Writer thread of the SQLite store: owns the connection that commits blocks,
 * so that the fsync of a durable commit never blocks the node's event loop.
 * Answers each commit with {height} or {height, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BlockWriter, configureConnection, type BlockWriterOptions, type CommitMessage } from './writer.js';
import { nameThread } from '../../worker.js';

nameThread('fastpos-sqlite');
const { file, options } = workerData as { file: string; options: BlockWriterOptions };
const db = new Database(file);
configureConnection(db);
const writer = new BlockWriter(db, options);

parentPort!.on('message', (m: CommitMessage | 'close') => {
  if (m === 'close') {
    db.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    writer.commit(m);
    parentPort!.postMessage({ height: m.height });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    parentPort!.postMessage({ height: m.height, error: { code: err.code ?? 'UNKNOWN', message: err.message ?? String(e) } });
  }
});
parentPort!.postMessage({ ready: true });
