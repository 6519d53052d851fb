/**
 * The double-sign guard on disk: `<dataDir>/priv_validator_state.json`,
 * replaced atomically (write, fsync, rename, fsync the folder) before every
 * signature leaves the node, with a checksum. A missing file is a fresh
 * validator; a damaged one stops the node: signing from a blank state could
 * sign twice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBlock, encodeBlock } from '../codec/block.js';
import { canonicalJson } from '../codec/canonical.js';
import { EMPTY_GUARD_STATE, SignGuardRules, type GuardState } from '../consensus/signGuard.js';
import { sha256Hex } from '../crypto/hash.js';
import { ErrorCode, FastposError } from '../errors.js';
import { open, rename } from 'node:fs/promises';

export const GUARD_FILE = 'priv_validator_state.json';

/** The guard state as JSON: a locked block is written in its wire form. */
type StoredState = Omit<GuardState, 'lock'> & { lock: (Omit<NonNullable<GuardState['lock']>, 'block'> & { block?: unknown }) | null };

function toStored(state: GuardState): StoredState {
  if (state.lock === null || state.lock.block === undefined) return state as StoredState;
  return { ...state, lock: { ...state.lock, block: encodeBlock(state.lock.block) } };
}

function fromStored(s: StoredState): GuardState {
  if (s.lock === null || s.lock.block === undefined) return s as GuardState;
  return { ...s, lock: { ...s.lock, block: decodeBlock(s.lock.block) } };
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
    return fromStored(j.state);
  } catch (e) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the locked block in the double-sign guard record does not decode (${(e as Error).message})`);
  }
}

/** Atomic replace off the event loop: write a temp file, fsync, rename, fsync the folder. */
async function writeAtomicAsync(dir: string, name: string, data: string): Promise<void> {
  const tmp = join(dir, name + '.tmp');
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * Writes guard states in order, one at a time, each time the latest one: a
 * state asked for while a write is running is covered by the next write, so a
 * burst of signatures costs one or two fsyncs, and the event loop never waits.
 */
class OrderedWriter {
  private pending: GuardState | null = null;
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
        const stored = toStored(state);
        await writeAtomicAsync(this.dataDir, GUARD_FILE, JSON.stringify({ state: stored, checksum: checksum(stored) }));
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
