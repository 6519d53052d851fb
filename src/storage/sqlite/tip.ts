/**
 * What a SQLite chain file holds at its tip, read without loading the state:
 * genesis hash, height, the tip block's hash and state root, and the stored
 * accumulator (whose digest must be that state root). For checks of a copy
 * that must not cost a full open (a backup just written by a running node).
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeHeader } from '../../codec/block.js';
import { LtHash } from '../../state/ltHash.js';
import { corrupt, orCorrupt } from '../common.js';

export interface StoreTip {
  readonly genesisHash: string;
  readonly height: number;
  readonly blockHash: string;
  readonly stateRoot: string;
}

export function readSqliteTip(dir: string, fileName: string): StoreTip {
  const file = path.join(dir, fileName);
  // Opening a WAL-mode copy makes -shm (and -wal) files beside it: removed again unless they were there, so the copy's file list is what it was.
  const sidecars = [`${file}-shm`, `${file}-wal`].filter((f) => !fs.existsSync(f));
  const db = orCorrupt(file, 'cannot open', () => new Database(file, { readonly: true, fileMustExist: true }));
  try {
    const meta = new Map((db.prepare('SELECT key, value FROM meta').raw().all() as [string, unknown][]).map(([k, v]) => [k, v]));
    const genesisHash = meta.get('genesis_hash');
    const height = meta.get('height');
    const accumulator = meta.get('accumulator');
    if (typeof genesisHash !== 'string' || typeof height !== 'number' || height < 1 || !Buffer.isBuffer(accumulator)) throw corrupt(file, 'holds no finalized block (meta genesis_hash, height or accumulator missing)');
    const row = db.prepare('SELECT hash, data FROM headers WHERE height = ?').get(height) as { hash: string; data: string } | undefined;
    if (row === undefined) throw corrupt(file, `has no header at its height ${height}`);
    const raw = orCorrupt(file, `header ${height}`, () => JSON.parse(row.data) as { header?: unknown });
    const header = orCorrupt(file, `header ${height}`, () => decodeHeader(raw.header ?? raw));
    const root = orCorrupt(file, 'meta.accumulator', () => LtHash.fromBytes(accumulator).digest());
    if (root !== header.stateRoot) throw corrupt(file, `the stored state accumulator does not match block ${height}'s state root ${header.stateRoot}`);
    return { genesisHash, height, blockHash: row.hash, stateRoot: header.stateRoot };
  } finally {
    db.close();
    for (const f of sidecars) fs.rmSync(f, { force: true });
  }
}
