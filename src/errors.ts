/**
 * Typed errors with stable codes. Every code a client can see is listed here
 * once; api/ maps each one to an HTTP status in a table that the type checker
 * keeps complete. A broken internal invariant is not a FastposError: it is an
 * `assert` that stops the node.
 * @module
 */

export const ErrorCode = {
  // request shape
  INVALID_REQUEST: 'INVALID_REQUEST',
  INVALID_JSON: 'INVALID_JSON',
  URI_TOO_LONG: 'URI_TOO_LONG',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  // tx validity (stateless)
  INVALID_TX: 'INVALID_TX',
  UNSUPPORTED_TX_KIND: 'UNSUPPORTED_TX_KIND',
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  WRONG_CHAIN_ID: 'WRONG_CHAIN_ID',
  SENDER_MISMATCH: 'SENDER_MISMATCH',
  INVALID_AMOUNT: 'INVALID_AMOUNT',
  FEE_TOO_LOW: 'FEE_TOO_LOW',
  TX_TOO_LARGE: 'TX_TOO_LARGE',
  // tx validity (stateful)
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  NONCE_TOO_LOW: 'NONCE_TOO_LOW',
  NONCE_TOO_HIGH: 'NONCE_TOO_HIGH',
  DUPLICATE_TX: 'DUPLICATE_TX',
  NONCE_CONFLICT: 'NONCE_CONFLICT',
  // staking, slashing and evidence rules (results of failed txs; evidence also in blocks)
  INSUFFICIENT_STAKE: 'INSUFFICIENT_STAKE',
  INSUFFICIENT_SHARES: 'INSUFFICIENT_SHARES',
  STAKE_TOO_LOW: 'STAKE_TOO_LOW',
  DELEGATION_TOO_SMALL: 'DELEGATION_TOO_SMALL',
  POOL_WIPED_OUT: 'POOL_WIPED_OUT',
  VALIDATOR_JAILED: 'VALIDATOR_JAILED',
  VALIDATOR_NOT_ACTIVE: 'VALIDATOR_NOT_ACTIVE',
  NOT_JAILED: 'NOT_JAILED',
  JAIL_NOT_EXPIRED: 'JAIL_NOT_EXPIRED',
  INVALID_EVIDENCE: 'INVALID_EVIDENCE',
  EVIDENCE_TOO_OLD: 'EVIDENCE_TOO_OLD',
  EVIDENCE_ALREADY_USED: 'EVIDENCE_ALREADY_USED',
  // product layer (tx results)
  EPOCH_NOT_ENDED: 'EPOCH_NOT_ENDED',
  PROOF_EXISTS: 'PROOF_EXISTS',
  ALREADY_ATTESTED: 'ALREADY_ATTESTED',
  PROOF_INVALIDATED: 'PROOF_INVALIDATED',
  CHALLENGE_WINDOW_CLOSED: 'CHALLENGE_WINDOW_CLOSED',
  CHALLENGE_EXISTS: 'CHALLENGE_EXISTS',
  CHALLENGE_CLOSED: 'CHALLENGE_CLOSED',
  CHALLENGE_NOT_RESOLVABLE: 'CHALLENGE_NOT_RESOLVABLE',
  ALREADY_VOTED: 'ALREADY_VOTED',
  SETTLEMENT_EXISTS: 'SETTLEMENT_EXISTS',
  // pool policy
  MEMPOOL_FULL: 'MEMPOOL_FULL',
  SENDER_LIMIT: 'SENDER_LIMIT',
  RATE_LIMITED: 'RATE_LIMITED',
  // lookups and auth
  NOT_FOUND: 'NOT_FOUND',
  PRUNED: 'PRUNED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  ADMIN_DISABLED: 'ADMIN_DISABLED',
  DEV_SIGNING_DISABLED: 'DEV_SIGNING_DISABLED',
  NOT_READY: 'NOT_READY',
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  // blocks and certificates (from peers, storage or sync)
  INVALID_BLOCK: 'INVALID_BLOCK',
  INVALID_COMMIT: 'INVALID_COMMIT',
  INVALID_SNAPSHOT: 'INVALID_SNAPSHOT',
  // validator network
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  UNKNOWN_VALIDATOR: 'UNKNOWN_VALIDATOR',
  DUPLICATE_MESSAGE: 'DUPLICATE_MESSAGE',
  OUTDATED_MESSAGE: 'OUTDATED_MESSAGE',
  DOUBLE_SIGN_REFUSED: 'DOUBLE_SIGN_REFUSED',
  // operator-side
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_GENESIS: 'INVALID_GENESIS',
  CORRUPT_DATA: 'CORRUPT_DATA',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class FastposError extends Error {
  override readonly name = 'FastposError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly meta?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isFastposError(e: unknown): e is FastposError {
  return e instanceof FastposError;
}

/** Internal invariant: failing it is a bug, and the node must stop rather than go on. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}

/**
 * A failure after which the node must stop: a decided block that could not be
 * made durable, or a double-sign guard record that could not be written. Never
 * sent to a client; the node stops signing and its process exits non-zero.
 */
export class FatalError extends Error {
  override readonly name = 'FatalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** `e` as a FatalError (a FatalError is returned as is; anything else becomes the cause of one). */
  static from(e: unknown, message: string): FatalError {
    if (e instanceof FatalError) return e;
    return new FatalError(`${message}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
