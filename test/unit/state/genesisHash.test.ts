// The genesis hash is written into SHA-256 in pieces (the accounts a slice at
// a time); it must be the hash of the whole canonical document, byte for byte.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { accountKey } from '../../../src/codec/state.js';
import { decodeGenesis, defaultDevnetGenesis, encodeGenesis, genesisEntries, genesisEntryStream, genesisHash, genesisJsonPieces, type InMemoryGenesis } from '../../../src/state/genesis.js';
import type { Genesis } from '../../../src/types/index.js';

/** The definition: SHA-256 of the tag and the whole canonical JSON document at once. */
const wholeDocumentHash = (g: Genesis): string => createHash('sha256').update('fastpos/genesis/v1\n' + canonicalJson(encodeGenesis(g))).digest('hex');

/** A devnet genesis with `n` extra funded accounts (addresses made from their index). */
function withAccounts(n: number): InMemoryGenesis {
  const g = defaultDevnetGenesis();
  const extra = Array.from({ length: n }, (_, i) => ({ address: createHash('sha256').update(`acct ${i}`).digest('hex').slice(0, 40), balance: BigInt(i) * 1_000_003n + 1n }));
  return { ...g, accounts: [...g.accounts, ...extra] };
}

describe('genesis hash', () => {
  it('default: the streamed hash equals the hash of the whole document (devnet genesis)', () => {
    const g = defaultDevnetGenesis();
    assert.equal(genesisHash(g), wholeDocumentHash(g));
  });

  it('behavior: equal on a genesis of several thousand accounts (more than one piece of accounts)', () => {
    for (const n of [4095, 4096, 9000]) {
      const g = withAccounts(n);
      assert.equal(genesisHash(g), wholeDocumentHash(g), `${n} extra accounts`);
    }
  });

  it('behavior: equal with no accounts, and with an upgrade schedule', () => {
    const doc = encodeGenesis(defaultDevnetGenesis()) as Record<string, unknown>;
    const g0 = decodeGenesis({ ...doc, accounts: [] });
    assert.equal(genesisHash(g0), wholeDocumentHash(g0));
    const g1 = decodeGenesis({ ...doc, upgrades: [{ name: 'example-upgrade', height: 100 }] });
    assert.equal(genesisHash(g1), wholeDocumentHash(g1));
  });

  it('behavior: the entry stream gives the entries of genesisEntries, in order', () => {
    const g = withAccounts(50);
    const streamed = [...genesisEntryStream(g)];
    assert.deepEqual(streamed, genesisEntries(g));
    assert.equal(streamed[0]![0], accountKey(g.accounts[0]!.address));
  });
});
