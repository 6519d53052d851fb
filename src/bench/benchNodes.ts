/**
 * The network a load scenario runs against (the transfers and the overload
 * scenarios): a genesis that funds the senders, the pre-signed transfers, and
 * the validator processes (`fastpos start`, one validator key each, every node
 * a peer of the others) started in a temporary directory and waited for until
 * each has finalized a block.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { signTransfer } from '../client/sign.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { addressFromPubKey, devValidator } from '../crypto/keys.js';
import { freeLoopbackPorts } from '../cli/ports.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT } from '../state/genesis.js';
import type { Genesis } from '../types/index.js';
import { writeGenesisFile } from './genesisAccounts.js';
import { procStatusKb } from './nodeFigures.js';

export const BENCH_CHAIN_ID = 'fastpos-bench-devnet';

/** One pre-signed tx: `from/nonce`, the sender's index, its JSON text. */
export interface Body {
  readonly key: string;
  readonly sender: number;
  readonly json: string;
}

/** The signers of `count` senders whose seeds start with `prefix` (`fastpos-bench-sender-`, `fastpos-bench-warmup-sender-`). */
export function benchSigners(prefix: string, count: number): Signer[] {
  return Array.from({ length: count }, (_, i) => createSigner(sha256(`${prefix}${i}`).toString('hex')));
}

const SINK = sha256('fastpos-bench-sink').toString('hex').slice(0, 40);

/** Transfers of 1 to the sink, `perSender` from each signer: every sender's nonce 0, then every sender's nonce 1, … */
export function presignTransfers(list: readonly Signer[], perSender: number): Body[] {
  const out: Body[] = [];
  for (let n = 0; n < perSender; n++) {
    for (let i = 0; i < list.length; i++) {
      const { tx } = signTransfer(list[i]!, { chainId: BENCH_CHAIN_ID, nonce: n, to: SINK, amount: 1n, fee: 1n });
      out.push({ key: `${tx.from}/${n}`, sender: i, json: JSON.stringify(tx) });
    }
  }
  return out;
}

/** The bench's genesis: the given signers funded, one validator per node. */
export function benchGenesis(funded: readonly Signer[], nodes: number): Genesis {
  return {
    chainId: BENCH_CHAIN_ID,
    genesisTime: 1_767_225_600_000,
    treasury: sha256('fastpos-bench-treasury').toString('hex').slice(0, 40),
    params: { ...DEFAULT_PARAMS, maxBlockTxs: 2000 },
    accounts: funded.map((s) => addressFromPubKey(s.publicKey)).map((address) => ({ address, balance: 10n ** 15n })),
    validators: Array.from({ length: nodes }, (_, i) => ({ pubKey: devValidator(i).publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT })),
  };
}

export interface BenchNodesOptions {
  readonly genesis: Genesis;
  /** Extra funded accounts written into the genesis file (genesisAccounts.ts). */
  readonly extraAccounts: number;
  readonly nodes: number;
  readonly backend: string;
  readonly workers: number;
  /** Load connections in all: every node gets room for them. */
  readonly concurrency: number;
  /** Txs each sender sends (the per-sender pool cap and nonce window are raised to it). */
  readonly perSender: number;
  readonly logLevel: string;
  /** Node flags before the script, and `fastpos start` flags after the bench's own (so they win). */
  readonly nodeArgs: readonly string[];
  readonly startArgs: readonly string[];
  /** `fastpos start` flags the scenario itself adds, before `startArgs`. */
  readonly scenarioArgs: readonly string[];
  readonly keep: boolean;
}

/** The started network; `stop` ends the processes and removes the directory (unless kept). */
export interface BenchNodes {
  readonly dir: string;
  readonly ports: readonly number[];
  readonly children: readonly ChildProcess[];
  /** Connections to the first node, for the follower, the samplers and metric reads. */
  readonly pool: Pool;
  readonly genesisBytes: number;
  /** Spawn to every node answering with a finalized block, s. */
  readonly startSeconds: number;
  /** Largest resident memory over the nodes once they had started, MiB. */
  readonly startRssMiB: number;
  /** The first node's metrics now: a lookup by sample name (labels included); absent = 0. */
  readMetrics(): Promise<(name: string) => number>;
  stop(): Promise<void>;
}

/**
 * Writes the genesis, starts the nodes and waits until each has finalized a
 * block, printing the genesis and start lines. On failure the processes are
 * stopped before the error is thrown.
 */
export async function startBenchNodes(o: BenchNodesOptions): Promise<BenchNodes> {
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-bench-'));
  const ports = await freeLoopbackPorts(o.nodes);
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  // One genesis file (written in slices: it may fund a million extra accounts), linked into every data dir.
  const genesisStart = performance.now();
  const genesisFile = writeGenesisFile(join(dir, 'genesis.json'), o.genesis, o.extraAccounts);
  process.stdout.write(`genesis: ${genesisFile.accounts} accounts (${o.extraAccounts} extra), ${(genesisFile.bytes / 1_048_576).toFixed(1)} MiB, written in ${((performance.now() - genesisStart) / 1000).toFixed(1)} s\n`);
  const spawnedAt = performance.now();
  const children = ports.map((p, i) => {
    const nodeDir = join(dir, `node${i}`);
    mkdirSync(nodeDir);
    linkSync(genesisFile.path, join(nodeDir, 'genesis.json'));
    // Each process holds exactly one validator key.
    writeFileSync(join(nodeDir, 'validator_key.json'), JSON.stringify({ privateKey: devValidator(i).privateKey }), { mode: 0o600 });
    const peers = ports.filter((_, j) => j !== i).map((q) => `http://127.0.0.1:${q}`);
    return spawn(
      process.execPath,
      [
        ...o.nodeArgs,
        cli, 'start', '--data-dir', nodeDir, '--port', String(p), '--log-level', o.logLevel, '--rate-limit-max', '0',
        // All the load comes from one address: room for every connection, the follower's and the peers'.
        '--max-connections-per-ip', String(Math.max(128, o.concurrency + 64)),
        '--state-backend', o.backend, '--verify-workers', String(o.workers),
        '--mempool-max-per-sender', String(Math.max(1000, o.perSender)), '--mempool-nonce-window', String(Math.max(1000, o.perSender)),
        ...(peers.length > 0 ? ['--peers', peers.join(','), '--peer-discovery-interval-ms', '0'] : []),
        ...o.scenarioArgs,
        ...o.startArgs,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  });
  const pool = new Pool(`http://127.0.0.1:${ports[0]!}`, { connections: o.concurrency, pipelining: 1 });
  const stop = async (): Promise<void> => {
    await pool.close();
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Wait for every node to answer, and for the network to finalize a block.
    // 60 s, plus 10 s per further process (they share the cores), plus 0.3 s per thousand extra accounts for every two nodes.
    const readyS = 60 + 10 * (o.nodes - 1) + o.extraAccounts * 0.0003 * Math.max(1, o.nodes / 2);
    const readyBy = Date.now() + readyS * 1000;
    for (const p of ports) {
      for (;;) {
        try {
          const r = await fetch(`http://127.0.0.1:${p}/status`);
          const st = (await r.json()) as { latestHeight: number };
          if (r.status === 200 && st.latestHeight >= 1) break;
        } catch {
          /* not up yet */
        }
        if (Date.now() > readyBy) throw new Error(`the nodes did not start and finalize within ${readyS.toFixed(0)} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const startSeconds = (performance.now() - spawnedAt) / 1000;
  const startRssMiB = Math.max(...children.map((c) => procStatusKb(c.pid!, 'VmRSS'))) / 1024;
  process.stdout.write(`nodes started and finalized a block after ${startSeconds.toFixed(1)} s; largest resident memory then: ${startRssMiB.toFixed(0)} MiB\n`);
  return {
    dir, ports, children, pool, genesisBytes: genesisFile.bytes, startSeconds, startRssMiB,
    async readMetrics() {
      const text = await (await pool.request({ path: '/metrics', method: 'GET' })).body.text();
      const values = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line.startsWith('#') || line.length === 0) continue;
        const at = line.lastIndexOf(' ');
        values.set(line.slice(0, at), Number(line.slice(at + 1)));
      }
      return (name) => values.get(name) ?? 0;
    },
    stop,
  };
}

/** Follows finalized blocks from the first height on through the first node, recording when each `from/nonce` was seen. */
export function followFinalized(net: BenchNodes, p: { readonly active: () => boolean; readonly deadline: number; readonly done: (seen: number) => boolean; readonly finalizedAt: Map<string, number> }): Promise<void> {
  return (async () => {
    let followHeight = 2;
    while (p.active() && performance.now() < p.deadline) {
      const r = await net.pool.request({ path: `/blocks?from=${followHeight}&limit=100`, method: 'GET' });
      const blocks = JSON.parse(await r.body.text()) as { header: { height: number }; txs: { from: string; nonce: number }[] }[];
      const now = performance.now();
      for (const b of blocks) {
        for (const t of b.txs) p.finalizedAt.set(`${t.from}/${t.nonce}`, now);
        followHeight = b.header.height + 1;
      }
      if (p.done(p.finalizedAt.size)) break;
      if (blocks.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
  })();
}

/** Splits a flags string ("--a 1 --b") into arguments. */
export function splitFlags(s: string): string[] {
  return s.split(' ').filter((a) => a.length > 0);
}
