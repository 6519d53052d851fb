/**
 * Product-layer reads over the finalized state: the oracle set and its rules,
 * a proof by id or by (validator, epoch), and the pending attestation of a
 * (validator, epoch). Each is one state lookup by key. Product txs are
 * submitted like any other tx (`POST /tx`).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../errors.js';
import type { FastposNode } from '../node/node.js';
import { getChallenge, getPendingAttestation, getProof, oracleSet, productParams, proofId } from '../state/product.js';
import { epochRewardsKey } from '../codec/state.js';
import type { EpochRewards, PendingAttestation, ProductProof } from '../types/index.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

function proofJson(p: ProductProof): Record<string, unknown> {
  return { ...p, oracles: [...p.oracles] };
}

function pendingJson(a: PendingAttestation): Record<string, unknown> {
  return { ...a, reports: a.reports.map((r) => ({ ...r })) };
}

export async function registerProductRoutes(app: FastifyInstance, node: FastposNode): Promise<void> {
  app.get('/product/oracles', { schema: { querystring: S.emptyQuery } }, async () => {
    const set = oracleSet(node.state);
    const total = set.oracles.reduce((n, o) => n + o.stake, 0n);
    const params = productParams(node.state);
    return {
      version: set.version,
      totalStake: total.toString(),
      oracles: set.oracles.map((o) => ({ address: o.address, stake: o.stake.toString() })),
      params: { ...params, rewardPerEpoch: params.rewardPerEpoch.toString(), challengeBond: params.challengeBond.toString() },
    };
  });

  app.get('/product/proofs/:id', { schema: { params: S.proofIdParams, querystring: S.emptyQuery } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const p = getProof(node.state, id);
    if (p === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no proof ${id}`);
    return proofJson(p);
  });

  app.get('/product/proofs', { schema: { querystring: S.proofLookupQuery } }, async (req, reply) => {
    const { validatorId, epoch } = req.query as { validatorId: string; epoch: number };
    const p = getProof(node.state, proofId(validatorId, epoch));
    if (p === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no proof for validator ${validatorId} in epoch ${epoch}`);
    return proofJson(p);
  });

  app.get('/product/rewards', { schema: { querystring: S.epochQuery } }, async (req, reply) => {
    const { epoch } = req.query as { epoch: number };
    const r = node.state.get(epochRewardsKey(epoch)) as EpochRewards | undefined;
    if (r === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no rewards were paid for epoch ${epoch} (they are paid at the end of the epoch after it)`);
    return {
      epoch: r.epoch,
      paidAt: r.paidAt,
      pool: r.pool.toString(),
      paid: r.paid.toString(),
      remainder: r.remainder.toString(),
      payouts: r.payouts.map((p) => ({
        validatorId: p.validatorId,
        score: p.score,
        amount: p.amount.toString(),
        commission: p.commission.toString(),
        toOperator: p.toOperator.toString(),
        toDelegators: p.toDelegators.toString(),
      })),
    };
  });

  app.get('/product/challenges/:id', { schema: { params: S.proofIdParams, querystring: S.emptyQuery } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const c = getChallenge(node.state, id);
    if (c === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no challenge ${id}`);
    const set = oracleSet(node.state);
    const stakeOf = (o: string): bigint => set.oracles.find((x) => x.address === o)?.stake ?? 0n;
    const counted = c.oracleSetVersion === set.version ? c.votes : [];
    const upheldStake = counted.filter((v) => v.upheld).reduce((n, v) => n + stakeOf(v.oracle), 0n);
    const rejectedStake = counted.filter((v) => !v.upheld).reduce((n, v) => n + stakeOf(v.oracle), 0n);
    return {
      ...c,
      bond: c.bond.toString(),
      slashed: c.slashed.toString(),
      challengerReward: c.challengerReward.toString(),
      clawedBack: c.clawedBack.toString(),
      votes: c.votes.map((v) => ({ ...v })),
      upheldStake: upheldStake.toString(),
      rejectedStake: rejectedStake.toString(),
      totalStake: set.oracles.reduce((n, o) => n + o.stake, 0n).toString(),
    };
  });

  app.get('/product/attestations/pending', { schema: { querystring: S.proofLookupQuery } }, async (req, reply) => {
    const { validatorId, epoch } = req.query as { validatorId: string; epoch: number };
    const a = getPendingAttestation(node.state, validatorId, epoch);
    if (a === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no pending attestation for validator ${validatorId} in epoch ${epoch}`);
    const set = oracleSet(node.state);
    const stakeOf = (o: string): bigint => set.oracles.find((x) => x.address === o)?.stake ?? 0n;
    const reported = a.oracleSetVersion === set.version ? a.reports.reduce((n, r) => n + stakeOf(r.oracle), 0n) : 0n;
    return { ...pendingJson(a), reportedStake: reported.toString(), totalStake: set.oracles.reduce((n, o) => n + o.stake, 0n).toString() };
  });
}
