// A real node on the SQLite backend (a `fastpos start` child process) reads
// its state from the store's rows: balances and the state root survive a
// restart, and the snapshots it takes (walked from the rows at one height
// while blocks go on) check against the certified state root.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FastposClient, signTransfer } from '../../../src/client/index.js';
import { accountKey } from '../../../src/codec/state.js';
import { sha256Hex } from '../../../src/crypto/hash.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { LtHash } from '../../../src/state/ltHash.js';
import { checkChunk, decodeManifest } from '../../../src/state/snapshot.js';
import { spawnNode, type NodeProcess } from '../../helpers/proc.js';
import { waitUntil } from '../../helpers/network.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-disk-state-node-');
const nodes: NodeProcess[] = [];
after(async () => {
  for (const n of nodes) await n.kill();
});

const ARGS = ['--state-backend', 'sqlite', '--snapshot-every-blocks', '3', '--snapshot-chunk-bytes', '1024', '--idle-block-interval-ms', '50'];
/** Fresh recipients: nothing but these transfers touches them. */
const recipients = Array.from({ length: 6 }, (_, i) => sha256Hex(`disk-state-recipient ${i}`).slice(0, 40));
const SENDERS = [5, 6, 7];

async function start(dir: string): Promise<NodeProcess> {
  const n = await spawnNode(dir, ARGS);
  nodes.push(n);
  return n;
}

/** A JSON log line's fields (nothing for other output). */
function logLine(line: string): { msg?: string; entries?: number } {
  try {
    return JSON.parse(line) as { msg?: string; entries?: number };
  } catch {
    return {};
  }
}

const getJson = async (url: string): Promise<any> => (await fetch(url, { signal: AbortSignal.timeout(5000) })).json();

async function balances(url: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const a of [...recipients, ...SENDERS.map((i) => devAccount(i).address)]) {
    const acc = await getJson(`${url}/accounts/${a}`);
    out[a] = `${acc.balance}/${acc.nonce}`;
  }
  return out;
}

describe('a SQLite node reads its state from the rows', () => {
  it('behavior: balances and state root survive a restart; snapshots check against the block state root', async () => {
    const dir = tmp();
    let node = await start(dir);
    const client = new FastposClient(node.url, { timeoutMs: 5000 });
    const { chainId } = await client.status();
    const ids: string[] = [];
    for (const [j, to] of recipients.entries()) {
      const sender = SENDERS[j % SENDERS.length]!;
      const { tx } = signTransfer(devAccount(sender).privateKey, { chainId, nonce: Math.floor(j / SENDERS.length), to, amount: BigInt(1000 + j), fee: 1n });
      ids.push((await client.submitTx(tx)).id);
    }
    await waitUntil(async () => {
      for (const id of ids) if ((await getJson(`${node.url}/tx?id=${id}`)).status !== 'finalized') return false;
      return true;
    }, 20_000, 'the transfers finalized');
    const before = await balances(node.url);
    for (const [j, to] of recipients.entries()) assert.equal(before[to], `${1000 + j}/0`);

    // A snapshot taken after the transfers: every chunk checks and their LtHashes add up to the block's state root.
    let height = 0;
    await waitUntil(async () => {
      const list = (await getJson(`${node.url}/sync/snapshots`)).snapshots as { height: number }[];
      const tx = await getJson(`${node.url}/tx?id=${ids.at(-1)!}`);
      height = Math.max(0, ...list.map((s) => s.height));
      return height > tx.height;
    }, 20_000, 'a snapshot above the transfers');
    const manifest = decodeManifest(await getJson(`${node.url}/sync/snapshots/${height}`));
    const block = await getJson(`${node.url}/blocks/${height}`);
    assert.equal(manifest.stateRoot, block.header.stateRoot);
    assert.ok(manifest.chunks.length > 1, 'the state spans several chunks');
    const sum = new LtHash();
    let last: string | null = null;
    const keys: string[] = [];
    for (const [i, info] of manifest.chunks.entries()) {
      const data = Buffer.from(await (await fetch(`${node.url}/sync/snapshots/${height}/chunks/${i}`)).arrayBuffer());
      const c = checkChunk(data, info, last);
      last = c.lastKey;
      keys.push(...c.entries.map(([k]) => k));
      sum.add(LtHash.fromBytes(Buffer.from(info.ltHash, 'hex')).lanes);
    }
    assert.equal(sum.digest(), block.header.stateRoot);
    assert.equal(keys.length, manifest.entries);
    for (const to of recipients) assert.ok(keys.includes(accountKey(to)), `the snapshot holds ${to}`);

    const status = await getJson(`${node.url}/status`);
    await node.kill('SIGTERM');
    node = await start(dir);
    const loaded = node.logs.map(logLine).find((l) => l.msg === 'loaded chain from store');
    assert.ok(loaded !== undefined && (loaded.entries ?? 0) > recipients.length, 'the node loaded the chain and counted its entries');
    const storedBlock = await getJson(`${node.url}/blocks/${status.latestHeight}`);
    assert.equal(storedBlock.header.stateRoot, status.stateRoot);
    assert.deepEqual(await balances(node.url), before);
    // And the chain goes on from the stored state.
    await waitUntil(async () => (await getJson(`${node.url}/status`)).latestHeight > status.latestHeight, 20_000, 'a block after the restart');
    await node.kill('SIGTERM');
  });
});
