/**
 * `fastpos tx <kind> --wait`: after the tx is submitted, says its id at once,
 * shows the chain's height and the tx's status on stderr while it waits, and
 * on timeout says in one line whether the tx is still pending (or unknown to
 * the node) and whether the chain is moving or halted.
 * @module
 */
import { ApiError, type Confirmation, type FastposClient, type TxStatusView } from '../client/index.js';
import { CliError } from './args.js';
import { isUnreachable } from './errors.js';

export interface WaitParams {
  readonly client: FastposClient;
  readonly id: string;
  readonly timeoutMs: number;
  /** Where the progress goes (stderr). */
  readonly out?: { write(s: string): unknown; isTTY?: boolean };
  readonly intervalMs?: number;
}

type Seen = TxStatusView['status'] | 'unknown' | 'unreachable';

const secs = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))} s`;

async function heightOf(client: FastposClient): Promise<number | undefined> {
  try {
    return (await client.status()).latestHeight;
  } catch {
    return undefined;
  }
}

async function txState(client: FastposClient, id: string): Promise<Seen> {
  try {
    return (await client.getTx(id)).status;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return 'unknown';
    if (isUnreachable(e) || (e instanceof ApiError && (e.status >= 500 || e.status === 429))) return 'unreachable';
    throw e;
  }
}

/**
 * Waits until the tx is finalized (then verifies its block's certificate, as
 * `FastposClient.confirmTx`) or dropped (TX_DROPPED), with progress lines;
 * throws a one-line {@link CliError} when the time runs out.
 */
export async function waitWithProgress(p: WaitParams): Promise<Confirmation> {
  const out = p.out ?? process.stderr;
  const interval = p.intervalMs ?? 250;
  const started = Date.now();
  const deadline = started + p.timeoutMs;
  out.write(`submitted ${p.id}, waiting for finality (up to ${secs(p.timeoutMs)})\n`);
  const firstHeight = await heightOf(p.client);
  let height = firstHeight;
  let heightChangedAt = started;
  let seen: Seen | undefined;
  let shown = '';
  // Bounded by the deadline; each pass costs two short requests.
  for (let pass = 0; pass < 1_000_000; pass++) {
    seen = await txState(p.client, p.id);
    const h = await heightOf(p.client);
    if (h !== undefined && h !== height) {
      height = h;
      heightChangedAt = Date.now();
    }
    const line = `  height ${height ?? '?'}, tx ${seen}`;
    if (line !== shown) {
      out.write(line + '\n');
      shown = line;
    }
    if (seen === 'finalized' || seen === 'dropped') break;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, deadline - Date.now()))));
  }
  if (seen === 'finalized' || seen === 'dropped') {
    // A final status: the client fetches and verifies the block (or throws TX_DROPPED).
    return p.client.confirmTx(p.id, { timeoutMs: Math.max(5_000, deadline - Date.now()) });
  }
  const waited = Date.now() - started;
  const state = seen === 'unknown' ? 'unknown to the node' : seen === 'unreachable' ? 'of unknown status (the node did not answer)' : 'still pending';
  const sinceMove = Date.now() - heightChangedAt;
  const chain =
    height === undefined
      ? 'the node did not say its height'
      : height !== firstHeight && sinceMove < Math.max(5_000, waited / 2)
        ? `the chain is at height ${height} and moving`
        : `no block finalized in the last ${secs(sinceMove)}: the chain is halted at height ${height}`;
  throw new CliError(`tx ${p.id} is ${state} after ${secs(waited)}; ${chain}`, `check it later with \`fastpos tx-status ${p.id}\``);
}
