/**
 * The transfers scenario (`npm run bench`, the default): throughput and
 * finality latency of one node or a network of validator processes, measured
 * from outside over HTTP. It pre-signs every transfer, warms the nodes up with
 * transfers of their own senders, submits the measured ones (submitPlan.ts),
 * follows finalized blocks through `GET /blocks?from=`, samples the first
 * node's pool, and prints the figures (transfersReport.ts).
 * @module
 */
import { writeFileSync } from 'node:fs';
import { sha256 } from '../crypto/hash.js';
import { allThreadGroups, machineLine, measureVerifyRate, percentile, procCpuSeconds } from './cpuFigures.js';
import { benchGenesis, benchSigners, followFinalized, presignTransfers, startBenchNodes } from './benchNodes.js';
import { procStatusKb, readAllMetrics, trafficPerHeight, type RunSummary } from './nodeFigures.js';
import { PoolPeak, readPool, sampleWhile } from './poolSampler.js';
import { newCounters, openLoadConnections, planRequests, submitPlanned } from './submitPlan.js';
import { admissionOnlyLines, measuredLines, type RunSetup } from './transfersReport.js';

export interface TransfersOptions {
  readonly senders: number;
  readonly perSender: number;
  readonly concurrency: number;
  readonly timeLimitMs: number;
  readonly nodes: number;
  readonly rate: number;
  readonly workers: number;
  readonly admissionOnly: boolean;
  /** 0 with admissionOnly. */
  readonly warmupTxs: number;
  readonly batch: number;
  readonly extraAccounts: number;
  readonly backend: string;
  readonly keep: boolean;
  readonly logLevel: string;
  readonly nodeArgs: readonly string[];
  readonly startArgs: readonly string[];
  /** Also write the figures as JSON to this file ('' = no). */
  readonly summaryJson: string;
}

export async function runTransfers(o: TransfersOptions): Promise<void> {
  const { nodes: NODES, batch: BATCH } = o;
  /** Admin token of the bench's nodes (used only to pause production with admissionOnly). */
  const adminToken = sha256(`fastpos-bench-admin-${process.pid}-${Date.now()}`).toString('hex');
  const warmSenders = o.warmupTxs > 0 ? o.senders : 0;
  const warmPerSender = warmSenders > 0 ? Math.ceil(o.warmupTxs / warmSenders) : 0;
  const warmSigners = benchSigners('fastpos-bench-warmup-sender-', warmSenders);
  const signers = benchSigners('fastpos-bench-sender-', o.senders);

  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write('measuring node:crypto Ed25519 verify/s on one core ...\n');
  const verifyRate = measureVerifyRate();
  process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);

  process.stdout.write(`pre-signing ${o.senders * o.perSender} transfers from ${o.senders} senders${warmSenders > 0 ? ` and ${warmSenders * warmPerSender} warm-up transfers` : ''} ...\n`);
  const bodies = presignTransfers(signers, o.perSender);
  const warmBodies = presignTransfers(warmSigners, warmPerSender);

  const net = await startBenchNodes({
    genesis: benchGenesis([...signers, ...warmSigners], NODES),
    extraAccounts: o.extraAccounts, nodes: NODES, backend: o.backend, workers: o.workers, concurrency: o.concurrency,
    perSender: o.perSender, logLevel: o.logLevel, nodeArgs: o.nodeArgs, startArgs: o.startArgs, keep: o.keep,
    scenarioArgs: [
      ...(o.admissionOnly ? ['--admin-token', adminToken] : []),
      ...(BATCH > 1000 ? ['--tx-batch-max-txs', String(BATCH), '--tx-batch-max-bytes', String(Math.min(67_108_864, BATCH * 1024))] : []),
    ],
  });
  const { ports, children, pool } = net;
  const pids = children.map((c) => c.pid!);
  try {
    if (o.admissionOnly) {
      for (const p of ports) {
        const r = await fetch(`http://127.0.0.1:${p}/admin/production/pause`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: '{}',
        });
        if (r.status !== 200) throw new Error(`could not pause production on port ${p}: HTTP ${r.status} ${await r.text()}`);
      }
    }
    const counters = newCounters();
    const finalizedAt = new Map<string, number>();
    const runDeadline = performance.now() + o.timeLimitMs;

    // Follow finalized blocks from the first height on, warm-up included.
    let following = !o.admissionOnly;
    let expected = bodies.length + warmBodies.length;
    const follower = followFinalized(net, { active: () => following, deadline: runDeadline, done: (seen) => seen >= expected - counters.rejected, finalizedAt });

    // The first node's pool, sampled while the load runs: the mempool's memory bound shows at a saturating load.
    const poolPeak = new PoolPeak();
    const poolSampler = sampleWhile(() => following, runDeadline, async () => poolPeak.add(await readPool(pool)));

    const conns = await openLoadConnections(ports, o.concurrency);
    const submitOpts = { rate: o.rate, batch: BATCH, counters };

    if (warmBodies.length > 0) {
      process.stdout.write(`warming up: ${warmBodies.length} transfers, measured run starts once they are finalized ...\n`);
      const warmDeadline = performance.now() + o.timeLimitMs / 2;
      await submitPlanned(conns, planRequests(warmBodies, NODES, BATCH), { ...submitOpts, deadline: warmDeadline });
      while (warmBodies.some((b) => counters.submittedAt.has(b.key) && !finalizedAt.has(b.key)) && performance.now() < warmDeadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (counters.rejected > 0) throw new Error(`warm-up: ${counters.rejected} transfers refused ${JSON.stringify(Object.fromEntries(counters.rejectCodes))}`);
      for (const b of warmBodies) {
        counters.submittedAt.delete(b.key);
        finalizedAt.delete(b.key);
      }
      expected = bodies.length;
      counters.rtts.length = 0;
    }
    const measured = planRequests(bodies, NODES, BATCH);
    const metricsBefore = await net.readMetrics();
    const allBefore = await readAllMetrics(ports);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const nodeCpu0 = pids.reduce((t, pid) => t + procCpuSeconds(pid), 0);
    const groups0 = allThreadGroups(pids);
    await submitPlanned(conns, measured, { ...submitOpts, deadline: t0 + o.timeLimitMs });
    const tSubmitted = performance.now();
    conns.forEach((c) => c.conn.close());
    await follower;
    following = false;
    await poolSampler;
    const setup: RunSetup = { nodes: NODES, backend: o.backend, workers: o.workers, concurrency: o.concurrency, batch: BATCH, rate: o.rate, verifyRate };
    if (o.admissionOnly) {
      // Gossip of the last batches settles within a few hundred milliseconds.
      await new Promise((r) => setTimeout(r, 500));
      const cpu = process.cpuUsage(cpu0);
      const lines = admissionOnlyLines(setup, {
        sent: bodies.length,
        counters,
        seconds: (performance.now() - t0) / 1000,
        submitSeconds: (tSubmitted - t0) / 1000,
        nodeCpuSeconds: pids.reduce((t, pid) => t + procCpuSeconds(pid), 0) - nodeCpu0,
        mainCpuSeconds: (allThreadGroups(pids).get('main') ?? 0) - (groups0.get('main') ?? 0),
        benchCpuSeconds: (cpu.user + cpu.system) / 1e6,
      });
      process.stdout.write(lines.join('\n') + '\n');
      return;
    }
    const tEnd = Math.max(...finalizedAt.values());
    const cpu = process.cpuUsage(cpu0);
    const benchCpu = (cpu.user + cpu.system) / 1e6 / ((performance.now() - t0) / 1000);
    const nodeCpuSeconds = pids.reduce((t, pid) => t + procCpuSeconds(pid), 0) - nodeCpu0;
    const groups1 = allThreadGroups(pids);
    const mainCpuSeconds = (groups1.get('main') ?? 0) - (groups0.get('main') ?? 0);
    const nodeCpu = nodeCpuSeconds / ((performance.now() - t0) / 1000);
    const mainCpu = mainCpuSeconds / ((performance.now() - t0) / 1000);

    const latencies: number[] = [];
    for (const [k, at] of counters.submittedAt) {
      const f = finalizedAt.get(k);
      if (f !== undefined) latencies.push(f - at);
    }
    latencies.sort((a, b) => a - b);
    const metricsAfter = await net.readMetrics();
    /** A counter's (or a histogram sum's or count's) growth over the measured run on the first node. */
    const metric = (name: string): number => metricsAfter(name) - metricsBefore(name);
    const blocks = metric('fastpos_block_txs_count');
    const allAfter = await readAllMetrics(ports);
    const peakKb = procStatusKb(pids[0]!, 'VmHWM');
    const peakAllKb = Math.max(...pids.map((pid) => procStatusKb(pid, 'VmHWM')));
    const traffic = {
      messagesSent: trafficPerHeight('messagesSent', allBefore, allAfter, blocks),
      messagesReceived: trafficPerHeight('messagesReceived', allBefore, allAfter, blocks),
      bytesSent: trafficPerHeight('bytesSent', allBefore, allAfter, blocks),
      bytesReceived: trafficPerHeight('bytesReceived', allBefore, allAfter, blocks),
    };
    const submittedRate = counters.submittedAt.size / ((tSubmitted - t0) / 1000);
    const finalizedRate = finalizedAt.size / ((tEnd - t0) / 1000);
    const lines = measuredLines(setup, {
      sent: bodies.length, counters, finalized: finalizedAt.size, submittedRate, finalizedRate, latencies,
      nodeCpu, mainCpu, benchCpu, nodeCpuSeconds, mainCpuSeconds,
      groupSeconds: (g) => (groups1.get(g) ?? 0) - (groups0.get(g) ?? 0),
      blocks, metric, traffic, poolPeak: poolPeak.peak, peakKb, peakAllKb,
    });
    process.stdout.write(lines.join('\n') + '\n');
    if (o.summaryJson !== '') {
      const cpuPerTx = nodeCpuSeconds / NODES / finalizedAt.size;
      const summary: RunSummary = {
        nodes: NODES, extraAccounts: o.extraAccounts, sent: bodies.length, finalized: finalizedAt.size, rejected: counters.rejected,
        finalizedTxPerS: finalizedRate, verifyRate, ratio: finalizedRate / verifyRate,
        cpuUsPerTxNode: cpuPerTx * 1e6, cpuVerifiesPerTxNode: cpuPerTx * verifyRate,
        finalityP50Ms: percentile(latencies, 50), finalityP99Ms: percentile(latencies, 99),
        peakMemMiB: peakAllKb / 1024, startRssMiB: net.startRssMiB, startSeconds: net.startSeconds, genesisBytes: net.genesisBytes, heights: blocks, ...traffic,
      };
      writeFileSync(o.summaryJson, JSON.stringify(summary, null, 2) + '\n');
    }
  } finally {
    await net.stop();
  }
}
