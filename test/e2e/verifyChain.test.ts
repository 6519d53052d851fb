/**
 * `fastpos verify-chain` on real data dirs: a chain with transfers, staking
 * txs and an epoch switch replays clean on both backends; an edited state row
 * or block is found and named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signTx } from '../../src/client/sign.js';
import { encodeTx } from '../../src/codec/tx.js';
import { devAccount, devValidator } from '../../src/crypto/keys.js';
import { defaultDevnetGenesis } from '../../src/state/genesis.js';
import { CHAIN, acct, transfer } from '../helpers/fixtures.js';
import { startTestNode, waitForHeight } from '../helpers/node.js';
import { runCli } from '../helpers/proc.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs a node on a fresh dir until a few blocks with transfers, a bond and an epoch boundary are final; returns the dir. */
async function makeChain(backend: 'sqlite' | 'snapshot'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-verify-'));
  dirs.push(dir);
  const g = defaultDevnetGenesis();
  const n = await startTestNode({ dir, config: { stateBackend: backend }, genesis: { ...g, params: { ...g.params, epochLengthBlocks: 3 } } });
  try {
    for (let i = 0; i < 5; i++) await n.node.submitTx(encodeTx(transfer({ from: 1, to: acct(2).address, amount: 10n + BigInt(i), nonce: i }).tx));
    const k = devAccount(3);
    const bond = signTx(k.privateKey, {
      chainId: CHAIN, kind: 'validator_bond', from: k.address, pubKey: k.publicKey, nonce: 0, fee: 10n,
      payload: { pubKey: devValidator(5).publicKey, amount: 1000n },
    });
    await n.node.submitTx(bond.tx);
    await waitForHeight(n, 8, 20_000);
  } finally {
    await n.close();
  }
  return dir;
}

function verify(dir: string, backend: string): { status: number | null; stdout: string; stderr: string } {
  return runCli(['verify-chain', '--data-dir', dir, '--state-backend', backend]);
}

describe('fastpos verify-chain', { timeout: 120_000 }, () => {
  for (const backend of ['sqlite', 'snapshot'] as const) {
    it(`default: a stopped node's chain replays from genesis to its stored state (${backend})`, async () => {
      const dir = await makeChain(backend);
      const r = verify(dir, backend);
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.ok, true);
      assert.equal(report.chainId, CHAIN);
      assert.ok(report.height >= 8);
      assert.equal(report.blocks, report.height);
      assert.ok(report.txs >= 6);
      assert.match(report.stateRoot, /^[0-9a-f]{64}$/);
    });
  }

  it('error: an edited state row is CORRUPT_DATA (exit 1)', async () => {
    const dir = await makeChain('sqlite');
    const db = new Database(join(dir, 'chain.sqlite'));
    db.prepare('UPDATE state SET value = ? WHERE key = ?').run('{"balance":"999999999999999","nonce":5}', `acct/${acct(2).address}`);
    db.close();
    const r = verify(dir, 'sqlite');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CORRUPT_DATA: the stored state \(root [0-9a-f]{64}\) is not the state the blocks lead to/);
  });

  it('error: an edited block is refused (exit 1, naming the block)', async () => {
    const dir = await makeChain('sqlite');
    const db = new Database(join(dir, 'chain.sqlite'));
    const row = db.prepare('SELECT height, data FROM blocks WHERE height = (SELECT MIN(height) FROM txs)').get() as { height: number; data: string };
    const block = JSON.parse(row.data);
    block.txs[0].payload.amount = '12345';
    db.prepare('UPDATE blocks SET data = ? WHERE height = ?').run(JSON.stringify(block), row.height);
    db.close();
    const r = verify(dir, 'sqlite');
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`INVALID_BLOCK: block ${row.height} `));
  });

  it('error: a missing data dir, a wrong backend or another genesis is named (exit 2)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'fastpos-verify-'));
    dirs.push(empty);
    const r = verify(empty, 'sqlite');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /INVALID_CONFIG: .*chain\.sqlite does not exist/);
    const dir = await makeChain('sqlite');
    const wrong = verify(dir, 'snapshot');
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /state\.json does not exist/);
    const other = runCli(['verify-chain', '--data-dir', dir, '--state-backend', 'sqlite', '--genesis-file', join(dir, 'nope.json')]);
    assert.notEqual(other.status, 0);
    assert.match(other.stderr, /genesis/);
  });
});
