/**
 * `npm run bench`: end-to-end throughput and finality latency of one local
 * node, measured from outside over HTTP, next to the machine's own Ed25519
 * verify rate measured in the same run.
 *
 *   npm run bench -- [--senders 400] [--txs-per-sender 50] [--concurrency 64]
 *                    [--backend sqlite|snapshot] [--workers 2] [--keep]
 *                    [--nodes 4] [--rate TX_PER_S] [--admission-only]
 *                    [--warmup-txs 10000] [--batch 1]
 *   npm run bench -- --scenario overload [--run-time-s 30] [--mempool-max-bytes 4194304]
 *                    [--senders 2000] [--txs-per-sender 100] [--batch 50] [--concurrency 64]
 *                    [--retries 10] [--nodes 4] [--rate TX_PER_S] [--backend sqlite|snapshot]
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
 * The default `transfers` scenario (transfers.ts) writes a genesis that funds
 * the senders, starts `fastpos start` as a child process (benchNodes.ts),
 * pre-signs every transfer, warms the nodes up with transfers of their own
 * senders, then submits the measured ones one per request with bounded
 * concurrency (or, with `--batch N`, in `POST /txs` requests of N, about
 * 1,600 txs in flight unless `--concurrency` is given:
 * submitPlan.ts), follows finalized blocks, and prints the figures
 * (transfersReport.ts; the CPU split by thread: cpuFigures.ts; the pool
 * sampler: poolSampler.ts).
 * Every loop is bounded in count and time. The `overload` scenario
 * (overload.ts) offers more load than blocks can take, for a bounded time,
 * and shows that the mempool's memory stays within `mempoolMaxBytes`. The
 * `product-reads` scenario
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
 * size, in this process on the SQLite store. `--help`, or a command line it
 * cannot run, prints the synopsis above and exits with code 2
 * (options.ts).
 */
import { benchArgsOrExit, nonNegativeInt, positiveInt, USAGE, UsageError } from './options.js';
import { machineLine, measureVerifyRate } from './cpuFigures.js';
import { splitFlags } from './benchNodes.js';
import { runTransfers } from './transfers.js';
import { runOverload } from './overload.js';
import { runProductReads } from './productReads.js';
import { runSyncBench, type SyncPart } from './syncBench.js';
import { runDiskBench } from './diskBench.js';
import { runScaleScenario } from './scaleBench.js';
import { runChainScenario } from './chainBench.js';

const { args, given } = benchArgsOrExit(process.argv.slice(2));

const SENDERS = Number(args.senders);
const PER_SENDER = Number(args['txs-per-sender']);
const CONCURRENCY = Number(args.concurrency);
const TIME_LIMIT_MS = Number(args['time-limit-s']) * 1000;
const NODES = Number(args.nodes);
const RATE = Number(args.rate);
const WORKERS = args.workers === '' ? (NODES > 1 ? 1 : 2) : Number(args.workers);
const NODE_ARGS = splitFlags(String(args['node-args']));
const START_ARGS = splitFlags(String(args['start-args']));

/** Prints the machine and its one-core verify rate, and returns the rate. */
function machineAndVerifyRate(quiet = false): number {
  if (!quiet) process.stdout.write(`${machineLine()}\n`);
  const verifyRate = measureVerifyRate();
  if (!quiet) process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);
  return verifyRate;
}

async function main(): Promise<void> {
  switch (args.scenario) {
    case 'product-reads':
      await runProductReads({
        proofs: Number(args.proofs),
        settlements: Number(args.settlements),
        challenges: Number(args.challenges),
        readRequests: Number(args['read-requests']),
        backend: String(args.backend),
        keep: args.keep === true,
        logLevel: String(args['log-level']),
        nodeArgs: NODE_ARGS,
        startArgs: START_ARGS,
        concurrency: CONCURRENCY,
        verifyRate: machineAndVerifyRate(),
        // Filling the store takes minutes: at least half an hour in all.
        timeLimitMs: Math.max(TIME_LIMIT_MS, 1_800_000),
      });
      return;
    case 'sync': {
      const parts = String(args.parts).split(',').map((p) => p.trim()).filter((p) => p.length > 0);
      for (const p of parts) if (!['snapshot', 'blocks', 'restart'].includes(p)) throw new UsageError(`unknown --parts entry ${p} (snapshot, blocks, restart)`);
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
        nodeArgs: NODE_ARGS,
        startArgs: START_ARGS,
        verifyRate: machineAndVerifyRate(args.json === true),
        // Every part together: well under this on an idle machine.
        timeLimitMs: Math.max(TIME_LIMIT_MS, 900_000),
      });
      return;
    }
    case 'disk':
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
        nodeArgs: NODE_ARGS,
        startArgs: START_ARGS,
        verifyRate: machineAndVerifyRate(),
      });
      return;
    case 'scale':
      await runScaleScenario({ nodeCounts: String(args['node-counts']), accounts: args.accounts === '' ? 1_000_000 : Number(args.accounts), argv: process.argv.slice(2) });
      return;
    case 'chain':
      await runChainScenario({
        // --blocks defaults to the disk scenario's 20000; the chain scenario's default is 100000.
        blocks: given('blocks') ? Number(args.blocks) : 100_000,
        txsPerBlock: Number(args['txs-per-block']),
        window: Number(args.window),
        accounts: args.accounts === '' ? 1_000_000 : Number(args.accounts),
        seed: String(args.seed),
        keep: args.keep === true,
        out: (line) => process.stdout.write(line + '\n'),
      });
      return;
    case 'overload':
      await runOverload({
        // Scenario defaults where the option is not given: enough pre-signed txs to keep the pool full for the run.
        senders: given('senders') ? positiveInt('senders', args.senders) : 2000,
        perSender: given('txs-per-sender') ? positiveInt('txs-per-sender', args['txs-per-sender']) : 100,
        batch: given('batch') ? positiveInt('batch', args.batch) : 50,
        runTimeMs: (given('run-time-s') ? positiveInt('run-time-s', args['run-time-s']) : 30) * 1000,
        mempoolMaxBytes: positiveInt('mempool-max-bytes', args['mempool-max-bytes']),
        retries: nonNegativeInt('retries', args.retries),
        concurrency: positiveInt('concurrency', args.concurrency),
        nodes: positiveInt('nodes', args.nodes),
        rate: RATE,
        workers: WORKERS,
        backend: String(args.backend),
        keep: args.keep === true,
        logLevel: String(args['log-level']),
        nodeArgs: NODE_ARGS,
        startArgs: START_ARGS,
      });
      return;
    default: {
      const admissionOnly = args['admission-only'] === true;
      const batch = positiveInt('batch', args.batch);
      await runTransfers({
        senders: SENDERS,
        perSender: PER_SENDER,
        // Batches: about 1,600 txs in flight unless told (64 connections of 100 would hold 6,400 waiting txs).
        concurrency: batch > 1 && !given('concurrency') ? Math.max(2, Math.ceil(1600 / batch)) : CONCURRENCY,
        timeLimitMs: TIME_LIMIT_MS,
        nodes: NODES,
        rate: RATE,
        workers: WORKERS,
        admissionOnly,
        warmupTxs: admissionOnly ? 0 : Number(args['warmup-txs']),
        batch,
        extraAccounts: args.accounts === '' ? 0 : Number(args.accounts),
        backend: String(args.backend),
        keep: args.keep === true,
        logLevel: String(args['log-level']),
        nodeArgs: NODE_ARGS,
        startArgs: START_ARGS,
        summaryJson: String(args['summary-json']),
      });
    }
  }
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`bench: ${e.message}\nusage:\n${USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
