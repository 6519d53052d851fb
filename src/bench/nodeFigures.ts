/**
 * What the transfers benchmark reads from every node besides the first one's
 * block figures: the peer-link counters of each node's `/metrics` (messages
 * and bytes, sent and received, by kind or channel), the processes' memory
 * from /proc, and the summary it writes with `--summary-json` (read by the
 * scale scenario, scaleBench.ts).
 * @module
 */
import { readFileSync } from 'node:fs';

/**
 * The peer-link counters, by metric name. Messages are labelled with `kind`
 * (proposal, prevote, precommit, finalize, other: consensus envelopes; txs:
 * a tx batch), bytes with `channel` (stream or http: consensus messages and
 * tx batches together).
 */
export const P2P_COUNTERS = {
  messagesSent: 'fastpos_p2p_messages_sent_total',
  messagesReceived: 'fastpos_p2p_messages_received_total',
  bytesSent: 'fastpos_p2p_bytes_sent_total',
  bytesReceived: 'fastpos_p2p_bytes_received_total',
} as const;
export type P2pCounter = keyof typeof P2P_COUNTERS;

/** One node's metrics: sample name with its labels → value. */
export type MetricSamples = ReadonlyMap<string, number>;

/** Parses the Prometheus text format (samples only; comments and blank lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const at = line.lastIndexOf(' ');
    if (at <= 0) continue;
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** Every node's metrics now (ports in node order); a node that does not answer counts as having no samples. */
export async function readAllMetrics(ports: readonly number[]): Promise<MetricSamples[]> {
  return Promise.all(
    ports.map(async (p) => {
      try {
        const r = await fetch(`http://127.0.0.1:${p}/metrics`, { signal: AbortSignal.timeout(10_000) });
        return parseMetrics(await r.text());
      } catch {
        return new Map<string, number>();
      }
    }),
  );
}

/** Whether a message `kind` names tx gossip rather than a consensus message. */
export function isTxKind(kind: string): boolean {
  return /tx/i.test(kind);
}

/**
 * Per height and node: the total and each label's share; for messages (by
 * kind) also the consensus and tx-batch totals, which bytes (by channel) do
 * not tell apart (null).
 */
export interface PerHeightTraffic {
  readonly total: number;
  readonly consensus: number | null;
  readonly txs: number | null;
  readonly byLabel: Readonly<Record<string, number>>;
}

/**
 * Growth of a peer-link counter between two readings of every node, summed
 * over the nodes, ÷ heights ÷ nodes; null when no node exports it.
 */
export function trafficPerHeight(counter: P2pCounter, before: readonly MetricSamples[], after: readonly MetricSamples[], heights: number): PerHeightTraffic | null {
  const name = P2P_COUNTERS[counter];
  const byLabel = new Map<string, number>();
  let present = false;
  after.forEach((samples, node) => {
    for (const [sample, value] of samples) {
      if (sample !== name && !sample.startsWith(`${name}{`)) continue;
      present = true;
      const label = /(?:kind|channel)="([^"]*)"/.exec(sample)?.[1] ?? 'all';
      const growth = value - (before[node]?.get(sample) ?? 0);
      byLabel.set(label, (byLabel.get(label) ?? 0) + growth);
    }
  });
  if (!present) return null;
  const div = Math.max(1, heights) * Math.max(1, after.length);
  const byKind = counter === 'messagesSent' || counter === 'messagesReceived';
  let total = 0;
  let consensus = 0;
  let txs = 0;
  const out: Record<string, number> = {};
  for (const [label, v] of [...byLabel].sort((a, b) => a[0].localeCompare(b[0]))) {
    out[label] = v / div;
    total += v / div;
    if (isTxKind(label)) txs += v / div;
    else consensus += v / div;
  }
  return byKind ? { total, consensus, txs, byLabel: out } : { total, consensus: null, txs: null, byLabel: out };
}

/** A line for one counter: "n/a" when no node exports it. */
export function formatTraffic(what: string, t: PerHeightTraffic | null, unit: 'messages' | 'bytes'): string {
  if (t === null) return `${what}: n/a (the nodes export no such counter)`;
  const f = (v: number): string => (unit === 'bytes' ? `${Math.round(v)} B` : v.toFixed(2));
  const labels = Object.entries(t.byLabel).map(([k, v]) => `${k} ${f(v)}`).join(', ');
  if (t.consensus === null || t.txs === null) return `${what}: ${f(t.total)}, consensus and tx batches together (${labels})`;
  return `${what}: consensus ${f(t.consensus)}, tx batches ${f(t.txs)} (${labels})`;
}

/** A /proc/<pid>/status field in KiB (VmHWM: peak resident, VmRSS: resident now); NaN when unreadable. */
export function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 'NaN');
  } catch {
    return NaN;
  }
}

/** What one run of the transfers benchmark measured, as `--summary-json` writes it. */
export interface RunSummary {
  readonly nodes: number;
  readonly extraAccounts: number;
  readonly sent: number;
  readonly finalized: number;
  readonly rejected: number;
  readonly finalizedTxPerS: number;
  readonly verifyRate: number;
  readonly ratio: number;
  readonly cpuUsPerTxNode: number;
  readonly cpuVerifiesPerTxNode: number;
  readonly finalityP50Ms: number;
  readonly finalityP99Ms: number;
  /** Largest VmHWM over the nodes, MiB. */
  readonly peakMemMiB: number;
  /** Largest resident memory over the nodes once they had started (before any load), MiB. */
  readonly startRssMiB: number;
  /** Spawn to every node answering with a finalized block, s. */
  readonly startSeconds: number;
  readonly genesisBytes: number;
  readonly heights: number;
  readonly messagesSent: PerHeightTraffic | null;
  readonly messagesReceived: PerHeightTraffic | null;
  readonly bytesSent: PerHeightTraffic | null;
  readonly bytesReceived: PerHeightTraffic | null;
}
