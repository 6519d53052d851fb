/**
 * Snapshot state sync over real processes on 127.0.0.1. Three validators
 * (of four) run with pruning on and take snapshots, under a steady load of
 * transfers and delegations that change the validator set at epoch
 * boundaries; then the fourth starts from an empty data dir. It cannot
 * replay from genesis (nobody keeps those blocks), so it installs a
 * certified snapshot, catches up block by block, ends with the same blocks
 * and state root as the others, and keeps finalizing with them. A second
 * network without pruning lets a node sync block by block only
 * (`--sync-mode blocks`). A third gives the new node two hostile peers (a
 * proxy that corrupts snapshot chunks, and one that serves a manifest with a
 * wrong state root) besides an honest one.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { buildSignedTx } from '../../../src/client/index.js';
import { DEFAULT_CONFIG, type NodeConfig } from '../../../src/config/index.js';
import { addressFromPubKey, devAccount } from '../../../src/crypto/keys.js';
import { runNode, type RunningNode } from '../../../src/node/run.js';
import type { Genesis } from '../../../src/types/index.js';
import { getJson, heights, makeGenesis, postJson, waitForHeight, waitUntil, withNetwork, type NetNode } from '../../helpers/network.js';
import type { KeyPair } from '../../../src/crypto/ed25519.js';

/** Blocks whose bodies every node keeps (the smallest the node allows with this genesis). */
const PRUNE = 100;
const SNAPSHOT_EVERY = 30;
const ADMIN = 'state-sync-test-admin-token-01234';

/**
 * Short epochs (set changes every 10 blocks), an evidence window that allows
 * pruning at PRUNE, and no downtime jailing: the fourth validator is away
 * until it syncs, and must still be in the set to finalize with the others.
 */
function genesisOf(keys: readonly KeyPair[]): Genesis {
  const g = makeGenesis(keys);
  return { ...g, params: { ...g.params, epochLengthBlocks: 10, evidenceMaxAgeBlocks: 50, unbondingPeriodBlocks: 60, downtimeWindowBlocks: 50, downtimeMaxMissed: 50 } };
}

/** Sends transfers and, now and then, a delegation (which changes voting power at the next epoch) until stopped. */
function load(net: { genesis: Genesis }, target: () => string): { stop: () => Promise<number> } {
  let running = true;
  let sent = 0;
  const nonces = new Map<number, number>();
  const loop = (async () => {
    for (let i = 0; running && i < 5000; i++) {
      const acct = 1 + (i % 4);
      const key = devAccount(acct);
      const nonce = nonces.get(acct) ?? 0;
      const delegate = i % 7 === 3;
      const validators = net.genesis.validators;
      const tx = delegate
        ? buildSignedTx(key.privateKey, {
            chainId: net.genesis.chainId,
            kind: 'delegation_delegate',
            nonce,
            fee: 10n,
            payload: { validatorId: validatorIdOf(validators[i % 3]!.pubKey), amount: 1000n + BigInt(i) },
          })
        : buildSignedTx(key.privateKey, { chainId: net.genesis.chainId, kind: 'transfer', nonce, fee: 10n, payload: { to: devAccount(8).address, amount: 1n + BigInt(i) } });
      const r = await postJson(`${target()}/tx`, tx.tx).catch(() => ({ status: 0, body: null }));
      if (r.status === 202) {
        nonces.set(acct, nonce + 1);
        sent++;
      } else if (r.status === 409) {
        // A nonce that finalized meanwhile: ask the node.
        const a = await getJson<{ nonce: number; pendingNonce?: number }>(`${target()}/accounts/${key.address}`).catch(() => null);
        if (a !== null) nonces.set(acct, a.pendingNonce ?? a.nonce);
      }
      await new Promise((r) => setTimeout(r, 60));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

const validatorIdOf = (pubKey: string): string => addressFromPubKey(pubKey);

interface SyncStatus {
  height: number;
  earliestBlockHeight: number;
  progress: unknown;
}

/** Hashes of blocks `from..to` as a node serves them. */
async function hashes(url: string, from: number, to: number): Promise<string[]> {
  const out: string[] = [];
  for (let h = from; h <= to; h++) out.push((await getJson<{ hash: string }>(`${url}/blocks/${h}`)).hash);
  return out;
}

describe('snapshot state sync', { timeout: 420_000 }, () => {
  it('behavior: a node with an empty data dir syncs by certified snapshot from pruned peers, has the same state root, and keeps finalizing with them', async () => {
    await withNetwork(
      {
        n: 4,
        dontStart: [3],
        genesis: genesisOf,
        extraArgs: ['--prune-keep-blocks', String(PRUNE), '--snapshot-every-blocks', String(SNAPSHOT_EVERY), '--snapshot-keep', '2', '--snapshot-chunk-bytes', '4096', '--admin-token', ADMIN],
      },
      async (net) => {
        const [a, b, c, d] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
        const running = [a, b, c];
        const traffic = load(net, () => a.url);
        // Well past the pruning window: the first blocks are gone everywhere.
        await waitForHeight(running, PRUNE + 2 * SNAPSHOT_EVERY + 10, 180_000);
        const sent = await traffic.stop();
        assert.ok(sent > 50, `transfers and delegations were sent (${sent})`);
        for (const n of running) {
          const st = await getJson<SyncStatus>(`${n.url}/sync/status`);
          assert.ok(st.earliestBlockHeight > 1, `${n.url} pruned its first blocks (earliest ${st.earliestBlockHeight})`);
          const r = await fetch(`${n.url}/blocks/1`);
          assert.equal(r.status, 410, 'block 1 is pruned');
          assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'PRUNED');
          const snaps = await getJson<{ snapshots: { height: number }[] }>(`${n.url}/sync/snapshots`);
          assert.ok(snaps.snapshots.length > 0 && snaps.snapshots.length <= 2, `${n.url} holds snapshots, at most snapshotKeep (${snaps.snapshots.length})`);
          // Headers and certificates stay for pruned heights; the read limits of the sync routes.
          const headers = await getJson<{ header: { height: number } }[]>(`${n.url}/sync/headers?from=1&limit=500`);
          assert.equal(headers[0]?.header.height, 1);
          assert.equal((await fetch(`${n.url}/sync/headers?from=1&limit=501`)).status, 400);
          assert.equal((await fetch(`${n.url}/sync/snapshots/1`)).status, 404);
          assert.equal((await fetch(`${n.url}/sync/snapshots/${snaps.snapshots[0]!.height}/chunks/1000000`)).status, 404);
          assert.equal((await fetch(`${n.url}/sync/epochs/100000`)).status, 404);
        }

        await d.start();
        const seen = await waitUntil(() => d.logs.find((l) => l.includes('state installed from a snapshot')), 120_000, 'the new node installs a snapshot');
        assert.ok(seen);
        assert.ok(!d.logs.some((l) => l.includes('"height":1,') && l.includes('committed')), 'no block replayed from genesis');
        // Caught up, then finalizing together: the same blocks from its snapshot height on.
        const top = Math.max(...(await heights(running)));
        await waitForHeight([d], top, 120_000);
        const snapHeight = (await getJson<{ earliestBlockHeight: number }>(`${d.url}/sync/status`)).earliestBlockHeight;
        const upTo = Math.min(...(await heights([a, d])));
        assert.deepEqual(await hashes(d.url, snapHeight, upTo), await hashes(a.url, snapHeight, upTo), 'the same blocks (and so the same state roots)');
        const rootD = (await getJson<{ header: { stateRoot: string } }>(`${d.url}/blocks/${upTo}`)).header.stateRoot;
        const rootA = (await getJson<{ header: { stateRoot: string } }>(`${a.url}/blocks/${upTo}`)).header.stateRoot;
        assert.equal(rootD, rootA);
        // With one of the first three stopped, the chain needs the new node's votes to finalize.
        await c.kill('SIGTERM');
        const h0 = Math.max(...(await heights([a, b, d])));
        await waitForHeight([a, b, d], h0 + 5, 60_000);
      },
    );
  });

  it('behavior: without pruning, syncMode blocks syncs a new node block by block from genesis', async () => {
    await withNetwork({ n: 4, dontStart: [3], genesis: genesisOf, extraArgs: ['--snapshot-every-blocks', '20'], nodeArgs: (i) => (i === 3 ? ['--sync-mode', 'blocks'] : []) }, async (net) => {
      const [a, b, c, d] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
      const traffic = load(net, () => a.url);
      await waitForHeight([a, b, c], 60, 120_000);
      await traffic.stop();
      await d.start();
      const top = Math.max(...(await heights([a, b, c])));
      await waitForHeight([d], top, 120_000);
      assert.ok(!d.logs.some((l) => l.includes('state installed from a snapshot')), 'no snapshot was used');
      assert.equal((await getJson<SyncStatus>(`${d.url}/sync/status`)).earliestBlockHeight, 1, 'every block from genesis is held');
      assert.deepEqual(await hashes(d.url, 1, top), await hashes(a.url, 1, top));
    });
  });

  it('behavior: a peer serving corrupted chunks and one serving a wrong state root are detected and penalized, as is a peer that sends chunks too large; one too slow does not hold it up; sync completes from the honest peer', async () => {
    await withNetwork({ n: 4, dontStart: [3], genesis: genesisOf, extraArgs: ['--snapshot-every-blocks', '20', '--snapshot-chunk-bytes', '2048'] }, async (net) => {
      const [a, b, c, d] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
      const traffic = load(net, () => a.url);
      await waitForHeight([a, b, c], 45, 120_000);
      await traffic.stop();
      const corrupt = await proxy(a.url, 'chunk');
      const wrongRoot = await proxy(a.url, 'root');
      const huge = await proxy(a.url, 'huge');
      const slow = await proxy(a.url, 'slow');
      const lines: string[] = [];
      let node: RunningNode | null = null;
      try {
        const config: NodeConfig = {
          ...DEFAULT_CONFIG,
          idleBlockIntervalMs: 200,
          minBlockIntervalMs: 10,
          timeoutProposeMs: 600,
          timeoutPrevoteMs: 300,
          timeoutPrecommitMs: 300,
          timeoutDeltaMs: 200,
          peerDiscoveryIntervalMs: 0,
          dataDir: d.dir,
          host: '127.0.0.1',
          port: d.port,
          verifyWorkers: 0,
          syncMode: 'snapshot',
          snapshotEveryBlocks: 0,
          peers: [corrupt.url, wrongRoot.url, huge.url, slow.url, a.url].join(','),
          syncRequestTimeoutMs: 2000,
          adminToken: ADMIN,
        };
        node = await runNode(config, {
          logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
          onFatal: () => undefined,
        });
        await waitUntil(() => lines.find((l) => l.includes('state installed from a snapshot')), 90_000, 'a snapshot is installed');
        const peers = await (await fetch(`${node.url}/p2p/peers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { url: string; lastError: string | null; penalties: number }[];
        const byUrl = new Map(peers.map((p) => [p.url, p]));
        assert.ok((byUrl.get(corrupt.url)?.penalties ?? 0) > 0 || lines.some((l) => l.includes(corrupt.url) && l.includes('chunk')), 'the corrupting peer is penalized');
        assert.ok(lines.some((l) => l.includes(corrupt.url) && /chunk bytes do not hash|chunk/.test(l)), 'a corrupted chunk was detected');
        assert.ok(lines.some((l) => l.includes(wrongRoot.url) && /add up to state root|not the snapshot the peer listed/.test(l)), 'a wrong state root was detected');
        assert.ok(lines.some((l) => l.includes(huge.url) && /larger than|PAYLOAD_TOO_LARGE|bytes/.test(l) && l.includes('chunk')), 'a chunk larger than its manifest entry was cut');
        // The slow peer's chunk requests time out (syncRequestTimeoutMs) and go to the others: the sync above completed.
        const top = Math.max(...(await heights([a, b, c])));
        await waitUntil(async () => ((await getJson<SyncStatus>(`${node!.url}/sync/status`)).height >= top ? true : undefined), 60_000, 'caught up after the snapshot');
        const h = Math.min(top, (await getJson<SyncStatus>(`${node.url}/sync/status`)).height);
        assert.equal((await getJson<{ hash: string }>(`${node.url}/blocks/${h}`)).hash, (await getJson<{ hash: string }>(`${a.url}/blocks/${h}`)).hash);
      } finally {
        await node?.close();
        for (const p of [corrupt, wrongRoot, huge, slow]) p.server.closeAllConnections();
        for (const p of [corrupt, wrongRoot, huge, slow]) p.server.close();
      }
    });
  });
});

/**
 * A proxy in front of an honest node that corrupts snapshot chunks ('chunk'),
 * the state root of manifests ('root'), sends 1 MiB more than a chunk
 * ('huge') or holds chunk answers back for 20 s ('slow').
 */
async function proxy(target: string, mode: 'chunk' | 'root' | 'huge' | 'slow'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
          const r = await fetch(`${target}${req.url}`, { method: req.method ?? 'GET', headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(5000) });
          let data = Buffer.from(await r.arrayBuffer());
          const path = req.url ?? '';
          if (r.status === 200 && mode === 'chunk' && /^\/sync\/snapshots\/\d+\/chunks\/\d+$/.test(path)) {
            data = Buffer.from(data);
            const at = Math.floor(data.length / 2);
            data[at] = data[at]! ^ 1;
          }
          const isChunk = /^\/sync\/snapshots\/\d+\/chunks\/\d+$/.test(path);
          if (r.status === 200 && mode === 'huge' && isChunk) data = Buffer.concat([data, Buffer.alloc(1024 * 1024, 0x20)]);
          if (r.status === 200 && mode === 'slow' && isChunk) await new Promise((resolve) => setTimeout(resolve, 20_000).unref());
          if (r.status === 200 && mode === 'root' && /^\/sync\/snapshots\/\d+$/.test(path)) {
            const m = JSON.parse(data.toString('utf8')) as { stateRoot: string };
            m.stateRoot = 'ab'.repeat(32);
            data = Buffer.from(JSON.stringify(m));
          }
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(data);
        } catch {
          res.writeHead(502).end();
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
