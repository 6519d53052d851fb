/**
 * Catch-up from peers when a peer is hostile. A validator that fell behind is
 * started with a peer that claims a chain far ahead and then answers
 * `/sync/blocks` with `200 [` and one byte every 2 s, listed first among its
 * peers: it still catches up from the good peers, votes again, and penalizes
 * the slow peer. A peer whose answer grows past the byte cap is cut there and
 * penalized. Three validators run as processes (dist/); the one under test
 * runs in this process (`runNode`), all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino, type Logger } from 'pino';
import { DEFAULT_CONFIG, type NodeConfig } from '../../../src/config/index.js';
import { runNode, type RunningNode } from '../../../src/node/run.js';
import { startHostilePeer, type HostilePeer } from '../../helpers/hostilePeer.js';
import { fetchBlocks, getJson, heights, waitForHeight, waitUntil, withNetwork, type NetNode } from '../../helpers/network.js';
import { startTestNode, waitForHeight as waitForLocalHeight } from '../../helpers/node.js';

interface PeerRow {
  url: string;
  source: string;
  failures: number;
  lastOkAt: number | null;
  lastError: string | null;
}

/** What went wrong with a node's peers is the admin's to see: `GET /p2p/peers` with the admin token. */
const ADMIN = 'sync-test-admin-token-0123456789';
const adminPeers = (url: string): Promise<PeerRow[]> =>
  fetch(`${url}/p2p/peers`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: AbortSignal.timeout(3000) }).then((r) => r.json() as Promise<PeerRow[]>);

/** The consensus settings of FAST_ARGS (test/helpers/network.ts), as config keys. */
const FAST: Partial<NodeConfig> = {
  idleBlockIntervalMs: 200,
  minBlockIntervalMs: 10,
  timeoutProposeMs: 600,
  timeoutPrevoteMs: 300,
  timeoutPrecommitMs: 300,
  timeoutDeltaMs: 200,
  peerDiscoveryIntervalMs: 0,
};

/** A logger that keeps the node's last log lines for failure messages. */
function memoryLogger(lines: string[]): Logger {
  return pino({ level: 'info' }, {
    write: (line: string) => {
      lines.push(line.trimEnd());
      if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    },
  });
}

describe('catch-up from peers: slow and oversized peers', { timeout: 300_000 }, () => {
  it('behavior: a validator restarted with a peer that trickles /sync/blocks listed first catches up from the good peers, votes again, and penalizes that peer', async (t) => {
    const hostile = await startHostilePeer({ blocks: 'trickle', trickleMs: 2000, lifetimeMs: 180_000 });
    const lines: string[] = [];
    let restarted: RunningNode | null = null;
    try {
      await withNetwork({ n: 4 }, async (net) => {
        const [a, b, c, d] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
        const good = [a, b, c];
        await waitForHeight(net.nodes, 2, 30_000);
        await d.kill('SIGTERM');
        const stoppedAt = Math.max(...(await heights(good)));
        await waitForHeight(good, stoppedAt + 20, 60_000);
        hostile.genesisHash = (await getJson<{ genesisHash: string }>(`${a.url}/sync/status`)).genesisHash;

        // The same data dir, key and port, with the hostile peer first among its peers.
        const config: NodeConfig = {
          ...DEFAULT_CONFIG,
          ...FAST,
          dataDir: d.dir,
          host: '127.0.0.1',
          port: d.port,
          verifyWorkers: 0,
          peers: [hostile.url, ...good.map((n) => n.url)].join(','),
          adminToken: ADMIN,
        };
        let fatal: unknown = null;
        const t0 = Date.now();
        // Peers are asked in their listed order (a shuffle that never swaps): the hostile one first, every time.
        restarted = await runNode(config, { logger: memoryLogger(lines), onFatal: (e) => (fatal = e), random: () => 0.999_999 });
        const node = restarted;
        const from = node.node.height;
        const target = Math.max(...(await heights(good)));
        await waitUntil(() => node.node.height >= target, 40_000, `the restarted validator to reach height ${target} (at ${node.node.height})`);
        const caughtUpMs = Date.now() - t0;

        // It votes again: a block decided after it caught up carries its precommit.
        const caughtUpAt = node.node.height;
        const signedAt = await waitUntil(
          async () => {
            const top = Math.max(...(await heights(good)));
            if (top <= caughtUpAt) return undefined;
            const blocks = await fetchBlocks(a, caughtUpAt + 1, top);
            return blocks.find((blk) => blk.commit.signatures.some((s) => s.validatorId === d.validatorId))?.header.height;
          },
          30_000,
          'a certificate signed by the restarted validator',
          300,
        );
        // It keeps up with the others.
        const others = Math.max(...(await heights(good)));
        await waitUntil(() => node.node.height >= others, 20_000, `the restarted validator to keep up (height ${others})`);

        // The slow peer was penalized (its answers cut at the deadline) and, put there by the operator, is kept.
        const row = await waitUntil(
          async () => (await adminPeers(node.url)).find((p) => p.url === hostile.url && p.lastError !== null),
          30_000,
          'the hostile peer to be penalized',
        );
        assert.equal(row.source, 'config');
        assert.match(row.lastError ?? '', /REQUEST_TIMEOUT|did not answer|deadline/i);
        // Sync mode never lasts beyond one request's deadline per peer: the node is seen out of it.
        await waitUntil(async () => (await getJson<{ syncing: boolean }>(`${node.url}/status`)).syncing === false, 30_000, 'the node out of sync mode');
        const cut = hostile.stats.blocks.filter((x) => x.closedAfterMs !== null);
        assert.ok(cut.length >= 1, 'the node dropped the trickled answer');
        assert.equal(hostile.stats.blocks[0]?.from, from + 1, 'the hostile peer was asked first, before any block was fetched');
        assert.equal(fatal, null);
        for (const l of lines.filter((x) => /caught up|sync from|dropped/.test(x)).slice(0, 30)) {
          const j = JSON.parse(l) as { time: number; msg: string; peer?: string; err?: string; applied?: number; height?: number };
          t.diagnostic(`+${j.time - t0} ms ${j.msg} ${j.peer ?? ''} ${j.err ?? ''} ${j.applied ?? ''} ${j.height ?? ''}`);
        }
        t.diagnostic(
          `from height ${from} to ${target} in ${caughtUpMs} ms; certificate with its signature at height ${signedAt}; hostile /sync/blocks answers: ${hostile.stats.blocks.length}, closed after ${cut.map((x) => x.closedAfterMs).join(',')} ms; lastError: ${row.lastError}`,
        );
      });
    } catch (e) {
      if (e instanceof Error) e.message += `\n\nrestarted node log (tail):\n${lines.slice(-40).join('\n')}`;
      throw e;
    } finally {
      // The hostile peer goes first: it cuts whatever the node still waits for.
      await hostile.close();
      await (restarted as RunningNode | null)?.close();
    }
  });

  it('behavior: a peer whose /sync/blocks answer grows past syncMaxResponseBytes is cut at the cap and penalized; the node goes on', async (t) => {
    const cap = 1024 * 1024;
    const floodBytes = 64 * 1024 * 1024;
    const flood: HostilePeer = await startHostilePeer({ blocks: 'flood', floodBytes, lifetimeMs: 90_000 });
    const n = await startTestNode({ config: { peers: flood.url, syncMaxResponseBytes: cap, adminToken: ADMIN } });
    try {
      flood.genesisHash = n.node.genesisHash;
      const answer = await waitUntil(() => flood.stats.blocks.find((x) => x.closedAfterMs !== null), 30_000, 'the flooded answer to be cut');
      // What was written beyond the cap sits in loopback socket buffers, never in the node's memory.
      assert.ok(answer.bytes < floodBytes, `the whole ${floodBytes}-byte answer was taken`);
      assert.ok(answer.bytes <= cap + 32 * 1024 * 1024, `${answer.bytes} bytes were written before the node cut the answer`);
      const row = await waitUntil(
        async () => (await adminPeers(n.url)).find((p) => p.url === flood.url && p.lastError !== null),
        20_000,
        'the flooding peer to be penalized',
      );
      assert.match(row.lastError ?? '', /PAYLOAD_TOO_LARGE|more than/i);
      const h = n.node.height;
      await waitForLocalHeight(n, h + 3, 20_000);
      t.diagnostic(`answer cut after ${answer.bytes} bytes written (${answer.closedAfterMs} ms); lastError: ${row.lastError}`);
    } finally {
      await flood.close();
      await n.dispose();
    }
  });
});
