/**
 * How the transfers scenario submits its pre-signed txs: keep-alive raw
 * connections spread over every node's API (connection c goes to node
 * c mod nodes, and sender i's txs to node i mod nodes), each node's txs cut
 * into requests before anything is timed (one `POST /tx` per tx, or with
 * `--batch N` `POST /txs` requests of N), and a submit loop that sends them as
 * fast as the connections allow or, with `--rate`, each at its scheduled time
 * (open loop), recording per tx when it was admitted or why it was refused.
 * @module
 */
import { RawConnection, submissionOutcomes, txSubmissions, type Submission } from './rawHttp.js';
import type { Body } from './benchNodes.js';

/** One load connection and the node it talks to. */
export interface LoadConnection {
  readonly conn: RawConnection;
  readonly node: number;
}

/** What the submissions gave so far: admitted txs with their submit time, refusals by code, round trips. */
export interface SubmitCounters {
  readonly submittedAt: Map<string, number>;
  rejected: number;
  readonly rejectCodes: Map<string, number>;
  readonly rtts: number[];
}

export function newCounters(): SubmitCounters {
  return { submittedAt: new Map(), rejected: 0, rejectCodes: new Map(), rtts: [] };
}

/** Counts one refused tx under its code. */
export function countRefusal(c: SubmitCounters, code: string): void {
  c.rejected++;
  c.rejectCodes.set(code, (c.rejectCodes.get(code) ?? 0) + 1);
}

/** Load is spread over every node's API: `max(1, floor(concurrency / nodes))` connections per node. */
export async function openLoadConnections(ports: readonly number[], concurrency: number): Promise<LoadConnection[]> {
  const nodes = ports.length;
  const perNode = Math.max(1, Math.floor(concurrency / nodes));
  return Promise.all(
    Array.from({ length: perNode * nodes }, async (_, c) => {
      const conn = new RawConnection('127.0.0.1', ports[c % nodes]!);
      await conn.ready;
      return { conn, node: c % nodes };
    }),
  );
}

/** Per node, the requests that carry `list` (`batch` txs each), built before they are timed. */
export function planRequests(list: readonly Body[], nodes: number, batch: number): Submission[][] {
  return Array.from({ length: nodes }, (_, k) => txSubmissions(list.filter((b) => b.sender % nodes === k), batch, '127.0.0.1'));
}

/** Submits each node's requests over its connections (at `rate` tx/s over all nodes, if above 0) until done or past the deadline. */
export async function submitPlanned(
  conns: readonly LoadConnection[],
  queues: Submission[][],
  p: { readonly deadline: number; readonly rate: number; readonly batch: number; readonly counters: SubmitCounters },
): Promise<void> {
  const nodes = queues.length;
  const { counters } = p;
  const nextOf = new Array<number>(nodes).fill(0);
  // At a fixed rate, the k-th request of a node's queue (batch txs) is due at tStart + k * batch * nodes / rate (open loop).
  const tStart = performance.now();
  await Promise.all(
    conns.map(async ({ conn, node }) => {
      const q = queues[node]!;
      while (nextOf[node]! < q.length && performance.now() < p.deadline) {
        const k = nextOf[node]!++;
        const item = q[k]!;
        if (p.rate > 0) {
          const wait = tStart + (k * p.batch * nodes * 1000) / p.rate - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const sent = performance.now();
        const r = await conn.send(item.request);
        counters.rtts.push(performance.now() - sent);
        submissionOutcomes(item, r).forEach((code, j) => {
          if (code === null) counters.submittedAt.set(item.keys[j]!, sent);
          else countRefusal(counters, code);
        });
      }
    }),
  );
}
