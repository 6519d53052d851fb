// Pruning on a real `fastpos start` process: a single-node devnet whose
// genesis sets evidenceMaxAgeBlocks to 100 (so the floor of pruneKeepBlocks
// is 100) runs with --prune-keep-blocks at that floor, short block intervals
// and a steady transfer load for well over ten windows. The data dir's size
// (every file, WAL included) must stay flat once the first window is pruned,
// growing only by the headers every height keeps; blocks below the earliest
// answer 410 PRUNED and GET /status shows the earliest heights.
// Needs `npx tsc -p tsconfig.build.json` first (runs dist/).
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FastposClient, signTransfer } from '../../src/client/index.js';
import { devAccount } from '../../src/crypto/keys.js';
import { defaultDevnetGenesis, encodeGenesis } from '../../src/state/genesis.js';
import { runCli, spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-pruning-');
const FLOOR = 100;
/** Blocks the run aims for, and the longest it may take. */
const TARGET = 2500;
const DEADLINE_MS = 75_000;
/** What a kept header takes (header, certificate, index entries): a generous bound. */
const HEADER_BYTES = 2048;
/** Epoch length of the test chain: below the header window only each epoch's first header is kept. */
const EPOCH = 50;
/** Snapshots every 50 blocks, two kept: the header window is max(FLOOR, 2 × 50) = FLOOR. */
const SNAPSHOT_EVERY = 50;

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => {
    // A file renamed away meanwhile (an atomic replace's .tmp) counts as gone.
    const s = statSync(join(dir, f), { throwIfNoEntry: false });
    return s?.isFile() === true ? n + s.size : n;
  }, 0);
}

function prepare(): string {
  const dir = tmp();
  const g = defaultDevnetGenesis();
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis({ ...g, params: { ...g.params, evidenceMaxAgeBlocks: FLOOR, epochLengthBlocks: EPOCH } })));
  return dir;
}

let running: NodeProcess | null = null;
after(async () => {
  await running?.kill('SIGKILL');
});

/** Transfers from dev accounts 0..9 until `stop()` says so (bounded by the deadline). */
async function load(url: string, chainId: string, stop: () => boolean): Promise<number> {
  const client = new FastposClient(url, { timeoutMs: 5000 });
  let sent = 0;
  await Promise.all(
    Array.from({ length: 10 }, async (_, sender) => {
      let nonce = 0;
      while (!stop()) {
        const { tx } = signTransfer(devAccount(sender).privateKey, { chainId, nonce, to: devAccount((sender + 1) % 10).address, amount: 1n, fee: 1n });
        try {
          await client.submitTx(tx);
          nonce++;
          sent++;
        } catch {
          // A full pool or sender limit: wait for blocks.
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  return sent;
}

for (const backend of ['sqlite', 'snapshot'] as const) {
  describe(`pruning on a running node (${backend})`, () => {
    it('error: a pruneKeepBlocks below the floor is refused at start with INVALID_CONFIG', () => {
      const dir = prepare();
      const r = runCli(['start', '--data-dir', dir, '--state-backend', backend, '--prune-keep-blocks', String(FLOOR - 1), '--port', '0']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr + r.stdout, /INVALID_CONFIG/);
      assert.match(r.stderr + r.stdout, /pruneKeepBlocks is 99: keep at least 100 blocks/);
    });

    it(`keeps the data dir's size flat under load, answers 410 PRUNED below the earliest block, and shows the earliest heights`, { timeout: 240_000 }, async () => {
      const dir = prepare();
      const node = await spawnNode(dir, [
        '--state-backend', backend,
        '--prune-keep-blocks', String(FLOOR),
        '--snapshot-every-blocks', String(SNAPSHOT_EVERY),
        '--snapshot-keep', '2',
        '--min-block-interval-ms', '2',
        '--idle-block-interval-ms', '10',
        '--commit-gather-ms', '0',
      ]);
      running = node;
      const client = new FastposClient(node.url, { timeoutMs: 5000 });
      const start = Date.now();
      const chainId = (await client.status()).chainId;
      let done = false;
      const sending = load(node.url, chainId, () => done || Date.now() - start > 2 * DEADLINE_MS);
      // The size over the third window (its largest sample: the WAL, the block log and the snapshots swing), then
      // the largest size from there on: from two windows on, old bodies go as new ones come.
      let height = 0;
      let at2w: { height: number; bytes: number } | null = null;
      let maxBytes = 0;
      // Up to TARGET blocks in DEADLINE_MS; on a slow machine, longer (up to twice) until the 10 windows the test needs.
      const going = (): boolean => height < TARGET && (Date.now() - start < DEADLINE_MS || (height < 10 * FLOOR && Date.now() - start < 2 * DEADLINE_MS));
      while (going()) {
        await new Promise((r) => setTimeout(r, 250));
        height = (await client.status()).latestHeight;
        const bytes = dirBytes(dir);
        const base = at2w as { height: number; bytes: number } | null;
        if (height >= 2 * FLOOR && (height < 3 * FLOOR || base === null)) at2w = { height, bytes: Math.max(base?.bytes ?? 0, bytes) };
        else if (height >= 3 * FLOOR) maxBytes = Math.max(maxBytes, bytes);
      }
      done = true;
      const sent = await sending;
      const st = (await (await fetch(`${node.url}/status`)).json()) as { latestHeight: number; earliestBlockHeight: number; earliestHeaderHeight: number };
      const endBytes = dirBytes(dir);
      const report = { backend, height: st.latestHeight, sent, at2w, maxBytes, endBytes, earliest: st.earliestBlockHeight, seconds: (Date.now() - start) / 1000 };
      console.log(JSON.stringify(report));
      assert.ok(at2w !== null && st.latestHeight >= 10 * FLOOR, `ran ${JSON.stringify(report)}`);
      assert.ok(sent > st.latestHeight, `the load kept blocks full: ${JSON.stringify(report)}`);
      // Flat: beyond the size at two windows, at most a factor 2 for the state's growth, the WAL's
      // swings and the snapshots, plus one checkpoint header per epoch (not a header per block).
      const bound = 2 * at2w.bytes + Math.ceil((st.latestHeight - at2w.height) / EPOCH) * HEADER_BYTES;
      assert.ok(maxBytes <= bound, `data dir grew past ${bound} bytes: ${JSON.stringify(report)}`);

      assert.equal(st.earliestHeaderHeight, 1);
      // Below the header window, each epoch's first header only.
      const old = (await (await fetch(`${node.url}/sync/headers?from=1&limit=5`)).json()) as { header: { height: number } }[];
      assert.deepEqual(old.map((h) => h.header.height), [1, 1 + EPOCH, 1 + 2 * EPOCH, 1 + 3 * EPOCH, 1 + 4 * EPOCH]);
      assert.ok(st.earliestBlockHeight > 1 && st.earliestBlockHeight <= st.latestHeight - FLOOR + 1, JSON.stringify(st));
      assert.ok(st.earliestBlockHeight >= st.latestHeight - 2 * FLOOR - 64, `pruning keeps up: ${JSON.stringify(st)}`);
      for (const path of ['/blocks/5', '/blocks?from=5&limit=3']) {
        const r = await fetch(`${node.url}${path}`);
        assert.equal(r.status, 410, path);
        const j = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(j.error.code, 'PRUNED');
        assert.match(j.error.message, /^block 5 is pruned: this node keeps whole blocks from height \d+ \(earliestBlockHeight in GET \/status\)$/);
      }
      const kept = await fetch(`${node.url}/blocks/${st.latestHeight}`);
      assert.equal(kept.status, 200);
      const list = (await (await fetch(`${node.url}/tx/finalized?fromHeight=1&limit=1&order=asc`)).json()) as { height: number }[];
      assert.ok(list.length === 1 && list[0]!.height >= st.earliestBlockHeight - 64, 'old txs are not listed');
      await node.kill();
      running = null;
      // The stopped, pruned data dir is audited by its headers (checkpoints below the window), kept blocks and state.
      const audit = runCli(['verify-chain', '--data-dir', dir, '--state-backend', backend, '--json']);
      assert.equal(audit.status, 0, audit.stderr + audit.stdout);
      const audited = JSON.parse(audit.stdout) as { ok: boolean; mode: string; height: number; checked: string[]; notChecked: string[] };
      assert.equal(audited.mode, 'headers');
      assert.ok(audited.height >= st.latestHeight, 'the audit reaches the last height the node reported');
      assert.match(audited.checked.join(' '), /gaps below the kept header window/);
    });
  });
}
