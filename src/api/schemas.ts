/**
 * JSON schemas of every route: the first gate for input. Bodies are checked
 * strictly (no type coercion, no unknown fields); query strings and path
 * parameters are coerced to their declared types.
 */
const HEX40 = '^[0-9a-f]{40}$';
const HEX64 = '^[0-9a-f]{64}$';
const AMOUNT = '^(0|[1-9][0-9]{0,38})$';
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

const page = {
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 0 },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
  withMeta: { type: 'boolean', default: false },
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
  properties: { from: { type: 'string', pattern: HEX40 }, ...page },
} as const;

export const txFinalizedQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', pattern: HEX40 },
    to: { type: 'string', pattern: HEX40 },
    address: { type: 'string', pattern: HEX40 },
    kind: { type: 'string', maxLength: 64 },
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

export const syncBlocksQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
  },
} as const;
