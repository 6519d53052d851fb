/**
 * Product-layer routes (docs/product.md, "Reads"): the oracle set and its
 * rules, single lookups over the finalized state (a proof, a challenge, a
 * pending attestation, an epoch's rewards, a settlement by payer and
 * reference, a billing quote), the lists of proofs, attestations,
 * challenges, settlements and rewards with filters and pages, and their
 * statistics. Lists and statistics read the store's product index
 * (storage/productIndex.ts), which each committed block feeds; lookups read
 * the state. `POST /product/attestations`, `/product/challenges`,
 * `/product/challenges/resolve` and `/product/settlements` take a signed tx
 * of their kind and submit it as `POST /tx?idempotent=true` does.
 *
 * Three list routes keep the single lookup they had before the lists:
 * `GET /product/proofs` and `GET /product/attestations/pending` with exactly
 * `validatorId` and `epoch`, and `GET /product/rewards` with exactly
 * `epoch`, answer the record itself or 404; any other parameter makes them
 * lists.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { epochRewardsKey } from '../codec/state.js';
import { ErrorCode } from '../errors.js';
import type { FastposNode } from '../node/node.js';
import { getChallenge, getPendingAttestation, getProof, getSettlement, oracleSet, productParams, proofId, settlementQuote } from '../state/product.js';
import type { EpochRewards, OracleSet, PendingAttestation, ProductChallenge, ProductProof, Settlement, Tx } from '../types/index.js';
import { listAnswer, present } from './lists.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

type Store = FastposNode['store']['productReads'];
type ProofQuery = Parameters<Store['queryProofs']>[0];
type AttestationQuery = Parameters<Store['queryAttestations']>[0];
type ChallengeQuery = Parameters<Store['queryChallenges']>[0];
type SettlementQuery = Parameters<Store['querySettlements']>[0];
type RewardQuery = Parameters<Store['queryRewards']>[0];
type AttestationRecord = ReturnType<Store['queryAttestations']>['items'][number];

/** Default page size of the product lists. */
const DEFAULT_LIMIT = 100;

// ---------------------------------------------------------------- JSON of the records

function proofJson(p: ProductProof): Record<string, unknown> {
  return { ...p, oracles: [...p.oracles], challenges: [...p.challenges] };
}

function settlementJson(s: Settlement): Record<string, unknown> {
  return { ...s, amount: s.amount.toString(), protocolFee: s.protocolFee.toString(), net: s.net.toString() };
}

const stakeIn = (set: OracleSet) => (o: string): bigint => set.oracles.find((x) => x.address === o)?.stake ?? 0n;
const totalStake = (set: OracleSet): bigint => set.oracles.reduce((n, o) => n + o.stake, 0n);

/** A pending attestation with what its reports hold of the current oracle set's stake. */
function pendingJson(a: PendingAttestation, set: OracleSet): Record<string, unknown> {
  const reported = a.oracleSetVersion === set.version ? a.reports.reduce((n, r) => n + stakeIn(set)(r.oracle), 0n) : 0n;
  return { ...a, reports: a.reports.map((r) => ({ ...r })), reportedStake: reported.toString(), totalStake: totalStake(set).toString() };
}

function challengeJson(c: ProductChallenge, set: OracleSet): Record<string, unknown> {
  const counted = c.oracleSetVersion === set.version ? c.votes : [];
  const stake = stakeIn(set);
  const upheldStake = counted.filter((v) => v.upheld).reduce((n, v) => n + stake(v.oracle), 0n);
  const rejectedStake = counted.filter((v) => !v.upheld).reduce((n, v) => n + stake(v.oracle), 0n);
  return {
    ...c,
    bond: c.bond.toString(),
    slashed: c.slashed.toString(),
    challengerReward: c.challengerReward.toString(),
    clawedBack: c.clawedBack.toString(),
    votes: c.votes.map((v) => ({ ...v })),
    upheldStake: upheldStake.toString(),
    rejectedStake: rejectedStake.toString(),
    totalStake: totalStake(set).toString(),
  };
}

function attestationJson(a: AttestationRecord, set: OracleSet): Record<string, unknown> {
  return {
    proofId: a.proofId,
    validatorId: a.validatorId,
    epoch: a.epoch,
    status: a.status,
    height: a.height,
    oracles: a.pending !== null ? a.pending.reports.map((r) => r.oracle) : [...(a.proof?.oracles ?? [])],
    pending: a.pending === null ? null : pendingJson(a.pending, set),
    proof: a.proof === null ? null : proofJson(a.proof),
  };
}

function rewardsJson(r: EpochRewards): Record<string, unknown> {
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
}

const totalsJson = (t: { count: number; amount: bigint; protocolFee: bigint; net: bigint }) => ({
  count: t.count,
  amount: t.amount.toString(),
  protocolFee: t.protocolFee.toString(),
  net: t.net.toString(),
});

// ---------------------------------------------------------------- queries

/** Paging, order, window and envelope of a product list query as given (no defaults in the schemas). */
interface ListParams {
  offset?: number;
  limit?: number;
  order?: 'asc' | 'desc';
  withMeta?: boolean;
  fromHeight?: number;
  toHeight?: number;
  fromTime?: number;
  toTime?: number;
}

function pageOf(q: ListParams): { offset: number; limit: number; order: 'asc' | 'desc' } {
  return { offset: q.offset ?? 0, limit: q.limit ?? DEFAULT_LIMIT, order: q.order ?? 'desc' };
}

function windowOf(q: ListParams): { fromHeight?: number; toHeight?: number; fromTime?: number; toTime?: number } {
  return present({ fromHeight: q.fromHeight, toHeight: q.toHeight, fromTime: q.fromTime, toTime: q.toTime });
}

const big = (s: string | undefined): bigint | undefined => (s === undefined ? undefined : BigInt(s));

/** Whether the query gives exactly these parameters (the lookup form of a list route). */
function isLookup(q: object, keys: readonly string[]): boolean {
  const given = Object.keys(q);
  return given.length === keys.length && keys.every((k) => given.includes(k));
}

function answer<T>(items: readonly T[], total: number, q: ListParams): unknown {
  const page = pageOf(q);
  return listAnswer(items, { total, offset: page.offset, limit: page.limit }, { withMeta: q.withMeta ?? false });
}

/** `POST /product/...`: a signed tx of one kind, submitted with `POST /tx?idempotent=true`'s semantics. */
function submitOfKind(node: FastposNode, kind: Tx['kind'], route: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const given = (req.body as { kind: string }).kind;
    if (given !== kind) return sendError(reply, ErrorCode.INVALID_REQUEST, `body/kind: POST ${route} takes ${kind} txs, not ${given} (POST /tx takes every kind)`);
    const st = await node.submitTx(req.body, { idempotent: true });
    if (st.status === 'pending') return reply.code(202).send({ id: st.id, status: st.status });
    return reply.code(200).send(st);
  };
}

export async function registerProductRoutes(app: FastifyInstance, node: FastposNode): Promise<void> {
  app.get('/product/oracles', { schema: { querystring: S.emptyQuery } }, async () => {
    const set = oracleSet(node.state);
    const params = productParams(node.state);
    return {
      version: set.version,
      totalStake: totalStake(set).toString(),
      oracles: set.oracles.map((o) => ({ address: o.address, stake: o.stake.toString() })),
      params: { ...params, rewardPerEpoch: params.rewardPerEpoch.toString(), challengeBond: params.challengeBond.toString() },
    };
  });

  // ------------------------------------------------------------------ proofs
  app.get('/product/proofs/:id', { schema: { params: S.proofIdParams, querystring: S.emptyQuery } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const p = getProof(node.state, id);
    if (p === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no proof ${id}`);
    return proofJson(p);
  });

  app.get('/product/proofs', { schema: { querystring: S.productProofsQuery } }, async (req, reply) => {
    const q = req.query as ListParams & { id?: string; validatorId?: string; epoch?: number; proofRef?: string; status?: ProofQuery['status']; minScore?: number; maxScore?: number };
    if (isLookup(q, ['validatorId', 'epoch'])) {
      const p = getProof(node.state, proofId(q.validatorId!, q.epoch!));
      if (p === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no proof for validator ${q.validatorId} in epoch ${q.epoch}`);
      return proofJson(p);
    }
    const { total, items } = node.store.productReads.queryProofs({
      ...present({ id: q.id, validatorId: q.validatorId, epoch: q.epoch, proofRef: q.proofRef, status: q.status, minScore: q.minScore, maxScore: q.maxScore }),
      ...windowOf(q),
      ...pageOf(q),
    });
    return answer(items.map(proofJson), total, q);
  });

  // ------------------------------------------------------------------ attestations
  app.get('/product/attestations', { schema: { querystring: S.productAttestationsQuery } }, async (req) => {
    const q = req.query as ListParams & { proofId?: string; validatorId?: string; epoch?: number; proofRef?: string; status?: AttestationQuery['status']; minScore?: number; maxScore?: number };
    const { total, items } = node.store.productReads.queryAttestations({
      ...present({ proofId: q.proofId, validatorId: q.validatorId, epoch: q.epoch, proofRef: q.proofRef, status: q.status, minScore: q.minScore, maxScore: q.maxScore }),
      ...windowOf(q),
      ...pageOf(q),
    });
    const set = oracleSet(node.state);
    return answer(items.map((a) => attestationJson(a, set)), total, q);
  });

  app.get('/product/attestations/pending', { schema: { querystring: S.productPendingQuery } }, async (req, reply) => {
    const q = req.query as ListParams & { validatorId?: string; epoch?: number };
    const set = oracleSet(node.state);
    if (isLookup(q, ['validatorId', 'epoch'])) {
      const a = getPendingAttestation(node.state, q.validatorId!, q.epoch!);
      if (a === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no pending attestation for validator ${q.validatorId} in epoch ${q.epoch}`);
      return pendingJson(a, set);
    }
    const { total, items } = node.store.productReads.queryAttestations({ status: 'pending', ...present({ validatorId: q.validatorId, epoch: q.epoch }), ...windowOf(q), ...pageOf(q) });
    return answer(items.map((a) => pendingJson(a.pending!, set)), total, q);
  });

  app.get('/product/attestations/stats', { schema: { querystring: S.productAttestationStatsQuery } }, async (req) => {
    const q = req.query as { epoch?: number; fromEpoch?: number; toEpoch?: number; limit: number };
    return node.store.productReads.attestationStats({ ...present({ epoch: q.epoch, fromEpoch: q.fromEpoch, toEpoch: q.toEpoch }), limit: q.limit });
  });

  app.post('/product/attestations', { schema: { body: S.txBody, querystring: S.emptyQuery } }, submitOfKind(node, 'product_attest', '/product/attestations'));

  // ------------------------------------------------------------------ challenges
  app.get('/product/challenges', { schema: { querystring: S.productChallengesQuery } }, async (req) => {
    const q = req.query as ListParams & {
      id?: string; proofId?: string; validatorId?: string; epoch?: number; challenger?: string;
      status?: ChallengeQuery['status']; openOnly?: boolean; minBond?: string; maxBond?: string;
    };
    const { total, items } = node.store.productReads.queryChallenges({
      ...present({
        id: q.id, proofId: q.proofId, validatorId: q.validatorId, epoch: q.epoch, challenger: q.challenger,
        status: q.status, openOnly: q.openOnly, minBond: big(q.minBond), maxBond: big(q.maxBond),
      }),
      ...windowOf(q),
      ...pageOf(q),
    });
    const set = oracleSet(node.state);
    return answer(items.map((c) => challengeJson(c, set)), total, q);
  });

  app.get('/product/challenges/stats', { schema: { querystring: S.emptyQuery } }, async () => {
    const s = node.store.productReads.challengeStats();
    const bonds = Object.fromEntries(Object.entries(s.bonds).map(([k, v]) => [k, v.toString()]));
    return {
      total: s.total,
      byStatus: s.byStatus,
      bonds,
      bondsLocked: s.bonds.open.toString(),
      slashed: s.slashed.toString(),
      challengerRewards: s.challengerRewards.toString(),
      clawedBack: s.clawedBack.toString(),
    };
  });

  app.get('/product/challenges/:id', { schema: { params: S.proofIdParams, querystring: S.emptyQuery } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const c = getChallenge(node.state, id);
    if (c === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no challenge ${id}`);
    return challengeJson(c, oracleSet(node.state));
  });

  app.post('/product/challenges', { schema: { body: S.txBody, querystring: S.emptyQuery } }, submitOfKind(node, 'product_challenge', '/product/challenges'));
  app.post('/product/challenges/resolve', { schema: { body: S.txBody, querystring: S.emptyQuery } }, submitOfKind(node, 'product_resolve_challenge', '/product/challenges/resolve'));

  // ------------------------------------------------------------------ settlements and billing
  app.get('/product/billing/quote', { schema: { querystring: S.quoteQuery } }, async (req) => {
    const { amount } = req.query as { amount: string };
    const feeBps = productParams(node.state).settlementFeeBps;
    const { protocolFee, net } = settlementQuote(BigInt(amount), feeBps);
    // The tx fee is the chain's minimum; the payer pays amount + fee, the validator receives net.
    const fee = node.genesis.params.minFee;
    return { amount, fee: fee.toString(), protocolFee: protocolFee.toString(), net: net.toString(), feeBps, total: (BigInt(amount) + fee).toString() };
  });

  app.get('/product/settlements', { schema: { querystring: S.productSettlementsQuery } }, async (req) => {
    const q = req.query as ListParams & { id?: string; payer?: string; reference?: string; validatorId?: string; epoch?: number; minAmount?: string; maxAmount?: string };
    const { total, items } = node.store.productReads.querySettlements({
      ...present({ id: q.id, payer: q.payer, reference: q.reference, validatorId: q.validatorId, epoch: q.epoch, minAmount: big(q.minAmount), maxAmount: big(q.maxAmount) }),
      ...windowOf(q),
      ...pageOf(q),
    } satisfies SettlementQuery);
    return answer(items.map(settlementJson), total, q);
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

  app.get('/product/settlements/stats', { schema: { querystring: S.productStatsQuery } }, async (req) => {
    const q = req.query as { validatorId?: string; epoch?: number; fromEpoch?: number; toEpoch?: number; limit: number };
    const s = node.store.productReads.settlementStats({ ...present({ validatorId: q.validatorId, epoch: q.epoch, fromEpoch: q.fromEpoch, toEpoch: q.toEpoch }), limit: q.limit });
    return {
      ...totalsJson(s.totals),
      byValidator: s.byValidator.map((v) => ({ validatorId: v.validatorId, ...totalsJson(v) })),
      hasMoreValidators: s.hasMoreValidators,
      byEpoch: s.byEpoch.map((e) => ({ epoch: e.epoch, ...totalsJson(e) })),
      hasMoreEpochs: s.hasMoreEpochs,
    };
  });

  app.post('/product/settlements', { schema: { body: S.txBody, querystring: S.emptyQuery } }, submitOfKind(node, 'product_settle', '/product/settlements'));

  // ------------------------------------------------------------------ rewards
  app.get('/product/rewards', { schema: { querystring: S.productRewardsQuery } }, async (req, reply) => {
    const q = req.query as ListParams & { epoch?: number; validatorId?: string };
    if (isLookup(q, ['epoch'])) {
      const r = node.state.get(epochRewardsKey(q.epoch!)) as EpochRewards | undefined;
      if (r === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no rewards were paid for epoch ${q.epoch} (they are paid at the end of the epoch after it)`);
      return rewardsJson(r);
    }
    const { total, items } = node.store.productReads.queryRewards({ ...present({ epoch: q.epoch, validatorId: q.validatorId }), ...windowOf(q), ...pageOf(q) } satisfies RewardQuery);
    return answer(items.map(rewardsJson), total, q);
  });
}
