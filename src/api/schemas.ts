/**
 * JSON schemas of every route: the first gate for input. Bodies are checked
 * strictly (no type coercion, no unknown fields); query strings and path
 * parameters are coerced to their declared types.
 */
import { EXECUTABLE_KINDS, MAX_JAIL_BLOCKS } from '../codec/tx.js';

export const HEX40 = '^[0-9a-f]{40}$';
export const HEX64 = '^[0-9a-f]{64}$';
export const AMOUNT = '^(0|[1-9][0-9]{0,38})$';
export const MAX_PAGE = 1000;

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;

export const txBody = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'kind', 'from', 'pubKey', 'nonce', 'fee', 'payload', 'signature'],
  properties: {
    chainId: { type: 'string', minLength: 1, maxLength: 64 },
    kind: { type: 'string', minLength: 1, maxLength: 64 },
    from: { type: 'string', pattern: HEX40 },
    pubKey: { type: 'string', pattern: HEX64 },
    nonce: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    fee: { type: 'string', pattern: AMOUNT },
    payload: { type: 'object' },
    signature: { type: 'string', pattern: '^[0-9a-f]{128}$' },
  },
} as const;

/** Paging of every list (docs/api.md, "Pagination"). */
const page = {
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 0 },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
  withMeta: { type: 'boolean', default: false },
} as const;

/** Unix milliseconds. */
const TIME_MS = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/**
 * Filters both tx lists take (their meaning: mempool/txFilter.ts). `kind` is
 * one of the kinds this node executes; fees are amount strings; times are
 * inclusive bounds in Unix ms (pending: admission time; finalized: the
 * block's timestamp).
 */
const txFilters = {
  from: { type: 'string', pattern: HEX40 },
  to: { type: 'string', pattern: HEX40 },
  kind: { type: 'string', enum: [...EXECUTABLE_KINDS] },
  validatorId: { type: 'string', pattern: HEX40 },
  minFee: { type: 'string', pattern: AMOUNT },
  maxFee: { type: 'string', pattern: AMOUNT },
  fromTime: TIME_MS,
  toTime: TIME_MS,
} as const;

export const txSubmitQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { idempotent: { type: 'boolean', default: false } },
} as const;

export const txGetQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: HEX64 } },
} as const;

export const txPendingQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...txFilters,
    order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
    ...page,
  },
} as const;

export const txFinalizedQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...txFilters,
    address: { type: 'string', pattern: HEX40 },
    success: { type: 'boolean' },
    fromHeight: { type: 'integer', minimum: 0 },
    toHeight: { type: 'integer', minimum: 0 },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
    ...page,
  },
} as const;

export const addressParams = {
  type: 'object',
  required: ['address'],
  properties: { address: { type: 'string', pattern: HEX40 } },
} as const;

export const validatorIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: HEX40 } },
} as const;

export const heightParams = {
  type: 'object',
  required: ['height'],
  properties: { height: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
} as const;

export const blocksQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    withMeta: page.withMeta,
  },
} as const;

export const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

export const devTransferBody = {
  type: 'object',
  additionalProperties: false,
  required: ['devAccount', 'to', 'amount'],
  properties: {
    devAccount: { type: 'integer', minimum: 0, maximum: 9999 },
    to: { type: 'string', pattern: HEX40 },
    amount: { type: 'string', pattern: AMOUNT },
    fee: { type: 'string', pattern: AMOUNT },
  },
} as const;

export const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const;

export const workWeightBody = {
  type: 'object',
  additionalProperties: false,
  required: ['workWeight'],
  properties: { workWeight: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
} as const;

export const txAccepted = {
  type: 'object',
  properties: { id: { type: 'string' }, status: { type: 'string' } },
} as const;

// ---------------------------------------------------------------- validator network

export const envelopeBody = {
  type: 'object',
  required: ['type', 'chainId', 'height', 'round', 'validatorId', 'payload', 'signature'],
  properties: {
    type: { type: 'string', maxLength: 32 },
    chainId: { type: 'string', maxLength: 64 },
    height: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    round: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    validatorId: { type: 'string', pattern: '^[0-9a-f]{40}$' },
    payload: { type: 'object' },
    signature: { type: 'string', pattern: '^[0-9a-f]{128}$' },
  },
} as const;

export const txsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['txs'],
  properties: { txs: { type: 'array', maxItems: 1000, items: { type: 'object' } } },
} as const;

export const peerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: { url: { type: 'string', minLength: 8, maxLength: 256 } },
} as const;

export const peerQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: { url: { type: 'string', minLength: 8, maxLength: 256 } },
} as const;

/** `GET /p2p/hello?nonce=`: the asker's fresh challenge, 16 bytes in lowercase hex. */
export const helloQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['nonce'],
  properties: { nonce: { type: 'string', pattern: '^[0-9a-f]{32}$' } },
} as const;

export const p2pEvidenceQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
} as const;

export const syncBlocksQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
  },
} as const;

// ---------------------------------------------------------------- validator economics

const amountOut = { type: 'string' } as const;
const idOut = { type: 'string' } as const;
const uintOut = { type: 'integer' } as const;

/**
 * `GET /validators`: a page of the list (no defaults here: the route tells
 * paging given with `epoch`, which it refuses, from paging left out), or
 * `epoch` for one epoch's set.
 */
export const validatorsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    epoch: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE },
    withMeta: { type: 'boolean' },
  },
} as const;

/** Default page size of `GET /validators`: every validator of any chain up to MAX_PAGE of them, as before it had pages. */
export const VALIDATORS_DEFAULT_LIMIT = MAX_PAGE;

export const delegationsQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['delegator'],
  properties: { delegator: { type: 'string', pattern: HEX40 } },
} as const;

export const evidenceListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 } },
} as const;

export const slashBody = {
  type: 'object',
  additionalProperties: false,
  required: ['fractionBps'],
  properties: { fractionBps: { type: 'integer', minimum: 1, maximum: 10_000 } },
} as const;

export const jailBody = {
  type: 'object',
  additionalProperties: false,
  required: ['jailBlocks'],
  properties: { jailBlocks: { type: 'integer', minimum: 1, maximum: MAX_JAIL_BLOCKS } },
} as const;

/** `{evidence: {a, b}}`; the evidence itself is checked by the codec (INVALID_EVIDENCE). */
export const evidenceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['evidence'],
  properties: { evidence: { type: 'object' } },
} as const;

const validatorSummaryProps = {
  id: idOut,
  pubKey: idOut,
  address: idOut,
  rewardAddress: idOut,
  stake: amountOut,
  delegated: amountOut,
  delegatorShares: amountOut,
  votingPower: amountOut,
  workWeight: uintOut,
  status: { type: 'string' },
  jailedUntil: uintOut,
  inSet: { type: 'boolean' },
} as const;

export const validatorDetailResponse = {
  type: 'object',
  required: [...Object.keys(validatorSummaryProps), 'operator', 'missed', 'slashes', 'doubleSignPunishment', 'unbonding'],
  properties: {
    ...validatorSummaryProps,
    operator: idOut,
    missed: { type: 'array', items: uintOut },
    slashes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { height: uintOut, infractionHeight: uintOut, reason: { type: 'string' }, fractionBps: uintOut, burned: amountOut },
      },
    },
    doubleSignPunishment: {
      type: ['object', 'null'],
      properties: { punishedAt: uintOut, infractionHeight: uintOut, unjailedAt: { type: ['integer', 'null'] } },
    },
    unbonding: {
      type: 'array',
      items: { type: 'object', properties: { delegator: idOut, amount: amountOut, creationHeight: uintOut, completionHeight: uintOut } },
    },
  },
} as const;

export const delegationsResponse = {
  type: 'object',
  required: ['delegator', 'delegations', 'unbonding'],
  properties: {
    delegator: idOut,
    delegations: { type: 'array', items: { type: 'object', properties: { validatorId: idOut, shares: amountOut, amount: amountOut } } },
    unbonding: {
      type: 'array',
      items: { type: 'object', properties: { validatorId: idOut, amount: amountOut, creationHeight: uintOut, completionHeight: uintOut } },
    },
  },
} as const;

export const currentEpochResponse = {
  type: 'object',
  required: ['epoch', 'startHeight', 'endHeight', 'epochLengthBlocks', 'height', 'validators', 'totalPower', 'setHash'],
  properties: {
    epoch: uintOut,
    startHeight: uintOut,
    endHeight: uintOut,
    epochLengthBlocks: uintOut,
    height: uintOut,
    validators: uintOut,
    totalPower: amountOut,
    setHash: idOut,
  },
} as const;

export const nextEpochResponse = {
  type: 'object',
  required: ['epoch', 'startHeight', 'validators', 'totalPower', 'setHash', 'changes'],
  properties: {
    epoch: uintOut,
    startHeight: uintOut,
    validators: { type: 'array', items: { type: 'object', properties: { id: idOut, votingPower: amountOut, proposerWeight: amountOut } } },
    totalPower: amountOut,
    setHash: idOut,
    changes: {
      type: 'object',
      properties: { joining: { type: 'array', items: idOut }, leaving: { type: 'array', items: idOut } },
    },
  },
} as const;

const signedMessageOut = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    chainId: { type: 'string' },
    height: uintOut,
    round: uintOut,
    validatorId: idOut,
    payload: { type: 'object', additionalProperties: true },
    signature: idOut,
  },
} as const;

const evidenceItemsOut = {
  type: 'object',
  properties: {
    total: uintOut,
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          evidenceId: idOut,
          type: { type: 'string' },
          height: uintOut,
          round: uintOut,
          validatorId: idOut,
          evidence: { type: 'object', properties: { a: signedMessageOut, b: signedMessageOut } },
        },
      },
    },
  },
} as const;

export const evidenceListResponse = {
  type: 'object',
  required: ['seen', 'pending'],
  properties: { seen: evidenceItemsOut, pending: evidenceItemsOut },
} as const;

export const evidenceAcceptedResponse = {
  type: 'object',
  required: ['status', 'evidenceId'],
  properties: { status: { type: 'string' }, evidenceId: idOut },
} as const;

// ---------------------------------------------------------------- product layer

export const proofIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: HEX64 } },
} as const;

export const proofLookupQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['validatorId', 'epoch'],
  properties: { validatorId: { type: 'string', pattern: HEX40 }, epoch: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } },
} as const;

export const epochQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['epoch'],
  properties: { epoch: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } },
} as const;

export const quoteQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['amount'],
  properties: { amount: { type: 'string', pattern: '^(0|[1-9][0-9]{0,38})$' } },
} as const;

export const settlementLookupQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['payer', 'reference'],
  properties: {
    payer: { type: 'string', pattern: HEX40 },
    reference: { type: 'string', pattern: '^[\\x21-\\x7e]{1,128}$' },
    includePending: { type: 'boolean', default: false },
  },
} as const;

// ---------------------------------------------------------------- product lists and statistics

/**
 * Paging and order of the product lists, without defaults: the routes apply
 * them (offset 0, limit 100, order desc, withMeta false), so that a route
 * that keeps its earlier single lookup tells it from a list by the
 * parameters given.
 */
const productPage = {
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE },
  order: { type: 'string', enum: ['asc', 'desc'] },
  withMeta: { type: 'boolean' },
} as const;

/** Inclusive bounds on a record's height and on its block's timestamp (Unix ms). */
const productWindow = {
  fromHeight: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  toHeight: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  fromTime: TIME_MS,
  toTime: TIME_MS,
} as const;

const EPOCH = { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } as const;
const SCORE = { type: 'integer', minimum: 0, maximum: 1_000_000 } as const;
const PROOF_REF = { type: 'string', pattern: '^[\\x21-\\x7e]{1,256}$' } as const;
const REFERENCE = { type: 'string', pattern: '^[\\x21-\\x7e]{1,128}$' } as const;
const AMOUNT_QUERY = { type: 'string', pattern: AMOUNT } as const;

/** `GET /product/proofs`; exactly `validatorId` and `epoch` is the earlier lookup of one proof. */
export const productProofsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: HEX64 },
    validatorId: { type: 'string', pattern: HEX40 },
    epoch: EPOCH,
    proofRef: PROOF_REF,
    status: { type: 'string', enum: ['finalized', 'invalidated'] },
    minScore: SCORE,
    maxScore: SCORE,
    ...productWindow,
    ...productPage,
  },
} as const;

export const productAttestationsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    proofId: { type: 'string', pattern: HEX64 },
    validatorId: { type: 'string', pattern: HEX40 },
    epoch: EPOCH,
    proofRef: PROOF_REF,
    status: { type: 'string', enum: ['pending', 'finalized', 'invalidated'] },
    minScore: SCORE,
    maxScore: SCORE,
    ...productWindow,
    ...productPage,
  },
} as const;

/** `GET /product/attestations/pending`; exactly `validatorId` and `epoch` is the earlier lookup of one. */
export const productPendingQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    validatorId: { type: 'string', pattern: HEX40 },
    epoch: EPOCH,
    ...productWindow,
    ...productPage,
  },
} as const;

export const productChallengesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: HEX64 },
    proofId: { type: 'string', pattern: HEX64 },
    validatorId: { type: 'string', pattern: HEX40 },
    epoch: EPOCH,
    challenger: { type: 'string', pattern: HEX40 },
    status: { type: 'string', enum: ['open', 'upheld', 'rejected', 'expired'] },
    openOnly: { type: 'boolean' },
    minBond: AMOUNT_QUERY,
    maxBond: AMOUNT_QUERY,
    ...productWindow,
    ...productPage,
  },
} as const;

export const productSettlementsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: HEX64 },
    payer: { type: 'string', pattern: HEX40 },
    reference: REFERENCE,
    validatorId: { type: 'string', pattern: HEX40 },
    epoch: EPOCH,
    minAmount: AMOUNT_QUERY,
    maxAmount: AMOUNT_QUERY,
    ...productWindow,
    ...productPage,
  },
} as const;

/** `GET /product/rewards`; exactly `epoch` is the earlier lookup of one epoch's rewards. */
export const productRewardsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    epoch: EPOCH,
    validatorId: { type: 'string', pattern: HEX40 },
    ...productWindow,
    ...productPage,
  },
} as const;

/** Statistics grouped by epoch (newest first) and by validator: which groups, and at most `limit` of each. */
export const productStatsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    validatorId: { type: 'string', pattern: HEX40 },
    epoch: EPOCH,
    fromEpoch: EPOCH,
    toEpoch: EPOCH,
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
  },
} as const;

/** `GET /product/attestations/stats`: grouped by epoch only. */
export const productAttestationStatsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    epoch: EPOCH,
    fromEpoch: EPOCH,
    toEpoch: EPOCH,
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
  },
} as const;
