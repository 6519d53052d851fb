/**
 * The benchmarks' large-genesis writer: the file is the genesis encoding
 * itself, slice boundaries included, and a real node started on it holds the
 * extra accounts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXTRA_ACCOUNT_BALANCE, extendedGenesis, extraAccountAddress, writeGenesisFile } from '../../src/bench/genesisAccounts.js';
import { devValidator } from '../../src/crypto/keys.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, decodeGenesis, encodeGenesis, genesisHash } from '../../src/state/genesis.js';
import type { Genesis } from '../../src/types/index.js';
import { spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-bench-genesis-');

const base: Genesis = {
  chainId: 'fastpos-bench-devnet',
  genesisTime: 1_767_225_600_000,
  treasury: 'ab'.repeat(20),
  params: { ...DEFAULT_PARAMS },
  accounts: [{ address: 'cd'.repeat(20), balance: 5n }],
  validators: [{ pubKey: devValidator(0).publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
};

describe('bench genesis writer', () => {
  test('default: the file is JSON.stringify(encodeGenesis) of the extended genesis, across slice boundaries', () => {
    for (const extra of [0, 1, 10_000, 25_001]) {
      const path = join(tmp(), 'genesis.json');
      const info = writeGenesisFile(path, base, extra);
      const text = readFileSync(path, 'utf8');
      const expected = JSON.stringify(encodeGenesis(extendedGenesis(base, extra)));
      assert.equal(text, expected, `extra ${extra}`);
      assert.equal(info.bytes, Buffer.byteLength(expected));
      assert.equal(info.accounts, 1 + extra);
      const decoded = decodeGenesis(JSON.parse(text));
      assert.equal(genesisHash(decoded), genesisHash(extendedGenesis(base, extra)));
    }
  });

  test('behavior: extra addresses are deterministic and distinct', () => {
    const a = Array.from({ length: 5_000 }, (_, i) => extraAccountAddress(i));
    assert.equal(new Set(a).size, a.length);
    assert.equal(extraAccountAddress(7), extraAccountAddress(7));
    for (const x of a.slice(0, 10)) assert.match(x, /^[0-9a-f]{40}$/);
  });

  test('error: a negative or fractional count is refused', () => {
    assert.throws(() => writeGenesisFile(join(tmp(), 'g.json'), base, -1));
    assert.throws(() => writeGenesisFile(join(tmp(), 'g.json'), base, 1.5));
  });

  test('behavior: a node started on the file holds every extra account with its balance', async () => {
    const dir = tmp();
    const extra = 5_000;
    writeGenesisFile(join(dir, 'genesis.json'), base, extra);
    const node = await spawnNode(join(dir, 'data'), ['--genesis-file', join(dir, 'genesis.json')]);
    try {
      for (const i of [0, 2_499, extra - 1]) {
        const r = await fetch(`${node.url}/accounts/${extraAccountAddress(i)}`);
        assert.equal(r.status, 200);
        const j = (await r.json()) as { balance: string; nonce: number };
        assert.equal(j.balance, EXTRA_ACCOUNT_BALANCE.toString());
        assert.equal(j.nonce, 0);
      }
      const st = (await (await fetch(`${node.url}/status`)).json()) as { genesisHash: string };
      assert.equal(st.genesisHash, genesisHash(extendedGenesis(base, extra)));
    } finally {
      await node.kill();
    }
  });
});
