/**
 * The tx routes of the public API (protocol §5): `POST /tx`, the batch
 * `POST /txs`, a tx's status (`GET /tx`) and the pending and finalized
 * lists. A batch is admitted like as many `POST /tx` (same checks, same error
 * codes, one unit of the per-address tx budget per tx), its signatures
 * checked together.
 * @module
 */
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { decodeTx, encodeTx } from '../codec/tx.js';
import { ErrorCode, type FastposError } from '../errors.js';
import type { TxFilter } from '../mempool/txFilter.js';
import type { AdmissionResult } from '../node/admission.js';
import type { FastposNode } from '../node/node.js';
import type { IpBudget } from './ipBudget.js';
import { listAnswer, present } from './lists.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

export interface TxRouteOptions {
  /** Most txs in one `POST /txs` (`txBatchMaxTxs`). */
  readonly batchMaxTxs: number;
  /** Largest `POST /txs` body in bytes (`txBatchMaxBytes`): the route's own body limit. */
  readonly batchMaxBytes: number;
  /** Txs per client address, one unit per tx of a batch (none: not charged). */
  readonly txBudget?: IpBudget | undefined;
  /** The request rate limit's units per window (0: none): a batch larger than this could never be let through. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
}

/**
 * `POST /txs` body: `txs` is a non-empty array; each entry is checked on its
 * own with `POST /tx`'s body schema and answered in its slot.
 */
export const txBatchBody = {
  type: 'object',
  additionalProperties: false,
  required: ['txs'],
  properties: { txs: { type: 'array', minItems: 1 } },
} as const;

/** One tx's answer in a batch: admitted (or, with `idempotent`, already known), or refused. */
const txBatchEntry = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'finalized'] },
    known: { type: 'boolean' },
    height: { type: 'integer' },
    success: { type: 'boolean' },
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

export const txBatchResponse = {
  type: 'object',
  required: ['accepted', 'rejected', 'results'],
  properties: {
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
    results: { type: 'array', items: txBatchEntry },
  },
} as const;

/** One entry of a `POST /txs` answer. */
export interface TxBatchEntry {
  id?: string;
  status?: 'pending' | 'finalized';
  known?: boolean;
  height?: number;
  success?: boolean;
  error?: { code: ErrorCode; message: string };
}

/** The filters both tx lists take, as their query schema gives them (fees as decimal strings). */
interface TxListQuery {
  from?: string;
  to?: string;
  kind?: string;
  validatorId?: string;
  minFee?: string;
  maxFee?: string;
  fromTime?: number;
  toTime?: number;
}

/** The tx filters and time window of a list query, as the pool and the store take them. */
function txFilterOf(q: TxListQuery): TxFilter & { fromTime?: number; toTime?: number } {
  return present({
    from: q.from,
    to: q.to,
    kind: q.kind,
    validatorId: q.validatorId,
    minFee: q.minFee === undefined ? undefined : BigInt(q.minFee),
    maxFee: q.maxFee === undefined ? undefined : BigInt(q.maxFee),
    fromTime: q.fromTime,
    toTime: q.toTime,
  });
}

/** Ajv's first error of a batch entry, worded as `POST /tx` words it for a body (`txs/3/from must match …`). */
function shapeMessage(i: number, errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  return e === undefined ? `txs/${i} is not a valid tx` : `txs/${i}${e.instancePath} ${e.message ?? 'is not valid'}`;
}

/** The id of a tx refused after decoding (none when it does not decode). */
function idOf(json: unknown): string | undefined {
  try {
    return decodeTx(json).id;
  } catch {
    return undefined;
  }
}

function entryOf(r: AdmissionResult, json: unknown): TxBatchEntry {
  if (!r.ok) return refused(r.error, idOf(json));
  const st = r.status;
  if (st.status === 'finalized') return { id: st.id, status: 'finalized', known: true, height: st.height, success: st.success };
  if (st.status === 'pending') return r.known ? { id: st.id, status: 'pending', known: true } : { id: st.id, status: 'pending' };
  // Admission answers only pending or finalized txs; a dropped one may be submitted again.
  return { id: st.id, error: { code: ErrorCode.INTERNAL, message: `tx ${st.id} has status ${st.status}` } };
}

function refused(e: FastposError, id: string | undefined): TxBatchEntry {
  const error = { code: e.code, message: e.message };
  return id === undefined ? { error } : { id, error };
}

export function registerTxRoutes(app: FastifyInstance, node: FastposNode, opts: TxRouteOptions): void {
  // Each batch entry gets the very check `POST /tx` gives its body (a flat, compiled schema), so each
  // malformed tx gets the code and wording a lone submission of it would get.
  const checkTx = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false }).compile(S.txBody);

  app.post('/tx', { schema: { summary: 'Submit a signed tx', body: S.txBody, querystring: S.txSubmitQuery } }, async (req, reply) => {
    const { idempotent } = req.query as { idempotent: boolean };
    const st = await node.submitTx(req.body, { idempotent });
    if (st.status === 'pending') return reply.code(202).send({ id: st.id, status: st.status });
    return reply.code(200).send(st);
  });

  app.post(
    '/txs',
    {
      bodyLimit: opts.batchMaxBytes,
      schema: { summary: 'Submit a batch of signed txs (answered per tx, in order)', body: txBatchBody, querystring: S.txSubmitQuery, response: { 200: txBatchResponse } },
    },
    async (req, reply) => {
      const { txs } = req.body as { txs: unknown[] };
      const { idempotent } = req.query as { idempotent: boolean };
      const n = txs.length;
      if (n > opts.batchMaxTxs) {
        return sendError(reply, ErrorCode.PAYLOAD_TOO_LARGE, `a batch holds at most ${opts.batchMaxTxs} txs (txBatchMaxTxs), got ${n}: split it into several requests`);
      }
      // Charged per tx before any signature is checked: a batch costs what as many POST /tx would.
      const budget = opts.txBudget;
      if (budget !== undefined && opts.rateLimitMax > 0 && n > opts.rateLimitMax) {
        return sendError(reply, ErrorCode.PAYLOAD_TOO_LARGE, `a batch of ${n} txs is more than one address may submit per ${opts.rateLimitWindowMs} ms (rateLimitMax ${opts.rateLimitMax}): split it into several requests`);
      }
      if (budget !== undefined && !budget.take(req.ip, n)) {
        const wait = budget.waitMs(req.ip, n);
        if (wait > 0) reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return sendError(reply, ErrorCode.RATE_LIMITED, `a batch of ${n} txs is over this address's tx budget (the request rate limit, counted per tx)`);
      }
      const results: TxBatchEntry[] = new Array(n);
      const admit: unknown[] = [];
      const slots: number[] = [];
      for (let i = 0; i < n; i++) {
        const json = txs[i];
        if (checkTx(json)) {
          admit.push(json);
          slots.push(i);
        } else {
          results[i] = { error: { code: ErrorCode.INVALID_REQUEST, message: shapeMessage(i, checkTx.errors) } };
        }
      }
      const out = admit.length === 0 ? [] : await node.submitTxs(admit, { idempotent });
      let accepted = 0;
      for (let k = 0; k < out.length; k++) {
        const i = slots[k]!;
        const entry = entryOf(out[k]!, admit[k]);
        if (entry.error === undefined) accepted++;
        results[i] = entry;
      }
      return { accepted, rejected: n - accepted, results };
    },
  );

  app.get('/tx', { schema: { summary: 'A tx\'s status (pending, finalized with its result, or dropped)', querystring: S.txGetQuery } }, async (req, reply) => {
    const { id } = req.query as { id: string };
    const st = node.txStatus(id);
    if (st === undefined) {
      const earliest = node.store.earliestBlockHeight();
      const pruned = earliest > 1 ? ` (this node keeps finalized txs from height ${earliest} only: txs of earlier blocks are not kept)` : '';
      return sendError(reply, ErrorCode.NOT_FOUND, `tx ${id} is not known to this node${pruned}`);
    }
    return st;
  });

  app.get('/tx/pending', { schema: { summary: 'Txs in the mempool (filtered, paged)', querystring: S.txPendingQuery } }, async (req) => {
    const q = req.query as TxListQuery & { order: 'asc' | 'desc'; offset: number; limit: number; withMeta: boolean };
    const { total, items } = node.mempool.pending({ ...txFilterOf(q), order: q.order, offset: q.offset, limit: q.limit });
    const list = items.map((d) => ({ id: d.id, status: 'pending', tx: encodeTx(d.tx) }));
    return listAnswer(list, { total, offset: q.offset, limit: q.limit }, { withMeta: q.withMeta, legacyMeta: true });
  });

  app.get('/tx/finalized', { schema: { summary: 'Finalized txs (filtered, paged)', querystring: S.txFinalizedQuery } }, async (req) => {
    const q = req.query as TxListQuery & {
      address?: string; success?: boolean; fromHeight?: number; toHeight?: number;
      order: 'asc' | 'desc'; offset: number; limit: number; withMeta: boolean;
    };
    const { total, items } = node.queryFinalized({
      ...txFilterOf(q),
      ...present({ address: q.address, success: q.success, fromHeight: q.fromHeight, toHeight: q.toHeight }),
      order: q.order,
      offset: q.offset,
      limit: q.limit,
    });
    const list = items.map((r) => ({
      id: r.id, status: 'finalized', height: r.height, index: r.index, blockHash: r.blockHash,
      success: r.result.success, ...(r.result.error === undefined ? {} : { error: r.result.error }), tx: r.tx,
    }));
    return listAnswer(list, { total, offset: q.offset, limit: q.limit }, { withMeta: q.withMeta, legacyMeta: true });
  });
}
