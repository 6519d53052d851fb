/**
 * The client's typed errors. `ApiError` is an error answer of the node (its
 * stable code and HTTP status); `ClientError` is what the client itself
 * decides: retries used up, a tx that did not finalize in time or was dropped,
 * a certificate or a validator set it refuses. A payload the node would refuse
 * at decoding is caught before anything is sent, as the node's own
 * `FastposError` (`INVALID_TX`, `INVALID_AMOUNT`, `INVALID_EVIDENCE`).
 * @module
 */

export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** From a `retry-after` header (429, 503), in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

export const ClientErrorCode = {
  /** Every attempt of a submission failed with a retryable error, or its time ran out. */
  RETRY_EXHAUSTED: 'RETRY_EXHAUSTED',
  /** The tx was not finalized within the time asked. */
  TX_TIMEOUT: 'TX_TIMEOUT',
  /** The node dropped the tx (its `error` says why); it will not be finalized. */
  TX_DROPPED: 'TX_DROPPED',
  /** A commit certificate (or the block it certifies) does not verify. */
  CERTIFICATE_REFUSED: 'CERTIFICATE_REFUSED',
  /** A validator set the client cannot accept: malformed, not the one the chain names, or not vouched for by the set before it. */
  VALIDATOR_SET_REFUSED: 'VALIDATOR_SET_REFUSED',
  /** An answer of the node that does not have the shape the API documents. */
  INVALID_RESPONSE: 'INVALID_RESPONSE',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class ClientError extends Error {
  override readonly name: string = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly meta?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A certificate or validator set the client refuses (`CERTIFICATE_REFUSED` or `VALIDATOR_SET_REFUSED`). */
export class CertificateError extends ClientError {
  override readonly name = 'CertificateError';
  constructor(
    code: typeof ClientErrorCode.CERTIFICATE_REFUSED | typeof ClientErrorCode.VALIDATOR_SET_REFUSED,
    message: string,
    meta?: Readonly<Record<string, unknown>>,
  ) {
    super(code, message, meta);
  }
}
