/**
 * Reading a genesis file without the whole document in memory. The file is
 * parsed as a stream (`@streamparser/json`, 64 KiB at a time): every member but
 * `accounts` is collected and decoded as `decodeGenesis` does; the accounts
 * are checked one at a time as they go by (the same messages, in the same
 * order of checks), counted, and written into the genesis hash's input. A
 * genesis of up to `keepAccounts` accounts keeps them as an array; a larger one
 * gets an accounts source that reads them from the file again on each
 * iteration (the first start's state rows, `GET /genesis`, a backup), checking
 * on the way that the file still holds the accounts it held at start.
 * @module
 */
import { closeSync, copyFileSync, openSync, readSync, statSync } from 'node:fs';
import type { Hash } from 'node:crypto';
import { JSONParser } from '@streamparser/json';
import { ErrorCode, FastposError } from '../errors.js';
import { GenesisAccountHasher, decodeGenesis, decodeGenesisAccount, decodeGenesisAccounts, devAccountAddresses, duplicateAccount, type ScannedGenesisAccounts } from '../state/genesis.js';
import type { Genesis, GenesisAccount, GenesisAccounts } from '../types/index.js';
import { AddressSet } from './addressSet.js';

/**
 * Bytes read per step. Small, so that the accounts of one step (queued until
 * they are handed out) die young instead of reaching V8's old generation.
 */
const CHUNK_BYTES = 64 * 1024;
/** Up to this many accounts a genesis keeps them in memory (a few MiB); a larger one reads them from its file when needed. */
export const KEEP_GENESIS_ACCOUNTS = 10_000;

/** A top-level member or an account of `accounts`, in file order. */
interface Visitor {
  member(key: string, value: unknown): void;
  /** Account `i` of the `occurrence`-th `accounts` member (JSON allows a key twice; the last one counts, as for `JSON.parse`). */
  account(raw: unknown, i: number, occurrence: number): void;
}

/**
 * Streams the file through the parser, pausing after each chunk read (a
 * consumer that stops early closes the file): the root object's members go to
 * `member` (`accounts` as an empty array or object), the elements of
 * `accounts` to `account`, and both are dropped from the parser's own tree as
 * they come. Returns whether the root is an object (a root of another kind is
 * parsed to its end, its values unseen). Throws the parser's error for text
 * that is not one JSON value.
 */
function* scanGenesisFile(path: string, visit: Visitor): Generator<void, boolean> {
  const parser = new JSONParser({ paths: ['$.*', '$.accounts.*'], keepStack: false });
  let rootIsObject: boolean | undefined;
  let occurrence = 0;
  const counts: number[] = [];
  parser.onValue = ({ value, key, parent, stack }) => {
    if (rootIsObject !== true) return;
    if (stack.length === 1 && typeof key === 'string') {
      visit.member(key, value);
      if (key === 'accounts') occurrence++;
    } else if (stack.length === 2 && stack[1]?.key === 'accounts' && parent !== undefined) {
      // The parser keeps the members of a value it will emit (`accounts`): drop each one once seen.
      if (Array.isArray(parent)) {
        parent.length = 0;
        const i = counts[occurrence] ?? 0;
        counts[occurrence] = i + 1;
        visit.account(value, i, occurrence);
      } else if (key !== undefined) {
        delete (parent as Record<string, unknown>)[String(key)];
      }
    }
  };
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      let chunk = buf.subarray(0, n);
      if (rootIsObject === undefined) {
        let at = 0;
        while (at < chunk.length && (chunk[at] === 0x20 || chunk[at] === 0x09 || chunk[at] === 0x0a || chunk[at] === 0x0d)) at++;
        if (at < chunk.length) {
          // JSON text has no byte order mark: JSON.parse refuses one, the stream parser would skip it.
          if (chunk[at] === 0xef) throw new Error('unexpected byte order mark at the start of the file');
          rootIsObject = chunk[at] === 0x7b;
        }
        chunk = chunk.subarray(at);
      }
      if (chunk.length > 0) parser.write(chunk);
      yield;
    }
    if (rootIsObject === undefined) throw new Error('unexpected end of input: the file holds no JSON value');
    if (!parser.isEnded) parser.end();
  } finally {
    closeSync(fd);
  }
  return rootIsObject;
}

interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
}

function stampOf(path: string): FileStamp | undefined {
  try {
    const st = statSync(path);
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** What the first read of a file found about its accounts. */
interface AccountsScan {
  readonly path: string;
  readonly stamp: FileStamp;
  /** Which `accounts` member of the file holds them (the last one). */
  readonly occurrence: number;
  readonly count: number;
  readonly hasher: GenesisAccountHasher;
  readonly fundsDevAccount: boolean;
}

/** A genesis file's accounts, read from the file again on each iteration. */
class FileGenesisAccounts implements ScannedGenesisAccounts {
  readonly length: number;
  readonly fundsDevAccount: boolean;
  private readonly digest: string;

  constructor(private readonly scanned: AccountsScan) {
    this.length = scanned.count;
    this.fundsDevAccount = scanned.fundsDevAccount;
    this.digest = scanned.hasher.hashSoFar().digest('hex');
  }

  hashedThroughAccounts(): Hash {
    return this.scanned.hasher.hashSoFar();
  }

  private changed(): FastposError {
    return new FastposError(
      ErrorCode.INVALID_GENESIS,
      `genesis file ${this.scanned.path} has changed since the node read it at start (its accounts are read from it again when needed): put back the file the node started with, or restart the node`,
    );
  }

  /** Throws unless the file has the size and modification time it had when it was read. */
  checkUnchanged(): void {
    const now = stampOf(this.scanned.path);
    if (now === undefined || now.size !== this.scanned.stamp.size || now.mtimeMs !== this.scanned.stamp.mtimeMs) throw this.changed();
  }

  /** Copies the genesis file (the document the node read) to `dest`. */
  copyTo(dest: string): void {
    this.checkUnchanged();
    copyFileSync(this.scanned.path, dest);
    this.checkUnchanged();
  }

  *[Symbol.iterator](): Iterator<GenesisAccount> {
    const { path, occurrence } = this.scanned;
    const changed = (): FastposError => this.changed();
    this.checkUnchanged();
    const hasher = new GenesisAccountHasher();
    let queue: GenesisAccount[] = [];
    const chunks = scanGenesisFile(path, {
      member: () => {},
      account: (raw, i, at) => {
        if (at !== occurrence) return;
        try {
          queue.push(decodeGenesisAccount(raw, i));
        } catch {
          throw changed();
        }
      },
    });
    let count = 0;
    try {
      for (;;) {
        let done: boolean | undefined;
        try {
          done = chunks.next().done;
        } catch (e) {
          throw e instanceof FastposError ? e : changed();
        }
        const piece = queue;
        queue = [];
        for (const a of piece) {
          if (++count > this.length) throw changed();
          hasher.add(a);
          yield a;
        }
        if (done === true) break;
      }
    } finally {
      chunks.return(false);
    }
    if (count !== this.length || hasher.hashSoFar().digest('hex') !== this.digest) throw changed();
  }
}

/**
 * Reads and checks a genesis file (see the module comment). Errors are
 * `INVALID_GENESIS`: `genesis file <path> cannot be read as JSON: …` for a file
 * that cannot be read or is not one JSON value, `genesis file <path>: …` with
 * `decodeGenesis`'s message for a document that is not a valid genesis.
 */
export function readGenesisFile(path: string, opts: { keepAccounts?: number } = {}): Genesis {
  const keep = opts.keepAccounts ?? KEEP_GENESIS_ACCOUNTS;
  const head = new Map<string, unknown>();
  const devAddresses = devAccountAddresses();
  let accountsMembers = 0;
  // What the accounts of one `accounts` member gave (a later member of the same key starts over).
  const fresh = (at: number) => ({ at, count: 0, kept: [] as GenesisAccount[] | null, seen: new AddressSet(), error: null as FastposError | null, hasher: new GenesisAccountHasher(), fundsDevAccount: false });
  let acc = fresh(0);
  const visitor: Visitor = {
    member: (key, value) => {
      // A later member of the same key replaces the earlier one in its place, as with JSON.parse.
      head.set(key, value);
      if (key === 'accounts') accountsMembers++;
    },
    account: (raw, i, at) => {
      if (at !== acc.at) acc = fresh(at);
      acc.count++;
      if (acc.error !== null) return;
      try {
        const a = decodeGenesisAccount(raw, i);
        if (!acc.seen.add(a.address)) throw duplicateAccount(i, a.address);
        acc.hasher.add(a);
        if (devAddresses.has(a.address)) acc.fundsDevAccount = true;
        if (acc.kept !== null && acc.kept.length < keep) acc.kept.push(a);
        else acc.kept = null;
      } catch (e) {
        if (!(e instanceof FastposError)) throw e;
        acc.error = e;
      }
    },
  };
  let stamp: FileStamp | undefined;
  let rootIsObject: boolean;
  try {
    stamp = stampOf(path);
    const chunks = scanGenesisFile(path, visitor);
    let r = chunks.next();
    while (r.done !== true) r = chunks.next();
    rootIsObject = r.value;
  } catch (e) {
    throw new FastposError(ErrorCode.INVALID_GENESIS, `genesis file ${path} cannot be read as JSON: ${(e as Error).message}`);
  }
  // The accounts are those of the last `accounts` member (an empty one had none to report).
  const last = accountsMembers - 1;
  if (acc.at !== last) acc = fresh(last);
  const found = acc;
  // The set of every address is large: not kept past the check.
  found.seen = new AddressSet();
  try {
    return decodeGenesis(rootIsObject ? Object.fromEntries(head) : null, (raw): GenesisAccounts => {
      if (!Array.isArray(raw)) return decodeGenesisAccounts(raw);
      if (found.error !== null) throw found.error;
      if (found.kept !== null) return found.kept;
      return new FileGenesisAccounts({ path, stamp: stamp ?? { size: -1, mtimeMs: -1 }, occurrence: last, count: found.count, hasher: found.hasher, fundsDevAccount: found.fundsDevAccount });
    });
  } catch (e) {
    if (e instanceof FastposError) throw new FastposError(e.code, `genesis file ${path}: ${e.message}`);
    throw e;
  }
}

/** Throws `INVALID_GENESIS` when `g` reads its accounts from a file that has changed since it was read (else nothing). */
export function checkGenesisFile(g: Genesis): void {
  if (g.accounts instanceof FileGenesisAccounts) g.accounts.checkUnchanged();
}

/**
 * For a genesis read from a large file: a function that copies that file
 * (a backup's `genesis.json`: the same genesis, hash and all, without
 * encoding a million accounts again); undefined for a genesis in memory.
 */
export function genesisFileCopier(g: Genesis): ((dest: string) => void) | undefined {
  const accounts = g.accounts;
  return accounts instanceof FileGenesisAccounts ? (dest) => accounts.copyTo(dest) : undefined;
}
