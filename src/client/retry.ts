/**
 * Bounded retries for the client's submissions: which failures are worth
 * another attempt, and how long to wait before it.
 * @module
 */
import { ApiError, ClientError, ClientErrorCode } from './errors.js';

export interface RetryPolicy {
  /** Most attempts in all (the first included). Default 5. */
  readonly attempts: number;
  /** Wait before the second attempt; doubled each time. Default 200 ms. */
  readonly baseDelayMs: number;
  /** Largest wait between two attempts. Default 5000 ms. */
  readonly maxDelayMs: number;
  /** Time for every attempt and wait together. Default 30,000 ms. */
  readonly totalTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000, totalTimeoutMs: 30_000 };

/**
 * Whether a failure may go away by itself: a network error (no answer, a reset
 * connection, a request timeout), a 5xx answer or a 429. Any other answer of
 * the node (a 4xx) is its verdict on the request and is not retried.
 */
export function isRetryable(e: unknown): boolean {
  if (e instanceof ApiError) return e.status >= 500 || e.status === 429;
  if (e instanceof ClientError) return false;
  if (!(e instanceof Error)) return false;
  // fetch rejects with a TypeError on network failures, and with an AbortError/TimeoutError when its signal fires.
  return e.name === 'TypeError' || e.name === 'AbortError' || e.name === 'TimeoutError';
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): exponential
 * with jitter in [d/2, d], d = min(maxDelayMs, baseDelayMs × 2^(attempt − 1)),
 * and never less than the node's `retry-after`.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(d / 2 + (random() * d) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not
 * retryable (thrown as is), or the attempts or the time run out
 * (RETRY_EXHAUSTED, with the last error as its cause). `attempt` gets the
 * attempt number and the time left, to bound its own request.
 */
export async function withRetry<T>(
  attempt: (n: number, remainingMs: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: { onRetry?: (n: number, error: unknown, delayMs: number) => void; now?: () => number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<{ value: T; attempts: number }> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + policy.totalTimeoutMs;
  const attempts = Math.max(1, policy.attempts);
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n, Math.max(1, deadline - now())), attempts: n };
    } catch (e) {
      if (!isRetryable(e)) throw e;
      const delay = backoffDelay(n, policy, e instanceof ApiError ? e.retryAfterMs : undefined);
      const why = e instanceof Error ? e.message : String(e);
      if (n >= attempts) throw new ClientError(ClientErrorCode.RETRY_EXHAUSTED, `gave up after ${n} attempts: ${why}`, { attempts: n }, { cause: e });
      if (now() + delay >= deadline) {
        throw new ClientError(ClientErrorCode.RETRY_EXHAUSTED, `gave up after ${n} attempts, ${policy.totalTimeoutMs} ms: ${why}`, { attempts: n }, { cause: e });
      }
      hooks.onRetry?.(n, e, delay);
      await sleep(delay);
    }
  }
}
