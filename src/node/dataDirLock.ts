/**
 * One process per data dir: `lockDataDir` takes an exclusive lock on
 * `<dataDir>/LOCK` before anything else in the data dir is opened, so a second
 * node on the same data dir (which would sign with the same validator keys and
 * write the same store) is refused at start.
 *
 * The lock is SQLite's own file lock (`locking_mode=EXCLUSIVE` and an open
 * `BEGIN EXCLUSIVE` transaction on an empty database): the operating system
 * drops it when the process ends in any way, `kill -9` included, so a crash
 * never leaves a stale lock behind. SQLite also tracks its locks inside the
 * process, so a second lock on the same data dir from the same process (nodes
 * embedded in one program) is refused too. The holder writes its process id to
 * `LOCK.pid` so that a refused start can name it.
 *
 * Nothing else may open `LOCK`: closing any other descriptor of that file in
 * the holding process would drop the process's POSIX locks on it.
 * @module
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, FastposError } from '../errors.js';

export const DATA_DIR_LOCK_FILE = 'LOCK';
export const DATA_DIR_PID_FILE = 'LOCK.pid';

export interface DataDirLock {
  readonly dataDir: string;
  /** Gives the data dir up (idempotent). */
  release(): void;
}

/** The process id the current holder wrote, if it can be read. */
function holderPid(dataDir: string): number | undefined {
  try {
    const text = readFileSync(join(dataDir, DATA_DIR_PID_FILE), 'utf8').trim();
    return /^[0-9]{1,10}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the data dir (creating it if needed) for this process, or throws
 * INVALID_CONFIG naming the process that holds it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, DATA_DIR_LOCK_FILE);
  let db: Database.Database | undefined;
  try {
    // timeout 0: a held lock is an answer, not something to wait for.
    db = new Database(file, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db?.close();
    if (e instanceof Database.SqliteError && (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED')) {
      const pid = holderPid(dataDir);
      const holder = pid === undefined ? 'another fastpos process' : `another fastpos process (pid ${pid})`;
      throw new FastposError(
        ErrorCode.INVALID_CONFIG,
        `data dir ${dataDir} is in use by ${holder}: only one node may run on a data dir. Stop that process first, or give this node its own data dir.`,
        { dataDir, ...(pid === undefined ? {} : { pid }) },
      );
    }
    throw new FastposError(ErrorCode.INVALID_CONFIG, `${file}: cannot lock the data dir (${(e as Error).message})`, { dataDir });
  }
  const pidFile = join(dataDir, DATA_DIR_PID_FILE);
  try {
    writeFileSync(pidFile, `${process.pid}\n`);
  } catch (e) {
    db.close();
    throw new FastposError(ErrorCode.INVALID_CONFIG, `${pidFile}: cannot write (${(e as Error).message})`, { dataDir });
  }
  let held: Database.Database | null = db;
  return {
    dataDir,
    release(): void {
      if (held === null) return;
      const db = held;
      held = null;
      try {
        // Removed while still held, so a new holder's file is never the one removed.
        rmSync(pidFile, { force: true });
      } finally {
        db.close();
      }
    },
  };
}
