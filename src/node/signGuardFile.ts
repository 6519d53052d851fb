/**
 * The double-sign guard on disk: `<dataDir>/priv_validator_state.json`,
 * replaced atomically (write, fsync, rename, fsync the folder) before every
 * signature leaves the node, with a checksum. It is written (empty) at a
 * node's first start, before the store creates the chain, so that a data dir
 * holding chain data but no guard file is one whose record was lost: a
 * validator refuses to start on it unless told to reset. A damaged file stops
 * the node too: signing from a blank state could sign twice. A failed write
 * fails the guard for good (see `SignGuardRules`).
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
import { writeFileAtomic } from '../storage/common.js';
import { LatestValueWriter } from './fileWriter.js';

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

const RESET_HOW = 'start once with --reset-sign-guard (FASTPOS_RESET_SIGN_GUARD=true, or resetSignGuard: true in config.yaml)';
const DAMAGED_FIX = `Restore it from a backup; or, only if you know this key never signed on this chain, move it aside and ${RESET_HOW}.`;

/** The guard file as written for a state. */
function guardFileText(state: GuardState): string {
  const stored = toStored(state);
  return JSON.stringify({ state: stored, checksum: checksum(stored) });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isHex = (v: unknown, len: number): boolean => typeof v === 'string' && v.length === len && /^[0-9a-f]+$/.test(v);
const STEPS: ReadonlySet<unknown> = new Set(['proposal', 'prevote', 'precommit']);

function isRecord(r: unknown): boolean {
  return isObj(r) && isUint(r.height) && isUint(r.round) && STEPS.has(r.step) && (r.blockHash === null || isHex(r.blockHash, 64)) && isHex(r.signature, 128);
}

/** Whether a parsed guard state has the shape this file writes (checked before its checksum is computed or it is used). */
function isStoredState(s: unknown): s is StoredState {
  if (!isObj(s) || !isObj(s.last) || !Object.values(s.last).every(isRecord)) return false;
  if (s.votes !== undefined && !(isObj(s.votes) && Object.values(s.votes).every((list) => Array.isArray(list) && list.every(isRecord)))) return false;
  const lock = s.lock;
  if (lock === null) return true;
  if (!isObj(lock) || !isUint(lock.height) || !isUint(lock.round) || !isHex(lock.blockHash, 64)) return false;
  if (lock.polka !== undefined && !(Array.isArray(lock.polka) && lock.polka.every((v) => isObj(v) && isHex(v.validatorId, 40) && isHex(v.signature, 128)))) return false;
  return lock.block === undefined || isObj(lock.block);
}

export function loadGuardState(dataDir: string): GuardState {
  const file = join(dataDir, GUARD_FILE);
  if (!existsSync(file)) return EMPTY_GUARD_STATE;
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the double-sign guard record is not readable (${(e as Error).message}); refusing to sign from a blank state. ${DAMAGED_FIX}`);
  }
  if (!isObj(j) || !isStoredState(j.state) || j.checksum !== checksum(j.state)) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the double-sign guard record is damaged (checksum mismatch); refusing to sign from a blank state. ${DAMAGED_FIX}`);
  }
  try {
    return fromStored(j.state, dataDir);
  } catch (e) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the locked block in the double-sign guard record does not decode (${(e as Error).message})`);
  }
}

/**
 * Guard states are written in order, each time the latest one (a burst of
 * signatures costs one or two writes, and the event loop never waits): the
 * lock's block first when the lock names a new one, then the state.
 */
function guardWriter(dataDir: string): LatestValueWriter<GuardState> {
  /** Hash of the block in the lock-block file on disk (written by this process). */
  let lockBlockOnDisk: string | null = null;
  const newLockBlock = (state: GuardState): string | null => {
    const lock = state.lock;
    return lock !== null && lock.block !== undefined && lock.blockHash !== lockBlockOnDisk ? lock.blockHash : null;
  };
  return new LatestValueWriter<GuardState>(
    dataDir,
    (state) => {
      const guard = { name: GUARD_FILE, data: guardFileText(state) };
      const lock = state.lock;
      if (newLockBlock(state) === null || lock === null || lock.block === undefined) return [guard];
      return [{ name: LOCK_BLOCK_FILE, data: canonicalJson({ blockHash: lock.blockHash, block: encodeBlock(lock.block) }) }, guard];
    },
    (state) => {
      lockBlockOnDisk = newLockBlock(state) ?? lockBlockOnDisk;
    },
  );
}

/** The guard of `<dataDir>/priv_validator_state.json` as it is (a missing file: a blank record, written on the first flush). */
export function createFileSignGuard(dataDir: string): SignGuardRules {
  return guardOn(dataDir, loadGuardState(dataDir));
}

function guardOn(dataDir: string, initial: GuardState): SignGuardRules {
  const writer = guardWriter(dataDir);
  const file = join(dataDir, GUARD_FILE);
  return new SignGuardRules(initial, (state) =>
    writer.write(state).catch((e: unknown) => {
      throw new FastposError(
        ErrorCode.INTERNAL,
        `could not write the double-sign guard record ${file} (${(e as Error).message ?? String(e)}); this validator signs nothing more until it is restarted`,
        { file },
      );
    }),
  );
}

export interface OpenFileSignGuardOptions {
  readonly dataDir: string;
  /** Whether the data dir holds chain data (the store's files), looked at before the store opens. */
  readonly chainData: boolean;
  /** Whether this node holds validator keys. */
  readonly signs: boolean;
  /** A validator whose guard file is missing beside chain data starts from a blank record (the operator knows the key never signed on this chain). */
  readonly reset: boolean;
}

/**
 * The guard a node starts with. The file is read if it is there. If it is
 * not: on a data dir without chain data (a first start) an empty record is
 * written now, durably; beside chain data, a validator is refused with
 * CORRUPT_DATA (its record was lost, and a blank one could sign twice) unless
 * `reset` is given, which writes the empty record. A node without validator
 * keys has nothing to guard and starts with a blank record in memory.
 */
export function openFileSignGuard(o: OpenFileSignGuardOptions): { guard: SignGuardRules; created: 'loaded' | 'first start' | 'reset' | 'blank' } {
  const file = join(o.dataDir, GUARD_FILE);
  if (existsSync(file)) return { guard: createFileSignGuard(o.dataDir), created: 'loaded' };
  if (o.chainData && o.signs && !o.reset) {
    throw new FastposError(
      ErrorCode.CORRUPT_DATA,
      `${file} is missing, but ${o.dataDir} holds chain data: the double-sign guard record of this validator (${GUARD_FILE}) was lost, and signing from a blank record could sign twice. ` +
        `Restore ${GUARD_FILE} from a backup of this data dir; or, only if you know this key never signed on this chain, ${RESET_HOW}.`,
      { file },
    );
  }
  if (o.chainData && !o.signs) return { guard: guardOn(o.dataDir, EMPTY_GUARD_STATE), created: 'blank' };
  writeFileAtomic(o.dataDir, GUARD_FILE, guardFileText(EMPTY_GUARD_STATE), 0o600);
  return { guard: guardOn(o.dataDir, EMPTY_GUARD_STATE), created: o.chainData ? 'reset' : 'first start' };
}
