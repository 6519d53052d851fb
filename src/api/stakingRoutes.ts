/**
 * Validator-economics routes: validators and their history, delegations,
 * epochs, and the admin controls of slashing, jailing and evidence. Reads go
 * through the pure views of `node/stakingView.ts` over the finalized state;
 * admin actions become governance txs or pending evidence, so every effect is
 * finalized on chain like any other change.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeEvidence, encodeEvidence, evidenceId } from '../codec/tx.js';
import { ErrorCode } from '../errors.js';
import type { FastposNode } from '../node/node.js';
import { VALIDATOR_INDEX_KEY } from '../codec/state.js';
import {
  currentEpochInfo,
  delegationsOf,
  epochSet,
  nextEpochPreview,
  pendingUnbondings,
  setIndex,
  validatorDetail,
  validatorSummary,
  type PendingUnbonding,
  type ValidatorSummaryJson,
} from '../node/stakingView.js';
import { getValidator } from '../state/staking.js';
import type { Evidence, ValidatorIndex } from '../types/index.js';
import { ERROR_STATUS } from './errorStatus.js';
import { listAnswer } from './lists.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

type AdminGuard = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

const isErrorCode = (c: string): c is ErrorCode => Object.prototype.hasOwnProperty.call(ERROR_STATUS, c);

/** One evidence item for JSON: its id, position and both signed messages. */
function evidenceItem(e: Evidence): Record<string, unknown> {
  return { evidenceId: evidenceId(e), type: e.a.type, height: e.a.height, round: e.a.round, validatorId: e.a.validatorId, evidence: encodeEvidence(e) };
}

/** The newest `limit` items of a list (lists are kept oldest first). */
function newest<T>(list: readonly T[], limit: number): { total: number; items: T[] } {
  return { total: list.length, items: list.slice(Math.max(0, list.length - limit)) };
}

export async function registerStakingRoutes(app: FastifyInstance, node: FastposNode, requireAdmin: AdminGuard): Promise<void> {
  // Pending unbondings depend only on the finalized state: scan the buckets once per block.
  let unbondingCache: { key: string; entries: PendingUnbonding[] } | null = null;
  const unbondings = (): PendingUnbonding[] => {
    const key = `${node.height}/${node.stateRoot}`;
    if (unbondingCache?.key !== key) unbondingCache = { key, entries: pendingUnbondings(node.state, node.params, node.height) };
    return unbondingCache.entries;
  };

  app.get('/validators', { schema: { querystring: S.validatorsQuery } }, async (req, reply) => {
    const q = req.query as { epoch?: number; offset?: number; limit?: number; withMeta?: boolean };
    const { epoch } = q;
    if (epoch === undefined) {
      // A page of the validators sorted by id, read from the state's validator index: only the page's records are read.
      const offset = q.offset ?? 0;
      const limit = q.limit ?? S.VALIDATORS_DEFAULT_LIMIT;
      const ids = [...((node.state.get(VALIDATOR_INDEX_KEY) as ValidatorIndex | undefined)?.ids ?? [])].sort();
      const current = setIndex(node.validatorSet);
      const items: ValidatorSummaryJson[] = [];
      for (const id of ids.slice(offset, offset + limit)) {
        const v = getValidator(node.state, id);
        if (v !== undefined) items.push(validatorSummary(v, current));
      }
      return listAnswer(items, { total: ids.length, offset, limit }, { withMeta: q.withMeta ?? false });
    }
    const paging = (['offset', 'limit', 'withMeta'] as const).find((k) => q[k] !== undefined);
    if (paging !== undefined) {
      return sendError(reply, ErrorCode.INVALID_REQUEST, `querystring/${paging} cannot be combined with epoch: ?epoch=N answers that epoch's set, which is not paged`);
    }
    const set = epochSet(node.state, epoch);
    if (set === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no validator set is stored for epoch ${epoch} (current epoch is ${node.currentEpoch})`);
    return set;
  });

  app.get('/validators/:id', { schema: { params: S.validatorIdParams, querystring: S.emptyQuery, response: { 200: S.validatorDetailResponse } } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const v = validatorDetail(node.state, node.validatorSet, id, unbondings());
    if (v === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no validator ${id}`);
    return v;
  });

  app.get('/delegations', { schema: { querystring: S.delegationsQuery, response: { 200: S.delegationsResponse } } }, async (req) => {
    const { delegator } = req.query as { delegator: string };
    return delegationsOf(node.state, delegator, unbondings());
  });

  app.get('/epochs/current', { schema: { querystring: S.emptyQuery, response: { 200: S.currentEpochResponse } } }, async () =>
    currentEpochInfo(node.params, node.height, node.currentEpoch, node.validatorSet),
  );

  await app.register(async (admin) => {
    admin.addHook('onRequest', requireAdmin);

    admin.get('/evidence', { schema: { querystring: S.evidenceListQuery, response: { 200: S.evidenceListResponse } } }, async (req) => {
      const { limit } = req.query as { limit: number };
      const seen = newest(node.evidenceList(), limit);
      const pending = newest(node.pendingEvidenceList(), limit);
      return {
        // Seen records may also hold `finalize` envelopes: they are shown, never proposed.
        seen: { total: seen.total, items: seen.items.map((r) => evidenceItem({ a: r.first, b: r.second } as unknown as Evidence)) },
        pending: { total: pending.total, items: pending.items.map(evidenceItem) },
      };
    });

    admin.post('/evidence', { schema: { body: S.evidenceBody, response: { 202: S.evidenceAcceptedResponse } } }, async (req, reply) => {
      const e = decodeEvidence((req.body as { evidence: unknown }).evidence);
      const problem = node.offerEvidence(e);
      if (problem !== null) return sendError(reply, isErrorCode(problem.code) ? problem.code : ErrorCode.INVALID_EVIDENCE, problem.message);
      return reply.code(202).send({ status: 'pending', evidenceId: evidenceId(e) });
    });

    admin.post('/validators/:id/slash', { schema: { params: S.validatorIdParams, body: S.slashBody, response: { 202: S.txAccepted } } }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const { fractionBps } = req.body as { fractionBps: number };
      const st = await node.submitGovernanceTx({ kind: 'validator_slash', payload: { validatorId: id, fractionBps } });
      return reply.code(202).send({ id: st.id, status: st.status });
    });

    admin.post('/validators/:id/jail', { schema: { params: S.validatorIdParams, body: S.jailBody, response: { 202: S.txAccepted } } }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const { jailBlocks } = req.body as { jailBlocks: number };
      const st = await node.submitGovernanceTx({ kind: 'validator_jail', payload: { validatorId: id, jailBlocks } });
      return reply.code(202).send({ id: st.id, status: st.status });
    });

    admin.get('/epochs/next', { schema: { querystring: S.emptyQuery, response: { 200: S.nextEpochResponse } } }, async () =>
      nextEpochPreview(node.state, node.params, node.currentEpoch, node.validatorSet),
    );
  }, { prefix: '/admin' });
}
