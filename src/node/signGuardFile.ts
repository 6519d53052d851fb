/**
 * The double-sign guard on disk: `<dataDir>/priv_validator_state.json`,
 * replaced atomically (write, fsync, rename, fsync the folder) before every
 * signature leaves the node, with a checksum. A missing file is a fresh
 * validator; a damaged one stops the node: signing from a blank state could
 * sign twice.
 *
 * The locked block itself (needed only to propose it again after a restart)
 * lives in `priv_validator_lock_block.json`, written once per new lock before
 * the state that names it, so a vote's record stays small whatever the block
 * size. The state file holds the lock's hash; safety rests on that alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blockHash, decodeBlock, encodeBlock } from '../codec/block.js';
import type { Block } from '../types/index.js';
import { canonicalJson } from '../codec/canonical.js';
import { EMPTY_GUARD_STATE, SignGuardRules, type GuardState } from '../consensus/signGuard.js';
import { sha256Hex } from '../crypto/hash.js';
import { ErrorCode, FastposError } from '../errors.js';
import { writeFilesDurably } from './fileWriter.js';

export const GUARD_FILE = 'priv_validator_state.json';
export const LOCK_BLOCK_FILE = 'priv_validator_lock_block.json';

/** The guard state as JSON. Files written by earlier versions may embed the locked block (wire form) in the lock. */
type StoredState = Omit<GuardState, 'lock'> & { lock: (Omit<NonNullable<GuardState['lock']>, 'block'> & { block?: unknown }) | null };

/** The state file's form: the lock without its block. */
function toStored(state: GuardState): StoredState {
  if (state.lock === null) return state as StoredState;
  const { height, round, blockHash, polka } = state.lock;
  return { ...state, lock: polka === undefined ? { height, round, blockHash } : { height, round, blockHash, polka } };
}

/** The locked block from the lock-block file, if it is there, intact and the block the lock names. */
function loadLockBlock(dataDir: string, blockHashWanted: string): Block | undefined {
  const file = join(dataDir, LOCK_BLOCK_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { blockHash?: unknown; block?: unknown };
    if (j.blockHash !== blockHashWanted) return undefined;
    const block = decodeBlock(j.block);
    return blockHash(block.header) === blockHashWanted ? block : undefined;
  } catch {
    // Only liveness depends on it: without the block the node keeps its lock and cannot re-propose that block.
    return undefined;
  }
}

function fromStored(s: StoredState, dataDir: string): GuardState {
  if (s.lock === null) return s as GuardState;
  if (s.lock.block !== undefined) return { ...s, lock: { ...s.lock, block: decodeBlock(s.lock.block) } };
  const block = loadLockBlock(dataDir, s.lock.blockHash);
  return block === undefined ? (s as GuardState) : { ...s, lock: { ...s.lock, block } };
}

function checksum(state: StoredState): string {
  return sha256Hex('fastpos/privval/v1\n' + canonicalJson(state));
}

export function loadGuardState(dataDir: string): GuardState {
  const file = join(dataDir, GUARD_FILE);
  if (!existsSync(file)) return EMPTY_GUARD_STATE;
  let j: { state?: StoredState; checksum?: string };
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as typeof j;
  } catch (e) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the double-sign guard record is not readable (${(e as Error).message}); refusing to sign from a blank state. Restore it from a backup, or, only if this key never signed on this chain, delete it.`);
  }
  if (j.state === undefined || typeof j.state.last !== 'object' || j.checksum !== checksum(j.state)) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the double-sign guard record is damaged (checksum mismatch); refusing to sign from a blank state.`);
  }
  try {
    return fromStored(j.state, dataDir);
  } catch (e) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the locked block in the double-sign guard record does not decode (${(e as Error).message})`);
  }
}

/**
 * Writes guard states in order, one at a time, each time the latest one: a
 * state asked for while a write is running is covered by the next write, so a
 * burst of signatures costs one or two fsyncs, and the event loop never waits.
 */
class OrderedWriter {
  private pending: GuardState | null = null;
  /** Hash of the block in the lock-block file on disk (written by this process). */
  private lockBlockOnDisk: string | null = null;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private writing = false;

  constructor(private readonly dataDir: string) {}

  write(state: GuardState): Promise<void> {
    this.pending = state;
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.writing) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.writing = true;
    while (this.pending !== null) {
      const state = this.pending;
      this.pending = null;
      const waiters = this.waiters;
      this.waiters = [];
      try {
        const files: { name: string; data: string }[] = [];
        const lock = state.lock;
        const newLockBlock = lock !== null && lock.block !== undefined && lock.blockHash !== this.lockBlockOnDisk;
        if (newLockBlock) files.push({ name: LOCK_BLOCK_FILE, data: canonicalJson({ blockHash: lock.blockHash, block: encodeBlock(lock.block!) }) });
        const stored = toStored(state);
        files.push({ name: GUARD_FILE, data: JSON.stringify({ state: stored, checksum: checksum(stored) }) });
        // The lock block first, then the state that names it.
        await writeFilesDurably(this.dataDir, files);
        if (newLockBlock) this.lockBlockOnDisk = lock.blockHash;
        for (const w of waiters) w.resolve();
      } catch (e) {
        for (const w of waiters) w.reject(e);
      }
    }
    this.writing = false;
  }
}

export function createFileSignGuard(dataDir: string): SignGuardRules {
  const writer = new OrderedWriter(dataDir);
  return new SignGuardRules(loadGuardState(dataDir), (state) => writer.write(state));
}
