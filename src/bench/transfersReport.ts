/**
 * The lines the transfers scenario prints after its measured run (docs/performance.md
 * quotes them): throughput, latency, CPU by process and thread, block and
 * height figures from the first node's metrics, peer-link traffic, the pool,
 * memory and the ratio to the verify rate; and the shorter report of an
 * admission-only run.
 * @module
 */
import { THREAD_GROUPS, percentile } from './cpuFigures.js';
import { formatTraffic, type PerHeightTraffic } from './nodeFigures.js';
import type { PoolReading } from './poolSampler.js';
import type { SubmitCounters } from './submitPlan.js';

/** How the run was set up, as its lines print it. */
export interface RunSetup {
  readonly nodes: number;
  readonly backend: string;
  readonly workers: number;
  readonly concurrency: number;
  readonly batch: number;
  readonly rate: number;
  readonly verifyRate: number;
}

export function perNodeConcurrency(c: number, n: number): string {
  return n === 1 ? String(c) : `${Math.max(1, Math.floor(c / n)) * n} (${Math.max(1, Math.floor(c / n))} per node)`;
}

function refusals(c: SubmitCounters): string {
  return `${c.rejected} rejected${c.rejected ? ' ' + JSON.stringify(Object.fromEntries(c.rejectCodes)) : ''}`;
}

/** The report of an admission-only run (block production paused). */
export function admissionOnlyLines(
  s: RunSetup,
  r: { readonly sent: number; readonly counters: SubmitCounters; readonly seconds: number; readonly submitSeconds: number; readonly nodeCpuSeconds: number; readonly mainCpuSeconds: number; readonly benchCpuSeconds: number },
): string[] {
  const n = r.counters.submittedAt.size;
  const { nodes, verifyRate } = s;
  const rtts = r.counters.rtts;
  return [
    '',
    `admission only (block production paused on every node): ${r.sent} sent, ${n} accepted, ${refusals(r.counters)}`,
    `validator processes: ${nodes}, verify workers per node: ${s.workers}, concurrency: ${perNodeConcurrency(s.concurrency, nodes)}`,
    `submitted tx/s: ${(n / r.submitSeconds).toFixed(0)}`,
    `submit round trip p50: ${percentile(rtts.sort((a, b) => a - b), 50).toFixed(1)} ms, p99: ${percentile(rtts, 99).toFixed(1)} ms`,
    `CPU cores used: nodes ${(r.nodeCpuSeconds / r.seconds).toFixed(2)} (main thread${nodes > 1 ? 's' : ''} ${(r.mainCpuSeconds / r.seconds).toFixed(2)}), load generator ${(r.benchCpuSeconds / r.seconds).toFixed(2)}`,
    `node CPU per accepted tx and node (its own submissions and, with several nodes, the gossip of the others'): ${((r.nodeCpuSeconds / nodes / n) * 1e6).toFixed(0)} µs = ${((r.nodeCpuSeconds / nodes / n) * verifyRate).toFixed(2)} verifies (main thread ${((r.mainCpuSeconds / nodes / n) * 1e6).toFixed(0)} µs)`,
    `verify/s (one core, this run): ${verifyRate.toFixed(0)}`,
  ];
}

/** What a measured run gave, read by `measuredLines`. */
export interface MeasuredRun {
  readonly sent: number;
  readonly counters: SubmitCounters;
  readonly finalized: number;
  readonly submittedRate: number;
  readonly finalizedRate: number;
  /** Ascending, ms. */
  readonly latencies: number[];
  /** Cores used over the run: the nodes, their main threads, the load generator. */
  readonly nodeCpu: number;
  readonly mainCpu: number;
  readonly benchCpu: number;
  /** CPU seconds over the run, all nodes together. */
  readonly nodeCpuSeconds: number;
  readonly mainCpuSeconds: number;
  /** Thread group → CPU seconds over the run, all nodes together. */
  readonly groupSeconds: (group: string) => number;
  readonly blocks: number;
  /** A first-node counter's growth over the run. */
  readonly metric: (name: string) => number;
  readonly traffic: {
    readonly messagesSent: PerHeightTraffic | null;
    readonly messagesReceived: PerHeightTraffic | null;
    readonly bytesSent: PerHeightTraffic | null;
    readonly bytesReceived: PerHeightTraffic | null;
  };
  readonly poolPeak: PoolReading;
  readonly peakKb: number;
  readonly peakAllKb: number;
}

/** The report of a measured run. */
export function measuredLines(s: RunSetup, m: MeasuredRun): string[] {
  const { nodes: NODES, verifyRate, batch: BATCH } = s;
  const { counters, blocks, metric, latencies } = m;
  const finalized = m.finalized;
  const perTx = (seconds: number): string => `${((seconds / NODES / finalized) * 1e6).toFixed(0)} µs = ${((seconds / NODES / finalized) * verifyRate).toFixed(2)}`;
  const threadSplit = THREAD_GROUPS.map(([g, label]) => `${label} ${perTx(m.groupSeconds(g))}`).join(', ');
  const route = BATCH > 1 ? '/txs' : '/tx';
  return [
    '',
    `txs: ${m.sent} sent, ${counters.submittedAt.size} accepted, ${refusals(counters)}, ${finalized} finalized`,
    `validator processes: ${NODES}, backend: ${s.backend}, verify workers per node: ${s.workers}, concurrency: ${perNodeConcurrency(s.concurrency, NODES)}, ${BATCH > 1 ? `${BATCH} txs per POST /txs` : 'one tx per POST /tx'}, offered load: ${s.rate > 0 ? `${s.rate} tx/s` : 'as fast as possible'}`,
    `submitted tx/s: ${m.submittedRate.toFixed(0)}`,
    `finalized tx/s: ${m.finalizedRate.toFixed(0)}`,
    `submit round trip p50: ${percentile(counters.rtts.sort((a, b) => a - b), 50).toFixed(1)} ms, p99: ${percentile(counters.rtts, 99).toFixed(1)} ms`,
    `finality latency p50: ${percentile(latencies, 50).toFixed(0)} ms, p99: ${percentile(latencies, 99).toFixed(0)} ms (submit to seen finalized)`,
    `CPU cores used: ${NODES > 1 ? `all ${NODES} nodes` : 'node'} ${m.nodeCpu.toFixed(2)} (main thread${NODES > 1 ? 's' : ''} ${m.mainCpu.toFixed(2)}), load generator ${m.benchCpu.toFixed(2)}`,
    // CPU per tx in units of one signature check on this machine today: steadier across runs than seconds.
    `node CPU per finalized tx and node: ${((m.nodeCpuSeconds / NODES / finalized) * 1e6).toFixed(0)} µs = ${((m.nodeCpuSeconds / NODES / finalized) * verifyRate).toFixed(2)} verifies (main thread ${((m.mainCpuSeconds / NODES / finalized) * 1e6).toFixed(0)} µs = ${((m.mainCpuSeconds / NODES / finalized) * verifyRate).toFixed(2)} verifies)`,
    `node CPU per finalized tx and node by thread (µs = verifies): ${threadSplit}`,
    `node CPU per height and node: ${((m.nodeCpuSeconds / NODES / Math.max(1, blocks)) * 1000).toFixed(1)} ms (main thread ${((m.mainCpuSeconds / NODES / Math.max(1, blocks)) * 1000).toFixed(1)} ms; includes the height's txs)`,
    `blocks: ${blocks}, mean ${(metric('fastpos_block_txs_sum') / blocks).toFixed(0)} txs per block, mean build ${((metric('fastpos_block_build_seconds_sum') / blocks) * 1000).toFixed(1)} ms, mean durable commit ${((metric('fastpos_block_commit_seconds_sum') / blocks) * 1000).toFixed(1)} ms, blocks decided after round 0: ${blocks - metric('fastpos_consensus_decided_round_bucket{le="0"}')}`,
    `mean height phases on the first node: ${['proposal', 'prevote', 'precommit', 'decided', 'commit']
      .map((ph) => `${ph} ${((metric(`fastpos_consensus_phase_seconds_sum{phase="${ph}"}`) / metric(`fastpos_consensus_phase_seconds_count{phase="${ph}"}`)) * 1000).toFixed(1)}`)
      .join(', ')} ms`,
    `mean signature wait ${((metric('fastpos_tx_signature_wait_seconds_sum') / metric('fastpos_tx_signature_wait_seconds_count')) * 1000).toFixed(1)} ms, mean server time per request ${((metric(`fastpos_http_request_duration_seconds_sum{route="${route}"}`) / metric(`fastpos_http_request_duration_seconds_count{route="${route}"}`)) * 1000).toFixed(1)} ms`,
    `tx signature checks on the first node: ${metric('fastpos_tx_signature_checks_total{path="admission"}')} at admission, ${metric('fastpos_tx_signature_checks_total{path="block"}') || 0} in blocks`,
    formatTraffic('messages sent per height and node', m.traffic.messagesSent, 'messages'),
    formatTraffic('messages received per height and node', m.traffic.messagesReceived, 'messages'),
    formatTraffic('bytes sent per height and node', m.traffic.bytesSent, 'bytes'),
    formatTraffic('bytes received per height and node', m.traffic.bytesReceived, 'bytes'),
    `first node's mempool at its largest (sampled every 250 ms): ${m.poolPeak.txs} txs, ${(m.poolPeak.memoryBytes / 1048576).toFixed(1)} MiB estimated (mempoolMaxBytes bounds it)`,
    `node peak memory (VmHWM): ${(m.peakKb / 1024).toFixed(0)} MiB${NODES > 1 ? ` (first node; largest over the nodes ${(m.peakAllKb / 1024).toFixed(0)} MiB)` : ''}`,
    `verify/s (one core, this run): ${verifyRate.toFixed(0)}`,
    `ratio finalized tx/s ÷ verify/s: ${(m.finalizedRate / verifyRate).toFixed(2)}`,
  ];
}
