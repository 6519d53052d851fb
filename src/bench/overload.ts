/**
 * The overload scenario (`npm run bench:overload`): more load than blocks can
 * take, for a bounded time, to show that a node's mempool stays within
 * `mempoolMaxBytes` (every node is started with a small one,
 * `--mempool-max-bytes`, default 4 MiB) while admission outpaces
 * finalization. Pre-signed transfers go in `POST /txs` batches over the
 * transfers' raw connections (sender i's txs to node i mod nodes); a tx
 * refused with MEMPOOL_FULL is sent again after a backoff, bounded in count
 * (overloadFeed.ts). Every node's `/status` pool and VmHWM are sampled every
 * 250 ms. It prints offered, admitted and finalized tx/s, the pool-full
 * refusals, each node's largest pool against the bound, the peak memory and
 * the verify rate of the same run.
 * @module
 */
import { Pool } from 'undici';
import { benchGenesis, benchSigners, followFinalized, presignTransfers, startBenchNodes, type Body } from './benchNodes.js';
import { machineLine, measureVerifyRate } from './cpuFigures.js';
import { procStatusKb } from './nodeFigures.js';
import { OverloadFeed, type FeedCounts } from './overloadFeed.js';
import { PoolPeak, readPool, sampleWhile, SAMPLE_EVERY_MS } from './poolSampler.js';
import { submissionOutcomes, txSubmissions } from './rawHttp.js';
import { openLoadConnections } from './submitPlan.js';
import { perNodeConcurrency } from './transfersReport.js';

export interface OverloadOptions {
  readonly senders: number;
  readonly perSender: number;
  readonly batch: number;
  readonly runTimeMs: number;
  readonly mempoolMaxBytes: number;
  readonly retries: number;
  readonly concurrency: number;
  readonly nodes: number;
  /** Offered tx sends per second over all nodes (0: as fast as the connections allow). */
  readonly rate: number;
  readonly workers: number;
  readonly backend: string;
  readonly keep: boolean;
  readonly logLevel: string;
  readonly nodeArgs: readonly string[];
  readonly startArgs: readonly string[];
}

/** One node's pool and memory over the run. */
export interface NodePoolFigures {
  readonly peak: { readonly txs: number; readonly memoryBytes: number };
  readonly samples: number;
  /** Readings at or above 90% of the bound, and above it (none, if the bound holds). */
  readonly nearFull: number;
  readonly over: number;
  readonly peakKb: number;
}

export interface OverloadReport {
  readonly seconds: number;
  readonly counts: FeedCounts;
  readonly finalized: number;
  readonly nodes: readonly NodePoolFigures[];
  /** True when every fresh tx was sent before the run time was up. */
  readonly ranOut: boolean;
  readonly verifyRate: number;
}

/** Every sender's txs in nonce order, split by the node they go to (sender i → node i mod nodes). */
function sendersByNode(bodies: readonly Body[], senders: number, nodes: number): Body[][][] {
  const bySender: Body[][] = Array.from({ length: senders }, () => []);
  for (const b of bodies) bySender[b.sender]!.push(b);
  return Array.from({ length: nodes }, (_, k) => bySender.filter((_, i) => i % nodes === k));
}

export async function runOverload(o: OverloadOptions): Promise<OverloadReport> {
  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write('measuring node:crypto Ed25519 verify/s on one core ...\n');
  const verifyRate = measureVerifyRate();
  process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);
  process.stdout.write(`pre-signing ${o.senders * o.perSender} transfers from ${o.senders} senders ...\n`);
  const signers = benchSigners('fastpos-bench-sender-', o.senders);
  const feeds = sendersByNode(presignTransfers(signers, o.perSender), o.senders, o.nodes).map((list) => new OverloadFeed(list, o.retries));

  const net = await startBenchNodes({
    genesis: benchGenesis(signers, o.nodes),
    extraAccounts: 0, nodes: o.nodes, backend: o.backend, workers: o.workers, concurrency: o.concurrency,
    perSender: o.perSender, logLevel: o.logLevel, nodeArgs: o.nodeArgs, startArgs: o.startArgs, keep: o.keep,
    scenarioArgs: [
      '--mempool-max-bytes', String(o.mempoolMaxBytes),
      ...(o.batch > 1000 ? ['--tx-batch-max-txs', String(o.batch), '--tx-batch-max-bytes', String(Math.min(67_108_864, o.batch * 1024))] : []),
    ],
  });
  const statusPools = net.ports.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: 1 }));
  try {
    const pids = net.children.map((c) => c.pid!);
    const t0 = performance.now();
    const deadline = t0 + o.runTimeMs;
    let running = true;
    const finalizedAt = new Map<string, number>();
    const follower = followFinalized(net, { active: () => running, deadline: deadline + 1000, done: () => false, finalizedAt });
    const peaks = statusPools.map(() => new PoolPeak());
    const nearFull = statusPools.map(() => 0);
    const over = statusPools.map(() => 0);
    const hwm = pids.map(() => 0);
    const sampler = sampleWhile(() => running, deadline + 1000, async () => {
      await Promise.all(
        statusPools.map(async (p, i) => {
          const r = await readPool(p);
          peaks[i]!.add(r);
          if (r !== null && r.memoryBytes >= 0.9 * o.mempoolMaxBytes) nearFull[i]!++;
          if (r !== null && r.memoryBytes > o.mempoolMaxBytes) over[i]!++;
          hwm[i] = Math.max(hwm[i]!, procStatusKb(pids[i]!, 'VmHWM') || 0);
        }),
      );
    });

    const conns = await openLoadConnections(net.ports, o.concurrency);
    let reserved = 0;
    await Promise.all(
      conns.map(async ({ conn, node }) => {
        const feed = feeds[node]!;
        while (performance.now() < deadline) {
          if (o.rate > 0) {
            // Open loop over all connections: the k-th tx send is due at t0 + k / rate (a batch's slots are taken before it is drawn).
            const due = t0 + (reserved * 1000) / o.rate;
            if (due >= deadline) return;
            reserved += o.batch;
            if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
          }
          const drawn = feed.draw(o.batch, performance.now());
          if (o.rate > 0) reserved -= o.batch - drawn.length;
          if (drawn.length === 0) {
            if (feed.finished()) return;
            // Nothing to send until a refused tx is due or a sender's tx is answered.
            const wait = Math.min(feed.nextDue() - performance.now(), deadline - performance.now(), 20);
            await new Promise((r) => setTimeout(r, Math.max(1, wait)));
            continue;
          }
          const [item] = txSubmissions(drawn.map((d) => d.body), o.batch, '127.0.0.1');
          const r = await conn.send(item!.request);
          const now = performance.now();
          submissionOutcomes(item!, r).forEach((code, j) => feed.settle(drawn[j]!, code, now));
        }
      }),
    );
    // The run's window: up to the deadline, or to the last answer once every pre-signed tx was sent and answered.
    const ranOut = feeds.every((f) => f.finished());
    const t1 = ranOut ? performance.now() : Math.max(performance.now(), deadline);
    const finalized = finalizedAt.size;
    running = false;
    conns.forEach((c) => c.conn.close());
    await follower;
    await sampler;
    for (const [i, pid] of pids.entries()) hwm[i] = Math.max(hwm[i]!, procStatusKb(pid, 'VmHWM') || 0);
    const report: OverloadReport = {
      seconds: (t1 - t0) / 1000,
      counts: sumCounts(feeds.map((f) => f.counts)),
      finalized,
      nodes: peaks.map((p, i) => ({ peak: p.peak, samples: p.samples, nearFull: nearFull[i]!, over: over[i]!, peakKb: hwm[i]! })),
      ranOut,
      verifyRate,
    };
    process.stdout.write(overloadLines(o, report).join('\n') + '\n');
    return report;
  } finally {
    await Promise.all(statusPools.map((p) => p.close()));
    await net.stop();
  }
}

function sumCounts(all: readonly FeedCounts[]): FeedCounts {
  const out: FeedCounts = { sends: 0, resends: 0, admitted: 0, poolFull: 0, givenUp: 0, otherRefusals: new Map() };
  for (const c of all) {
    out.sends += c.sends;
    out.resends += c.resends;
    out.admitted += c.admitted;
    out.poolFull += c.poolFull;
    out.givenUp += c.givenUp;
    for (const [k, v] of c.otherRefusals) out.otherRefusals.set(k, (out.otherRefusals.get(k) ?? 0) + v);
  }
  return out;
}

/** A byte count as MiB, or as bytes below 1 MiB. */
const size = (b: number): string => (b >= 1_048_576 ? `${(b / 1_048_576).toFixed(1)} MiB` : `${b} B`);

/** The overload report's lines. */
export function overloadLines(o: OverloadOptions, r: OverloadReport): string[] {
  const { counts: c, seconds } = r;
  const bound = o.mempoolMaxBytes;
  const poolLine = (n: NodePoolFigures, i: number): string =>
    `node ${i}: ${n.peak.txs} txs, ${size(n.peak.memoryBytes)} = ${((n.peak.memoryBytes / bound) * 100).toFixed(0)}% of the bound; ${n.nearFull} of ${n.samples} samples at 90% or more, ${n.over} above it`;
  const largest = Math.max(...r.nodes.map((n) => n.peak.memoryBytes));
  const others = [...c.otherRefusals].map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    '',
    `overload: validator processes: ${o.nodes}, backend: ${o.backend}, verify workers per node: ${o.workers}, concurrency: ${perNodeConcurrency(o.concurrency, o.nodes)}, ${o.batch > 1 ? `${o.batch} txs per POST /txs` : 'one tx per POST /tx'}, offered load: ${o.rate > 0 ? `${o.rate} tx/s` : 'as fast as possible'}, mempoolMaxBytes: ${size(bound)}, run: ${seconds.toFixed(1)} s`,
    `offered tx/s: ${(c.sends / seconds).toFixed(0)} (${c.sends} tx sends, ${c.resends} of them retries after MEMPOOL_FULL)`,
    `admitted tx/s: ${(c.admitted / seconds).toFixed(0)} (${c.admitted} txs)`,
    `finalized tx/s: ${(r.finalized / seconds).toFixed(0)} (${r.finalized} txs finalized during the run, seen on the first node)`,
    `pool-full rejections (MEMPOOL_FULL): ${c.poolFull}; txs given up after ${o.retries} retries: ${c.givenUp}; other refusals: ${others === '' ? 'none' : others}`,
    `mempool at its largest (sampled every ${SAMPLE_EVERY_MS} ms) against mempoolMaxBytes ${size(bound)}: ${r.nodes.map(poolLine).join('; ')}`,
    `the pool's estimated memory stayed within mempoolMaxBytes: ${r.nodes.every((n) => n.over === 0) && largest <= bound ? 'yes' : 'NO'} (largest ${size(largest)} of ${size(bound)})`,
    `node peak memory (VmHWM): ${(r.nodes[0]!.peakKb / 1024).toFixed(0)} MiB${o.nodes > 1 ? ` (first node; largest over the nodes ${(Math.max(...r.nodes.map((n) => n.peakKb)) / 1024).toFixed(0)} MiB)` : ''}`,
    `verify/s (one core, this run): ${r.verifyRate.toFixed(0)}`,
    `ratio finalized tx/s ÷ verify/s: ${(r.finalized / seconds / r.verifyRate).toFixed(2)}`,
  ];
  if (c.poolFull === 0) lines.push('note: the pool never refused a tx (no MEMPOOL_FULL): the offered load did not fill it; raise --concurrency or --batch, or lower --mempool-max-bytes');
  if (r.ranOut) lines.push('note: every pre-signed tx was sent before the run time was up: raise --senders or --txs-per-sender for a longer overload');
  return lines;
}
