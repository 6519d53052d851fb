/**
 * `fastpos migrate-state` end to end: a data dir with blocks and txs moved
 * from SQLite to snapshot files and back, with equal state roots each way;
 * refused while a node runs; after each migration a real `fastpos start` on
 * the new backend serves the same chain and goes on finalizing blocks.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FastposClient, signTransfer } from '../../src/client/index.js';
import { devAccount } from '../../src/crypto/keys.js';
import { runCli, spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-migrate-e2e-');

interface Status {
  latestHeight: number;
  stateRoot: string;
}

async function status(url: string): Promise<Status> {
  return (await (await fetch(`${url}/status`)).json()) as Status;
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function blockHash(url: string, height: number): Promise<string> {
  return ((await (await fetch(`${url}/blocks/${height}`)).json()) as { hash: string }).hash;
}

describe('fastpos migrate-state (e2e)', { timeout: 180_000 }, () => {
  it('behavior: sqlite → snapshot → sqlite with equal state roots; the node starts on each backend and continues', async () => {
    const dir = tmp();
    const flags = ['--idle-block-interval-ms', '100'];
    const txs = new Map<string, number>();
    let node = await spawnNode(dir, flags);
    let at: Status;
    let hashAt: string;
    try {
      const client = new FastposClient(node.url, { timeoutMs: 5000 });
      const { chainId } = await client.status();
      for (let i = 0; i < 5; i++) {
        const { tx } = signTransfer(devAccount(i).privateKey, { chainId, nonce: 0, to: devAccount(8).address, amount: 7n + BigInt(i), fee: 1n });
        txs.set((await client.submitTx(tx)).id, -1);
      }
      await waitFor('txs finalized', async () => {
        for (const id of txs.keys()) {
          const t = (await (await fetch(`${node.url}/tx?id=${id}`)).json()) as { status: string; height?: number };
          if (t.status !== 'finalized') return false;
          txs.set(id, t.height!);
        }
        return true;
      });
      await waitFor('height 8', async () => (await status(node.url)).latestHeight >= 8);
      // Refused while the node runs.
      const live = runCli(['migrate-state', '--data-dir', dir, '--from', 'sqlite', '--to', 'snapshot']);
      assert.notEqual(live.status, 0);
      assert.match(live.stderr, /cannot migrate its state: data dir .* is in use by a running node \(pid \d+\); stop the node first/);
    } finally {
      await node.kill('SIGTERM');
    }

    let backend: 'sqlite' | 'snapshot' = 'sqlite';
    for (const to of ['snapshot', 'sqlite'] as const) {
      const r = runCli(['migrate-state', '--data-dir', dir, '--from', backend, '--to', to, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      node = await spawnNode(dir, [...flags, '--state-backend', to]);
      try {
        // The migrated store opens at the height and state root it had; the node serves the same chain.
        at = await status(node.url);
        assert.ok(at.latestHeight >= report.height);
        hashAt = await blockHash(node.url, report.height);
        assert.equal(hashAt, report.latestHash);
        assert.equal(report.from, backend);
        assert.equal(report.to, to);
        assert.ok(existsSync(join(report.movedAside, backend === 'sqlite' ? 'chain.sqlite' : 'state.json')), 'the source files are kept aside');
        for (const [id, h] of txs) {
          const t = (await (await fetch(`${node.url}/tx?id=${id}`)).json()) as { status: string; height?: number };
          assert.equal(t.status, 'finalized');
          assert.equal(t.height, h);
        }
        await waitFor('blocks on the new backend', async () => (await status(node.url)).latestHeight >= report.height + 3);
      } finally {
        await node.kill('SIGTERM');
      }
      // Equal state roots: the migration's report against an audit of the stopped data dir.
      const audit = runCli(['verify-chain', '--data-dir', dir, '--state-backend', to, '--json']);
      assert.equal(audit.status, 0, audit.stderr);
      const verified = JSON.parse(audit.stdout);
      assert.equal(verified.mode, 'replay');
      assert.match(verified.stateRoot, /^[0-9a-f]{64}$/);
      backend = to;
    }

    // The report's state root is the one the source had: check a migration of a stopped dir directly.
    const before = JSON.parse(runCli(['verify-chain', '--data-dir', dir, '--state-backend', 'sqlite', '--json']).stdout);
    const r = runCli(['migrate-state', '--data-dir', dir, '--from', 'sqlite', '--to', 'snapshot', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.stateRoot, before.stateRoot);
    assert.equal(report.height, before.height);
    const after = JSON.parse(runCli(['verify-chain', '--data-dir', dir, '--state-backend', 'snapshot', '--json']).stdout);
    assert.equal(after.stateRoot, before.stateRoot);
    assert.equal(after.latestHash, before.latestHash);
    // Refused: the sqlite chain was moved aside, nothing is left to migrate from.
    const again = runCli(['migrate-state', '--data-dir', dir, '--from', 'sqlite', '--to', 'snapshot']);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /holds no sqlite chain/);
  });
});
