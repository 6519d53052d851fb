/**
 * Batch submission (`POST /txs`): many signed txs in one request, one result
 * per tx in order. A list longer than `maxPerRequest` is sent as several
 * requests, one after another (so that one sender's txs, in nonce order, reach
 * the node in that order); the results come back as one list.
 * @module
 */
import { ClientError, ClientErrorCode } from './errors.js';

/** The node's default `txBatchMaxTxs`: most txs it takes in one `POST /txs`. */
export const DEFAULT_BATCH_MAX_TXS = 1000;

export interface SubmitTxsOptions {
  /** A tx the node already knows answers its state (`known: true`) instead of DUPLICATE_TX: resending a list is then safe. */
  readonly idempotent?: boolean;
  /** Txs per request (at most the node's `txBatchMaxTxs`). Default 1000. */
  readonly maxPerRequest?: number;
  /** Bound of each request. Default: the client's `timeoutMs`. */
  readonly timeoutMs?: number;
}

/** One tx's outcome in a batch: admitted (or already known, with `idempotent`), or refused with the code `POST /tx` would give. */
export type TxBatchResult =
  | {
      readonly ok: true;
      readonly id: string;
      readonly status: 'pending' | 'finalized';
      /** The node knew the tx already (only with `idempotent`). */
      readonly known: boolean;
      /** For a finalized tx: its block's height and whether it succeeded. */
      readonly height?: number;
      readonly success?: boolean;
    }
  | {
      readonly ok: false;
      /** Absent when the tx did not decode (no id can be computed). */
      readonly id?: string;
      readonly error: { readonly code: string; readonly message: string };
    };

type Post = (path: string, body: unknown, o: { timeoutMs?: number }) => Promise<unknown>;

function invalid(message: string): never {
  throw new ClientError(ClientErrorCode.INVALID_RESPONSE, `POST /txs: ${message}`);
}

/** One entry of the node's answer as a typed result. */
function resultOf(e: unknown, i: number): TxBatchResult {
  if (typeof e !== 'object' || e === null) invalid(`result ${i} is not an object`);
  const r = e as Record<string, unknown>;
  const id = typeof r.id === 'string' ? r.id : undefined;
  if (typeof r.error === 'object' && r.error !== null) {
    const err = r.error as Record<string, unknown>;
    if (typeof err.code !== 'string' || typeof err.message !== 'string') invalid(`result ${i} has an error without code or message`);
    return { ok: false, ...(id === undefined ? {} : { id }), error: { code: err.code, message: err.message } };
  }
  if (id === undefined || (r.status !== 'pending' && r.status !== 'finalized')) invalid(`result ${i} has neither an error nor an id and status`);
  return {
    ok: true,
    id,
    status: r.status,
    known: r.known === true,
    ...(typeof r.height === 'number' ? { height: r.height } : {}),
    ...(typeof r.success === 'boolean' ? { success: r.success } : {}),
  };
}

/** Sends `txs` in requests of at most `maxPerRequest`; resolves with one result per tx, in order. */
export async function submitTxBatches(post: Post, txs: readonly Record<string, unknown>[], opts: SubmitTxsOptions = {}): Promise<TxBatchResult[]> {
  const max = opts.maxPerRequest ?? DEFAULT_BATCH_MAX_TXS;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxPerRequest must be a positive integer, got ${max}`);
  const path = opts.idempotent === true ? '/txs?idempotent=true' : '/txs';
  const out: TxBatchResult[] = [];
  for (let from = 0; from < txs.length; from += max) {
    const chunk = txs.slice(from, from + max);
    const answer = (await post(path, { txs: chunk }, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs })) as { results?: unknown };
    const results = answer?.results;
    if (!Array.isArray(results) || results.length !== chunk.length) invalid(`expected ${chunk.length} results, got ${Array.isArray(results) ? results.length : 'none'}`);
    results.forEach((e, i) => out.push(resultOf(e, from + i)));
  }
  return out;
}
