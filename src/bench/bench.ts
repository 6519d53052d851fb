/**
 * `npm run bench`: end-to-end throughput and finality latency of one local
 * node, measured from outside over HTTP, next to the machine's own Ed25519
 * verify rate measured in the same run.
 *
 *   npm run bench -- [--senders 400] [--txs-per-sender 50] [--concurrency 64]
 *                    [--backend sqlite|snapshot] [--workers 2] [--keep]
 *                    [--nodes 4] [--rate TX_PER_S] [--admission-only]
 *                    [--warmup-txs 10000] [--batch 1]
 *   npm run bench -- --scenario product-reads [--proofs 100000] [--settlements 100000]
 *                    [--challenges 10000] [--read-requests 500] [--backend sqlite|snapshot]
 *   npm run bench -- --scenario sync [--backend sqlite|snapshot] [--parts snapshot,blocks,restart]
 *                    [--accounts 100000] [--small-accounts 10000] [--snapshot-at 100]
 *                    [--short-blocks 200] [--long-blocks 2000 (snapshot backend: 1000)] [--json]
 *   npm run bench -- --scenario disk [--backend sqlite|snapshot] [--rate 200] [--prune-keep-blocks 200]
 *                    [--blocks 20000] [--run-time-s 360] [--sample-every 1000]
 *                    [--compare-blocks 5000] [--compare-time-s 120]
 *   npm run bench -- --scenario scale [--node-counts 1,4,7,10] [--accounts 1000000] [transfers options]
 *   npm run bench -- --scenario chain [--blocks 100000] [--window 50] [--txs-per-block 100]
 *                    [--accounts 1000000] [--seed 1] [--keep]
 *
 * It writes a genesis that funds the senders, starts `fastpos start` as a
 * child process, pre-signs every transfer, warms the nodes up with transfers
 * of their own senders, then submits the measured ones one per request with
 * bounded concurrency (or, with `--batch N`, in `POST /txs` requests of N),
 * follows finalized blocks, and prints the figures.
 * Every loop is bounded in count and time. The `product-reads` scenario
 * (productReads.ts) fills a node with product records instead and measures
 * the latency of the product list and statistics reads. The `sync` scenario
 * (syncBench.ts) measures how fast a new full node catches up from a state
 * snapshot (entries/s) and block by block (blocks/s, tx/s), and how long a
 * restart takes for states and chains of different sizes. The `disk`
 * scenario (diskBench.ts) samples the size of a node's data dir under a
 * steady transfer load with pruning on, and without it for comparison.
 * `--accounts N` funds N extra accounts in the transfers' genesis
 * (genesisAccounts.ts); every node's peer-link counters are read
 * (nodeFigures.ts); `--summary-json FILE` also writes the figures as JSON. The `scale` scenario (scaleBench.ts) runs the transfers
 * for several validator counts, on the empty and the large state, and prints
 * one table; the `chain` scenario (chainBench.ts) measures a block's
 * execution and durable commit against the chain's length and the state's
 * size, in this process on the SQLite store.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { signTransfer } from '../client/sign.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { addressFromPubKey, devValidator } from '../crypto/keys.js';
import { RawConnection, submissionOutcomes, txSubmissions, type Submission } from './rawHttp.js';
import { runProductReads } from './productReads.js';
import { runSyncBench, type SyncPart } from './syncBench.js';
import { runDiskBench } from './diskBench.js';
import { writeGenesisFile } from './genesisAccounts.js';
import { formatTraffic, procStatusKb, readAllMetrics, trafficPerHeight, type RunSummary } from './nodeFigures.js';
import { runScaleScenario } from './scaleBench.js';
import { runChainScenario } from './chainBench.js';
import { freeLoopbackPorts } from '../cli/ports.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT } from '../state/genesis.js';
import type { Genesis } from '../types/index.js';


const args = parseArgs({
  options: {
    senders: { type: 'string', default: '400' },
    'txs-per-sender': { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'sqlite' },
    /** Signature worker threads per node (default: 2 for one node; 1 per node for several, whose processes already share the cores). */
    workers: { type: 'string', default: '' },
    'time-limit-s': { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
    /** Offered load in tx/s over all nodes (0: as fast as the connections allow). */
    rate: { type: 'string', default: '0' },
    /** Validator processes (1 = a single node holding the only validator key). */
    nodes: { type: 'string', default: '1' },
    /** Extra node flags for the child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
    'node-args': { type: 'string', default: '' },
    /** Extra `fastpos start` flags for every node, e.g. "--min-block-interval-ms 200". */
    'start-args': { type: 'string', default: '' },
    /** Pause block production on every node first: measures admission (HTTP, decoding, signature checks, gossip) alone. */
    'admission-only': { type: 'boolean', default: false },
    /** Log level of the node (its JSON logs go to this process's stdout). */
    'log-level': { type: 'string', default: 'warn' },
    /**
     * Transfers submitted and finalized before the measured run (from senders of
     * their own), so that the figures are those of warm processes: the first tens
     * of seconds of a fresh node go partly to compiling its hot code. 0 = none.
     */
    'warmup-txs': { type: 'string', default: '10000' },
    /** Txs per request: 1 = one `POST /tx` per tx; N > 1 = `POST /txs` batches of N over the same connections. */
    batch: { type: 'string', default: '1' },
    /** `transfers` (the default: throughput and finality), `product-reads` (productReads.ts), `sync` (syncBench.ts) or `disk` (diskBench.ts). */
    scenario: { type: 'string', default: 'transfers' },
    /** product-reads: records in the store, and measured requests per read. */
    proofs: { type: 'string', default: '100000' },
    settlements: { type: 'string', default: '100000' },
    challenges: { type: 'string', default: '10000' },
    'read-requests': { type: 'string', default: '500' },
    /** sync: which parts, the big and small states' accounts, the snapshot height, the short and long chains, JSON output. */
    parts: { type: 'string', default: 'snapshot,blocks,restart' },
    /** sync: accounts of the big state (default 100000); transfers: extra funded accounts in the genesis (default 0). */
    accounts: { type: 'string', default: '' },
    'small-accounts': { type: 'string', default: '10000' },
    'snapshot-at': { type: 'string', default: '100' },
    'short-blocks': { type: 'string', default: '200' },
    /** Default: 2000 on SQLite, 1000 on the snapshot backend (which rewrites its whole state file at every block). */
    'long-blocks': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
    /** disk: pruneKeepBlocks of the pruned run, its blocks and time limit, the sampling step, and the unpruned run's blocks and time (0 = none). */
    'prune-keep-blocks': { type: 'string', default: '200' },
    blocks: { type: 'string', default: '20000' },
    'run-time-s': { type: 'string', default: '360' },
    'sample-every': { type: 'string', default: '1000' },
    'compare-blocks': { type: 'string', default: '5000' },
    'compare-time-s': { type: 'string', default: '120' },
    /** transfers: also write the run's figures as JSON to this file (read by `--scenario scale`). */
    'summary-json': { type: 'string', default: '' },
    /** scale: which validator counts, the state's accounts, txs per row; chain: block size, measured window. */
    'node-counts': { type: 'string', default: '1,4,7,10' },
    'txs-per-block': { type: 'string', default: '100' },
    window: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
  },
}).values;

const SENDERS = Number(args.senders);
const PER_SENDER = Number(args['txs-per-sender']);
const CONCURRENCY = Number(args.concurrency);
const TIME_LIMIT_MS = Number(args['time-limit-s']) * 1000;
const NODES = Number(args.nodes);
const RATE = Number(args.rate);
const WORKERS = args.workers === '' ? (NODES > 1 ? 1 : 2) : Number(args.workers);
const ADMISSION_ONLY = args['admission-only'] === true;
const WARMUP_TXS = ADMISSION_ONLY ? 0 : Number(args['warmup-txs']);
const BATCH = Number(args.batch);
if (!Number.isSafeInteger(BATCH) || BATCH < 1) throw new Error(`--batch must be a positive integer, got ${String(args.batch)}`);
/** Admin token of the bench's nodes (used only to pause production with --admission-only). */
const ADMIN_TOKEN = sha256(`fastpos-bench-admin-${process.pid}-${Date.now()}`).toString('hex');

/** One pre-signed tx: `from/nonce`, the sender's index, its JSON text. */
interface Body {
  readonly key: string;
  readonly sender: number;
  readonly json: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** node:crypto Ed25519 verifications per second on this thread, public key object reused. */
function measureVerifyRate(ms = 2000): number {
  const { publicKey: pub, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(300, 7);
  const sig = cryptoSign(null, msg, privateKey);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 200; i++) cryptoVerify(null, msg, pub, sig);
    n += 200;
  }
  return n / ((performance.now() - start) / 1000);
}

function perNodeConcurrency(c: number, n: number): string {
  return n === 1 ? String(c) : `${Math.max(1, Math.floor(c / n)) * n} (${Math.max(1, Math.floor(c / n))} per node)`;
}

/** Thread groups of a node process: the main thread, and the threads the node names (src/worker.ts nameThread). */
const THREAD_GROUPS = [
  ['main', 'main thread'],
  ['fastpos-verify', 'signature workers'],
  ['fastpos-sqlite', 'SQLite writer'],
  ['fastpos-files', 'guard file writer'],
  ['other', 'other (V8 GC and compiler, libuv)'],
] as const;

/** CPU seconds so far of each thread group of a process (threads that ended are not counted). */
function threadGroupCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const group = tid === String(pid) ? 'main' : THREAD_GROUPS.some(([g]) => g === comm) ? comm : 'other';
      out.set(group, (out.get(group) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** Sum over processes of the thread-group CPU seconds. */
function allThreadGroups(pids: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) for (const [g, v] of threadGroupCpuSeconds(pid)) out.set(g, (out.get(g) ?? 0) + v);
  return out;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}


async function main(): Promise<void> {
  if (args.scenario === 'product-reads') {
    process.stdout.write(`machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown'} × ${(await import('node:os')).cpus().length}, node ${process.version}\n`);
    const verifyRate = measureVerifyRate();
    process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);
    await runProductReads({
      proofs: Number(args.proofs),
      settlements: Number(args.settlements),
      challenges: Number(args.challenges),
      readRequests: Number(args['read-requests']),
      backend: String(args.backend),
      keep: args.keep === true,
      logLevel: String(args['log-level']),
      nodeArgs: String(args['node-args']).split(' ').filter((a) => a.length > 0),
      startArgs: String(args['start-args']).split(' ').filter((a) => a.length > 0),
      concurrency: CONCURRENCY,
      verifyRate,
      // Filling the store takes minutes: at least half an hour in all.
      timeLimitMs: Math.max(TIME_LIMIT_MS, 1_800_000),
    });
    return;
  }
  if (args.scenario === 'sync') {
    const parts = String(args.parts).split(',').map((p) => p.trim()).filter((p) => p.length > 0);
    for (const p of parts) if (!['snapshot', 'blocks', 'restart'].includes(p)) throw new Error(`unknown --parts entry ${p} (snapshot, blocks, restart)`);
    const machine = `machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown'} × ${(await import('node:os')).cpus().length}, node ${process.version}`;
    if (args.json !== true) process.stdout.write(`${machine}\n`);
    const verifyRate = measureVerifyRate();
    if (args.json !== true) process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);
    await runSyncBench({
      parts: new Set(parts as SyncPart[]),
      accounts: args.accounts === '' ? 100_000 : Number(args.accounts),
      smallAccounts: Number(args['small-accounts']),
      snapshotAt: Number(args['snapshot-at']),
      shortBlocks: Number(args['short-blocks']),
      longBlocks: args['long-blocks'] === '' ? (args.backend === 'snapshot' ? 1000 : 2000) : Number(args['long-blocks']),
      senders: SENDERS,
      txsPerSender: PER_SENDER,
      concurrency: CONCURRENCY,
      backend: String(args.backend),
      keep: args.keep === true,
      json: args.json === true,
      nodeArgs: String(args['node-args']).split(' ').filter((a) => a.length > 0),
      startArgs: String(args['start-args']).split(' ').filter((a) => a.length > 0),
      verifyRate,
      // Every part together: well under this on an idle machine.
      timeLimitMs: Math.max(TIME_LIMIT_MS, 900_000),
    });
    return;
  }
  if (args.scenario === 'disk') {
    process.stdout.write(`machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown'} × ${(await import('node:os')).cpus().length}, node ${process.version}\n`);
    const verifyRate = measureVerifyRate();
    process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);
    await runDiskBench({
      backend: String(args.backend),
      rate: RATE > 0 ? RATE : 200,
      pruneKeepBlocks: Number(args['prune-keep-blocks']),
      blocks: Number(args.blocks),
      runTimeMs: Number(args['run-time-s']) * 1000,
      sampleEvery: Number(args['sample-every']),
      compareBlocks: Number(args['compare-blocks']),
      compareTimeMs: Number(args['compare-time-s']) * 1000,
      senders: SENDERS,
      concurrency: CONCURRENCY,
      keep: args.keep === true,
      nodeArgs: String(args['node-args']).split(' ').filter((a) => a.length > 0),
      startArgs: String(args['start-args']).split(' ').filter((a) => a.length > 0),
      verifyRate,
    });
    return;
  }
  if (args.scenario === 'scale') {
    await runScaleScenario({ nodeCounts: String(args['node-counts']), accounts: args.accounts === '' ? 1_000_000 : Number(args.accounts), argv: process.argv.slice(2) });
    return;
  }
  if (args.scenario === 'chain') {
    await runChainScenario({
      // --blocks defaults to the disk scenario's 20000; the chain scenario's default is 100000.
      blocks: process.argv.some((a) => a === '--blocks' || a.startsWith('--blocks=')) ? Number(args.blocks) : 100_000,
      txsPerBlock: Number(args['txs-per-block']),
      window: Number(args.window),
      accounts: args.accounts === '' ? 1_000_000 : Number(args.accounts),
      seed: String(args.seed),
      keep: args.keep === true,
      out: (line) => process.stdout.write(line + '\n'),
    });
    return;
  }
  if (args.scenario !== 'transfers') throw new Error(`unknown --scenario ${String(args.scenario)} (transfers, scale, chain, product-reads, sync or disk)`);
  const EXTRA_ACCOUNTS = args.accounts === '' ? 0 : Number(args.accounts);
  const chainId = 'fastpos-bench-devnet';
  const seeds = Array.from({ length: SENDERS }, (_, i) => sha256(`fastpos-bench-sender-${i}`).toString('hex'));
  const warmSenders = WARMUP_TXS > 0 ? SENDERS : 0;
  const warmPerSender = warmSenders > 0 ? Math.ceil(WARMUP_TXS / warmSenders) : 0;
  const warmSeeds = Array.from({ length: warmSenders }, (_, i) => sha256(`fastpos-bench-warmup-sender-${i}`).toString('hex'));
  const warmSigners = warmSeeds.map((s) => createSigner(s));
  const signers = seeds.map((s) => createSigner(s));
  const addresses = signers.map((s) => addressFromPubKey(s.publicKey));
  const sink = sha256('fastpos-bench-sink').toString('hex').slice(0, 40);
  const genesis: Genesis = {
    chainId,
    genesisTime: 1_767_225_600_000,
    treasury: sha256('fastpos-bench-treasury').toString('hex').slice(0, 40),
    params: { ...DEFAULT_PARAMS, maxBlockTxs: 2000 },
    accounts: [...addresses, ...warmSigners.map((s) => addressFromPubKey(s.publicKey))].map((address) => ({ address, balance: 10n ** 15n })),
    validators: Array.from({ length: NODES }, (_, i) => ({ pubKey: devValidator(i).publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT })),
  };

  process.stdout.write(`machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown'} × ${(await import('node:os')).cpus().length}, node ${process.version}\n`);
  process.stdout.write('measuring node:crypto Ed25519 verify/s on one core ...\n');
  const verifyRate = measureVerifyRate();
  process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);

  process.stdout.write(`pre-signing ${SENDERS * PER_SENDER} transfers from ${SENDERS} senders${warmSenders > 0 ? ` and ${warmSenders * warmPerSender} warm-up transfers` : ''} ...\n`);
  const presign = (list: readonly Signer[], perSender: number): Body[] => {
    const out: Body[] = [];
    for (let n = 0; n < perSender; n++) {
      for (let i = 0; i < list.length; i++) {
        const { tx } = signTransfer(list[i]!, { chainId, nonce: n, to: sink, amount: 1n, fee: 1n });
        out.push({ key: `${tx.from}/${n}`, sender: i, json: JSON.stringify(tx) });
      }
    }
    return out;
  };
  const bodies = presign(signers, PER_SENDER);
  const warmBodies = presign(warmSigners, warmPerSender);

  const dir = mkdtempSync(join(tmpdir(), 'fastpos-bench-'));
  const ports = await freeLoopbackPorts(NODES);
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  // One genesis file (written in slices: it may fund a million extra accounts), linked into every data dir.
  const genesisStart = performance.now();
  const genesisFile = writeGenesisFile(join(dir, 'genesis.json'), genesis, EXTRA_ACCOUNTS);
  process.stdout.write(`genesis: ${genesisFile.accounts} accounts (${EXTRA_ACCOUNTS} extra), ${(genesisFile.bytes / 1_048_576).toFixed(1)} MiB, written in ${((performance.now() - genesisStart) / 1000).toFixed(1)} s\n`);
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
        ...String(args['node-args']).split(' ').filter((a) => a.length > 0),
        cli, 'start', '--data-dir', nodeDir, '--port', String(p), '--log-level', String(args['log-level']), '--rate-limit-max', '0',
        // All the load comes from one address: room for every connection, the follower's and the peers'.
        '--max-connections-per-ip', String(Math.max(128, CONCURRENCY + 64)),
        '--state-backend', String(args.backend), '--verify-workers', String(WORKERS),
        '--mempool-max-per-sender', String(Math.max(1000, PER_SENDER)), '--mempool-nonce-window', String(Math.max(1000, PER_SENDER)),
        ...(peers.length > 0 ? ['--peers', peers.join(','), '--peer-discovery-interval-ms', '0'] : []),
        ...(ADMISSION_ONLY ? ['--admin-token', ADMIN_TOKEN] : []),
        ...(BATCH > 1000 ? ['--tx-batch-max-txs', String(BATCH), '--tx-batch-max-bytes', String(Math.min(67_108_864, BATCH * 1024))] : []),
        ...String(args['start-args']).split(' ').filter((a) => a.length > 0),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  });
  const child = children[0]!;
  const port = ports[0]!;
  const base = `http://127.0.0.1:${port}`;
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });
  /** The first node's metrics now: a lookup by sample name (labels included); absent = 0. */
  const readMetrics = async (): Promise<(name: string) => number> => {
    const text = await (await pool.request({ path: '/metrics', method: 'GET' })).body.text();
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || line.length === 0) continue;
      const at = line.lastIndexOf(' ');
      values.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return (name) => values.get(name) ?? 0;
  };
  try {
    // Wait for every node to answer, and for the network to finalize a block.
    // 60 s, plus 10 s per further process (they share the cores), plus 0.3 s per thousand extra accounts for every two nodes.
    const readyS = 60 + 10 * (NODES - 1) + EXTRA_ACCOUNTS * 0.0003 * Math.max(1, NODES / 2);
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
    const startSeconds = (performance.now() - spawnedAt) / 1000;
    const startRssMiB = Math.max(...children.map((c) => procStatusKb(c.pid!, 'VmRSS'))) / 1024;
    process.stdout.write(`nodes started and finalized a block after ${startSeconds.toFixed(1)} s; largest resident memory then: ${startRssMiB.toFixed(0)} MiB\n`);
    if (ADMISSION_ONLY) {
      for (const p of ports) {
        const r = await fetch(`http://127.0.0.1:${p}/admin/production/pause`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: '{}',
        });
        if (r.status !== 200) throw new Error(`could not pause production on port ${p}: HTTP ${r.status} ${await r.text()}`);
      }
    }
    const submittedAt = new Map<string, number>();
    const finalizedAt = new Map<string, number>();
    let rejected = 0;
    let rtts: number[] = [];
    const rejectCodes = new Map<string, number>();
    const runDeadline = performance.now() + TIME_LIMIT_MS;

    // Follow finalized blocks from the first height on, warm-up included.
    let followHeight = 2;
    let following = !ADMISSION_ONLY;
    let expected = bodies.length + warmBodies.length;
    const follower = (async () => {
      while (following && performance.now() < runDeadline) {
        const r = await pool.request({ path: `/blocks?from=${followHeight}&limit=100`, method: 'GET' });
        const blocks = JSON.parse(await r.body.text()) as { header: { height: number }; txs: { from: string; nonce: number }[] }[];
        const now = performance.now();
        for (const b of blocks) {
          for (const t of b.txs) finalizedAt.set(`${t.from}/${t.nonce}`, now);
          followHeight = b.header.height + 1;
        }
        if (finalizedAt.size >= expected - rejected) break;
        if (blocks.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();

    // The first node's pool, sampled while the load runs: the mempool's memory bound shows at a saturating load.
    let poolPeak = { txs: 0, memoryBytes: 0 };
    const poolSampler = (async () => {
      while (following && performance.now() < runDeadline) {
        try {
          const r = await pool.request({ path: '/status', method: 'GET' });
          const st = JSON.parse(await r.body.text()) as { mempool?: { txs: number; memoryBytes?: number } };
          if ((st.mempool?.memoryBytes ?? 0) > poolPeak.memoryBytes) poolPeak = { txs: st.mempool!.txs, memoryBytes: st.mempool!.memoryBytes! };
        } catch {
          // A sample missed: the next one counts.
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    // Load is spread over every node's API: sender i always goes to node i mod NODES.
    const perNode = Math.max(1, Math.floor(CONCURRENCY / NODES));
    const conns = await Promise.all(
      Array.from({ length: perNode * NODES }, async (_, c) => {
        const conn = new RawConnection('127.0.0.1', ports[c % NODES]!);
        await conn.ready;
        return { conn, node: c % NODES };
      }),
    );
    /** Per node, the requests that carry `list` (BATCH txs each), built before they are timed. */
    const plan = (list: readonly Body[]): Submission[][] => Array.from({ length: NODES }, (_, k) => txSubmissions(list.filter((b) => b.sender % NODES === k), BATCH, '127.0.0.1'));
    /** Submits each node's requests over its connections (at RATE, if set) until done or past the deadline. */
    const submit = async (queues: Submission[][], deadline: number): Promise<void> => {
      const nextOf = new Array<number>(NODES).fill(0);
      // At a fixed rate, the k-th request of a node's queue (BATCH txs) is due at tStart + k * BATCH * NODES / RATE (open loop).
      const tStart = performance.now();
      await Promise.all(
        conns.map(async ({ conn, node }) => {
          const q = queues[node]!;
          while (nextOf[node]! < q.length && performance.now() < deadline) {
            const k = nextOf[node]!++;
            const item = q[k]!;
            if (RATE > 0) {
              const wait = tStart + (k * BATCH * NODES * 1000) / RATE - performance.now();
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            }
            const sent = performance.now();
            const r = await conn.send(item.request);
            rtts.push(performance.now() - sent);
            submissionOutcomes(item, r).forEach((code, j) => {
              if (code === null) submittedAt.set(item.keys[j]!, sent);
              else {
                rejected++;
                rejectCodes.set(code, (rejectCodes.get(code) ?? 0) + 1);
              }
            });
          }
        }),
      );
    };

    if (warmBodies.length > 0) {
      process.stdout.write(`warming up: ${warmBodies.length} transfers, measured run starts once they are finalized ...\n`);
      const warmDeadline = performance.now() + TIME_LIMIT_MS / 2;
      await submit(plan(warmBodies), warmDeadline);
      while (warmBodies.some((b) => submittedAt.has(b.key) && !finalizedAt.has(b.key)) && performance.now() < warmDeadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (rejected > 0) throw new Error(`warm-up: ${rejected} transfers refused ${JSON.stringify(Object.fromEntries(rejectCodes))}`);
      for (const b of warmBodies) {
        submittedAt.delete(b.key);
        finalizedAt.delete(b.key);
      }
      expected = bodies.length;
      rtts = [];
    }
    const measured = plan(bodies);
    const metricsBefore = await readMetrics();
    const allBefore = await readAllMetrics(ports);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const nodeCpu0 = children.reduce((t, c) => t + procCpuSeconds(c.pid!), 0);
    const groups0 = allThreadGroups(children.map((c) => c.pid!));
    /** CPU seconds of the nodes' main threads since the measured run began. */
    const mainCpuSince = (): number => (allThreadGroups(children.map((c) => c.pid!)).get('main') ?? 0) - (groups0.get('main') ?? 0);
    await submit(measured, t0 + TIME_LIMIT_MS);
    const tSubmitted = performance.now();
    conns.forEach((c) => c.conn.close());
    await follower;
    following = false;
    await poolSampler;
    if (ADMISSION_ONLY) {
      // Gossip of the last batches settles within a few hundred milliseconds.
      await new Promise((r) => setTimeout(r, 500));
      const seconds = (performance.now() - t0) / 1000;
      const nodeCpuSeconds = children.reduce((t, c) => t + procCpuSeconds(c.pid!), 0) - nodeCpu0;
      const mainCpuSeconds = mainCpuSince();
      const cpu = process.cpuUsage(cpu0);
      const n = submittedAt.size;
      process.stdout.write(
        [
          '',
          `admission only (block production paused on every node): ${bodies.length} sent, ${n} accepted, ${rejected} rejected${rejected ? ' ' + JSON.stringify(Object.fromEntries(rejectCodes)) : ''}`,
          `validator processes: ${NODES}, verify workers per node: ${WORKERS}, concurrency: ${perNodeConcurrency(CONCURRENCY, NODES)}`,
          `submitted tx/s: ${(n / ((tSubmitted - t0) / 1000)).toFixed(0)}`,
          `submit round trip p50: ${percentile(rtts.sort((a, b) => a - b), 50).toFixed(1)} ms, p99: ${percentile(rtts, 99).toFixed(1)} ms`,
          `CPU cores used: nodes ${(nodeCpuSeconds / seconds).toFixed(2)} (main thread${NODES > 1 ? 's' : ''} ${(mainCpuSeconds / seconds).toFixed(2)}), load generator ${((cpu.user + cpu.system) / 1e6 / seconds).toFixed(2)}`,
          `node CPU per accepted tx and node (its own submissions and, with several nodes, the gossip of the others'): ${((nodeCpuSeconds / NODES / n) * 1e6).toFixed(0)} µs = ${((nodeCpuSeconds / NODES / n) * verifyRate).toFixed(2)} verifies (main thread ${((mainCpuSeconds / NODES / n) * 1e6).toFixed(0)} µs)`,
          `verify/s (one core, this run): ${verifyRate.toFixed(0)}`,
        ].join('\n') + '\n',
      );
      return;
    }
    const tEnd = Math.max(...finalizedAt.values());
    const cpu = process.cpuUsage(cpu0);
    const benchCpu = (cpu.user + cpu.system) / 1e6 / ((performance.now() - t0) / 1000);
    const nodeCpuSeconds = children.reduce((t, c) => t + procCpuSeconds(c.pid!), 0) - nodeCpu0;
    const groups1 = allThreadGroups(children.map((c) => c.pid!));
    const mainCpuSeconds = (groups1.get('main') ?? 0) - (groups0.get('main') ?? 0);
    const perTx = (seconds: number): string => `${((seconds / NODES / finalizedAt.size) * 1e6).toFixed(0)} µs = ${((seconds / NODES / finalizedAt.size) * verifyRate).toFixed(2)}`;
    const threadSplit = THREAD_GROUPS.map(([g, label]) => `${label} ${perTx((groups1.get(g) ?? 0) - (groups0.get(g) ?? 0))}`).join(', ');
    const nodeCpu = nodeCpuSeconds / ((performance.now() - t0) / 1000);
    const mainCpu = mainCpuSeconds / ((performance.now() - t0) / 1000);

    const latencies: number[] = [];
    for (const [k, at] of submittedAt) {
      const f = finalizedAt.get(k);
      if (f !== undefined) latencies.push(f - at);
    }
    latencies.sort((a, b) => a - b);
    const metricsAfter = await readMetrics();
    /** A counter's (or a histogram sum's or count's) growth over the measured run on the first node. */
    const metric = (name: string): number => metricsAfter(name) - metricsBefore(name);
    const blocks = metric('fastpos_block_txs_count');
    const allAfter = await readAllMetrics(ports);
    const peakKb = procStatusKb(child.pid!, 'VmHWM');
    const peakAllKb = Math.max(...children.map((c) => procStatusKb(c.pid!, 'VmHWM')));
    const traffic = {
      messagesSent: trafficPerHeight('messagesSent', allBefore, allAfter, blocks),
      messagesReceived: trafficPerHeight('messagesReceived', allBefore, allAfter, blocks),
      bytesSent: trafficPerHeight('bytesSent', allBefore, allAfter, blocks),
      bytesReceived: trafficPerHeight('bytesReceived', allBefore, allAfter, blocks),
    };
    const submittedRate = submittedAt.size / ((tSubmitted - t0) / 1000);
    const finalizedRate = finalizedAt.size / ((tEnd - t0) / 1000);
    const lines = [
      '',
      `txs: ${bodies.length} sent, ${submittedAt.size} accepted, ${rejected} rejected${rejected ? ' ' + JSON.stringify(Object.fromEntries(rejectCodes)) : ''}, ${finalizedAt.size} finalized`,
      `validator processes: ${NODES}, backend: ${args.backend}, verify workers per node: ${WORKERS}, concurrency: ${perNodeConcurrency(CONCURRENCY, NODES)}, ${BATCH > 1 ? `${BATCH} txs per POST /txs` : 'one tx per POST /tx'}, offered load: ${RATE > 0 ? `${RATE} tx/s` : 'as fast as possible'}`,
      `submitted tx/s: ${submittedRate.toFixed(0)}`,
      `finalized tx/s: ${finalizedRate.toFixed(0)}`,
      `submit round trip p50: ${percentile(rtts.sort((a, b) => a - b), 50).toFixed(1)} ms, p99: ${percentile(rtts, 99).toFixed(1)} ms`,
      `finality latency p50: ${percentile(latencies, 50).toFixed(0)} ms, p99: ${percentile(latencies, 99).toFixed(0)} ms (submit to seen finalized)`,
      `CPU cores used: ${NODES > 1 ? `all ${NODES} nodes` : 'node'} ${nodeCpu.toFixed(2)} (main thread${NODES > 1 ? 's' : ''} ${mainCpu.toFixed(2)}), load generator ${benchCpu.toFixed(2)}`,
      // CPU per tx in units of one signature check on this machine today: steadier across runs than seconds.
      `node CPU per finalized tx and node: ${((nodeCpuSeconds / NODES / finalizedAt.size) * 1e6).toFixed(0)} µs = ${((nodeCpuSeconds / NODES / finalizedAt.size) * verifyRate).toFixed(2)} verifies (main thread ${((mainCpuSeconds / NODES / finalizedAt.size) * 1e6).toFixed(0)} µs = ${((mainCpuSeconds / NODES / finalizedAt.size) * verifyRate).toFixed(2)} verifies)`,
      `node CPU per finalized tx and node by thread (µs = verifies): ${threadSplit}`,
      `node CPU per height and node: ${((nodeCpuSeconds / NODES / Math.max(1, blocks)) * 1000).toFixed(1)} ms (main thread ${((mainCpuSeconds / NODES / Math.max(1, blocks)) * 1000).toFixed(1)} ms; includes the height's txs)`,
      `blocks: ${blocks}, mean ${(metric('fastpos_block_txs_sum') / blocks).toFixed(0)} txs per block, mean build ${((metric('fastpos_block_build_seconds_sum') / blocks) * 1000).toFixed(1)} ms, mean durable commit ${((metric('fastpos_block_commit_seconds_sum') / blocks) * 1000).toFixed(1)} ms, blocks decided after round 0: ${blocks - metric('fastpos_consensus_decided_round_bucket{le="0"}')}`,
      `mean height phases on the first node: ${['proposal', 'prevote', 'precommit', 'decided', 'commit']
        .map((ph) => `${ph} ${((metric(`fastpos_consensus_phase_seconds_sum{phase="${ph}"}`) / metric(`fastpos_consensus_phase_seconds_count{phase="${ph}"}`)) * 1000).toFixed(1)}`)
        .join(', ')} ms`,
      `mean signature wait ${((metric('fastpos_tx_signature_wait_seconds_sum') / metric('fastpos_tx_signature_wait_seconds_count')) * 1000).toFixed(1)} ms, mean server time per request ${((metric(`fastpos_http_request_duration_seconds_sum{route="${BATCH > 1 ? '/txs' : '/tx'}"}`) / metric(`fastpos_http_request_duration_seconds_count{route="${BATCH > 1 ? '/txs' : '/tx'}"}`)) * 1000).toFixed(1)} ms`,
      `tx signature checks on the first node: ${metric('fastpos_tx_signature_checks_total{path="admission"}')} at admission, ${metric('fastpos_tx_signature_checks_total{path="block"}') || 0} in blocks`,
      formatTraffic('messages sent per height and node', traffic.messagesSent, 'messages'),
      formatTraffic('messages received per height and node', traffic.messagesReceived, 'messages'),
      formatTraffic('bytes sent per height and node', traffic.bytesSent, 'bytes'),
      formatTraffic('bytes received per height and node', traffic.bytesReceived, 'bytes'),
      `first node's mempool at its largest (sampled every 250 ms): ${poolPeak.txs} txs, ${(poolPeak.memoryBytes / 1048576).toFixed(1)} MiB estimated (mempoolMaxBytes bounds it)`,
      `node peak memory (VmHWM): ${(peakKb / 1024).toFixed(0)} MiB${NODES > 1 ? ` (first node; largest over the nodes ${(peakAllKb / 1024).toFixed(0)} MiB)` : ''}`,
      `verify/s (one core, this run): ${verifyRate.toFixed(0)}`,
      `ratio finalized tx/s ÷ verify/s: ${(finalizedRate / verifyRate).toFixed(2)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (args['summary-json'] !== '') {
      const cpuPerTx = nodeCpuSeconds / NODES / finalizedAt.size;
      const summary: RunSummary = {
        nodes: NODES, extraAccounts: EXTRA_ACCOUNTS, sent: bodies.length, finalized: finalizedAt.size, rejected,
        finalizedTxPerS: finalizedRate, verifyRate, ratio: finalizedRate / verifyRate,
        cpuUsPerTxNode: cpuPerTx * 1e6, cpuVerifiesPerTxNode: cpuPerTx * verifyRate,
        finalityP50Ms: percentile(latencies, 50), finalityP99Ms: percentile(latencies, 99),
        peakMemMiB: peakAllKb / 1024, startRssMiB, startSeconds, genesisBytes: genesisFile.bytes, heights: blocks, ...traffic,
      };
      writeFileSync(String(args['summary-json']), JSON.stringify(summary, null, 2) + '\n');
    }
  } finally {
    await pool.close();
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
