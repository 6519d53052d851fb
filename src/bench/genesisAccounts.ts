/**
 * Large genesis states for the benchmarks: `count` extra funded accounts at
 * deterministic addresses (nobody holds their keys: only their existence in
 * the state matters), written to a genesis file in slices so that a million
 * accounts never sit in memory as one string.
 *
 * The file written is byte for byte `JSON.stringify(encodeGenesis(g))` of the
 * genesis whose accounts are `g.accounts` followed by the extra ones, so a
 * node reading it hashes the same genesis as `extendedGenesis` below.
 * @module
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { sha256 } from '../crypto/hash.js';
import { encodeGenesis } from '../state/genesis.js';
import type { Genesis } from '../types/index.js';

/** Balance of every extra account. */
export const EXTRA_ACCOUNT_BALANCE = 10n ** 12n;
/** Accounts encoded per write. */
const SLICE = 10_000;
/** Marker that stands for the accounts array while the rest of the genesis is encoded. */
const MARKER = '"__fastpos_bench_accounts__"';

/** The address of extra account `i`: the first 40 hex digits of sha256("fastpos-bench-account-<i>"). */
export function extraAccountAddress(i: number): string {
  return sha256(`fastpos-bench-account-${i}`).toString('hex').slice(0, 40);
}

/** `g` with `count` extra accounts after its own (in memory: for small counts and checks). */
export function extendedGenesis(g: Genesis, count: number): Genesis {
  const extra = Array.from({ length: count }, (_, i) => ({ address: extraAccountAddress(i), balance: EXTRA_ACCOUNT_BALANCE }));
  return { ...g, accounts: [...g.accounts, ...extra] };
}

export interface GenesisFileInfo {
  readonly path: string;
  readonly bytes: number;
  /** Accounts in the file (the genesis's own and the extra ones). */
  readonly accounts: number;
}

/**
 * Writes `g` plus `extraAccounts` extra accounts to `path` (created or
 * replaced, then fsynced), `SLICE` accounts per write.
 */
export function writeGenesisFile(path: string, g: Genesis, extraAccounts: number): GenesisFileInfo {
  if (!Number.isSafeInteger(extraAccounts) || extraAccounts < 0) throw new Error(`extra accounts must be a whole number >= 0, got ${extraAccounts}`);
  const encoded = encodeGenesis(g);
  const own = encoded.accounts as unknown[];
  const text = JSON.stringify({ ...encoded, accounts: MARKER });
  const at = text.indexOf(JSON.stringify(MARKER));
  if (at < 0) throw new Error('genesis encoding has no accounts field');
  const head = text.slice(0, at);
  const tail = text.slice(at + JSON.stringify(MARKER).length);
  const balance = EXTRA_ACCOUNT_BALANCE.toString();
  const fd = openSync(path, 'w');
  let bytes = 0;
  const put = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    bytes += b.length;
  };
  try {
    put(head + '[');
    let first = true;
    const sep = (): string => {
      if (first) {
        first = false;
        return '';
      }
      return ',';
    };
    for (const a of own) put(sep() + JSON.stringify(a));
    for (let start = 0; start < extraAccounts; start += SLICE) {
      const parts: string[] = [];
      const end = Math.min(extraAccounts, start + SLICE);
      for (let i = start; i < end; i++) parts.push(`${sep()}{"address":"${extraAccountAddress(i)}","balance":"${balance}"}`);
      put(parts.join(''));
    }
    put(']' + tail);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { path, bytes, accounts: own.length + extraAccounts };
}
