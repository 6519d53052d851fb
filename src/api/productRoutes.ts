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
import { getChallenge, getPendingAttestation, getProof, getSettlement, oracleSet, productParams, proofId, settlementQuote } from '../state/product.js';
import { epochRewardsKey } from '../codec/state.js';
import type { EpochRewards, PendingAttestation, ProductProof, Settlement } from '../types/index.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

function proofJson(p: ProductProof): Record<string, unknown> {
  return { ...p, oracles: [...p.oracles] };
}

function settlementJson(s: Settlement): Record<string, unknown> {
  return { ...s, amount: s.amount.toString(), protocolFee: s.protocolFee.toString(), net: s.net.toString() };
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

  app.get('/product/billing/quote', { schema: { querystring: S.quoteQuery } }, async (req) => {
    const { amount } = req.query as { amount: string };
    const feeBps = productParams(node.state).settlementFeeBps;
    const { protocolFee, net } = settlementQuote(BigInt(amount), feeBps);
    // The tx fee is the chain's minimum; the payer pays amount + fee, the validator receives net.
    const fee = node.genesis.params.minFee;
    return { amount, fee: fee.toString(), protocolFee: protocolFee.toString(), net: net.toString(), feeBps, total: (BigInt(amount) + fee).toString() };
  });

  app.get('/product/settlements/lookup', { schema: { querystring: S.settlementLookupQuery } }, async (req, reply) => {
    const { payer, reference, includePending } = req.query as { payer: string; reference: string; includePending: boolean };
    const s = getSettlement(node.state, payer, reference);
    if (s !== undefined) return { status: 'finalized', settlement: settlementJson(s) };
    if (includePending) {
      // The payer's pending txs (at most mempoolMaxPerSender): a settlement of this reference among them.
      const { items } = node.mempool.pending({ from: payer, offset: 0, limit: Number.MAX_SAFE_INTEGER });
      const d = items.find((x) => x.tx.kind === 'product_settle' && x.tx.payload.reference === reference);
      if (d !== undefined && d.tx.kind === 'product_settle') {
        const p = d.tx.payload;
        const { protocolFee, net } = settlementQuote(p.amount, productParams(node.state).settlementFeeBps);
        return { status: 'pending', settlement: { id: d.id, payer, reference, validatorId: p.validatorId, amount: p.amount.toString(), protocolFee: protocolFee.toString(), net: net.toString() } };
      }
    }
    return sendError(reply, ErrorCode.NOT_FOUND, `no settlement of payer ${payer} with that reference${includePending ? ', finalized or pending' : ' (includePending=true also looks at pending txs)'}`);
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
