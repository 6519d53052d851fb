import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeFinalizedBlock } from '../../src/codec/block.js';
import { FastposClient, signTransfer } from '../../src/client/index.js';
import { replayChain } from '../../src/consensus/replay.js';
import { devAccount } from '../../src/crypto/keys.js';
import { defaultDevnetGenesis } from '../../src/state/genesis.js';
import { runCli, spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-restart-');

/** Deterministic pseudo-random numbers for a reproducible kill schedule. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Seen {
  blocks: Map<number, string>;
  txs: Map<string, number>;
}

/** Submits transfers from dev accounts 0..9 and follows finalized blocks until `stopAt` (bounded in count and time). */
async function load(node: NodeProcess, nonces: number[], seen: Seen, stopAt: number, maxTxs: number): Promise<void> {
  const client = new FastposClient(node.url, { timeoutMs: 2000 });
  const st = await client.status();
  let sent = 0;
  const submit = async (sender: number) => {
    while (Date.now() < stopAt && sent < maxTxs) {
      const { tx } = signTransfer(devAccount(sender).privateKey, { chainId: st.chainId, nonce: nonces[sender]!, to: devAccount((sender + 1) % 10).address, amount: 1n, fee: 1n });
      sent++;
      try {
        await client.submitTx(tx);
        nonces[sender]!++;
      } catch {
        return; // the node died under us: that is the point
      }
    }
  };
  const follow = async () => {
    let next = 1;
    while (Date.now() < stopAt) {
      try {
        const res = await fetch(`${node.url}/blocks?from=${next}&limit=100`, { signal: AbortSignal.timeout(2000) });
        const blocks = (await res.json()) as any[];
        for (const b of blocks) {
          seen.blocks.set(b.header.height, b.hash);
          const fb = decodeFinalizedBlock(b);
          for (const d of fb.block.txs) seen.txs.set(d.id, b.header.height);
          next = b.header.height + 1;
        }
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all([follow(), ...Array.from({ length: 10 }, (_, i) => submit(i))]);
}

async function checkSurvived(node: NodeProcess, seen: Seen): Promise<void> {
  for (const [h, hash] of seen.blocks) {
    const b = (await (await fetch(`${node.url}/blocks/${h}`)).json()) as any;
    assert.equal(b.hash, hash, `block ${h} changed or was lost after the crash`);
  }
  for (const [id, h] of seen.txs) {
    const t = (await (await fetch(`${node.url}/tx?id=${id}`)).json()) as any;
    assert.equal(t.status, 'finalized', `tx ${id} lost after the crash`);
    assert.equal(t.height, h);
  }
}

async function replayMatches(node: NodeProcess): Promise<void> {
  const status = (await (await fetch(`${node.url}/status`)).json()) as any;
  const blocks = [];
  for (let from = 1; from <= status.latestHeight; from += 100) {
    const page = (await (await fetch(`${node.url}/blocks?from=${from}&limit=100`)).json()) as any[];
    blocks.push(...page.map((b) => decodeFinalizedBlock(b)));
  }
  const r = replayChain(defaultDevnetGenesis(), blocks.filter((b) => b.block.header.height <= status.latestHeight));
  assert.equal(r.height, status.latestHeight);
  assert.equal(r.stateRoot, status.stateRoot);
}

for (const backend of ['sqlite', 'snapshot'] as const) {
  describe(`restart recovery (${backend})`, () => {
    it('behavior: a clean stop and restart keeps every block and tx, and the chain goes on', async () => {
      const dir = tmp();
      const seen: Seen = { blocks: new Map(), txs: new Map() };
      const nonces = new Array(10).fill(0);
      let node = await spawnNode(dir, ['--state-backend', backend]);
      await load(node, nonces, seen, Date.now() + 1500, 300);
      await node.kill('SIGTERM');
      node = await spawnNode(dir, ['--state-backend', backend]);
      try {
        await checkSurvived(node, seen);
        const before = Math.max(...seen.blocks.keys());
        await load(node, nonces, seen, Date.now() + 800, 50);
        assert.ok(Math.max(...seen.blocks.keys()) > before);
        await replayMatches(node);
      } finally {
        await node.kill();
      }
    });

    it('behavior: kill -9 during load, repeatedly, loses no finalized block or tx', async () => {
      const dir = tmp();
      const seen: Seen = { blocks: new Map(), txs: new Map() };
      const nonces = new Array(10).fill(0);
      const rand = rng(backend === 'sqlite' ? 7 : 11);
      for (let round = 0; round < 3; round++) {
        const node = await spawnNode(dir, ['--state-backend', backend, '--min-block-interval-ms', '5']);
        await checkSurvived(node, seen);
        // Nonces may have been used by txs that finalized after the follower last looked: resync.
        for (let i = 0; i < 10; i++) nonces[i] = (await new FastposClient(node.url).account(devAccount(i).address)).nonce;
        const killAt = Date.now() + 400 + Math.floor(rand() * 1200);
        const loading = load(node, nonces, seen, Date.now() + 5000, 5000);
        await new Promise((r) => setTimeout(r, killAt - Date.now()));
        await node.kill('SIGKILL');
        await loading;
      }
      const node = await spawnNode(dir, ['--state-backend', backend]);
      try {
        assert.ok(seen.txs.size > 0, 'the load finalized something');
        await checkSurvived(node, seen);
        await replayMatches(node);
      } finally {
        await node.kill();
      }
    });
  });
}

describe('damaged data is refused, naming the file', () => {
  it('error: a corrupt SQLite file', async () => {
    const dir = tmp();
    const node = await spawnNode(dir);
    await new Promise((r) => setTimeout(r, 300));
    await node.kill();
    const f = join(dir, 'chain.sqlite');
    writeFileSync(f, Buffer.alloc(statSync(f).size, 0x5a));
    const r = runCli(['start', '--data-dir', dir, '--port', '0']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /chain\.sqlite/);
    assert.match(r.stderr, /CORRUPT_DATA/);
  });

  it('error: a damaged double-sign guard record stops the node instead of signing from a blank state', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'priv_validator_state.json'), '{"state":{"last":{},"lo');
    const r = runCli(['start', '--data-dir', dir, '--port', '0']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /CORRUPT_DATA/);
    assert.match(r.stderr, /priv_validator_state\.json/);
  });

  it('error: a truncated snapshot state file', async () => {
    const dir = tmp();
    const node = await spawnNode(dir, ['--state-backend', 'snapshot']);
    await new Promise((r) => setTimeout(r, 300));
    await node.kill();
    const f = join(dir, 'state.json');
    truncateSync(f, Math.floor(statSync(f).size / 2));
    const r = runCli(['start', '--data-dir', dir, '--port', '0', '--state-backend', 'snapshot']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /state\.json/);
  });

  it('error: a flipped byte in the snapshot block log', async () => {
    const dir = tmp();
    const node = await spawnNode(dir, ['--state-backend', 'snapshot', '--idle-block-interval-ms', '50']);
    await new Promise((r) => setTimeout(r, 500));
    await node.kill();
    const f = join(dir, 'blocks.log');
    const text = readFileSync(f, 'utf8');
    const at = text.indexOf('"height":1');
    writeFileSync(f, text.slice(0, at) + '"height":7' + text.slice(at + 10));
    appendFileSync(f, '');
    const r = runCli(['start', '--data-dir', dir, '--port', '0', '--state-backend', 'snapshot']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /blocks\.log/);
  });
});
