/**
 * Reads the node's HTTP API (docs/api.md) from the page's own origin, with a
 * timeout on every request, and runs the in-browser checks of verify.js on
 * what it serves.
 * @module
 */
import { verifyBlock } from './verify.js';

const TIMEOUT_MS = 8000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** GET a JSON route; ApiError with the node's error code, or code UNREACHABLE when no answer came. */
export async function get(path) {
  let res;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'UNREACHABLE', `cannot reach the node (${e instanceof Error ? e.message : String(e)})`);
  }
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(res.status, 'INVALID_RESPONSE', `the node answered ${res.status} without JSON`);
  }
  if (!res.ok) {
    const err = body?.error;
    throw new ApiError(res.status, String(err?.code ?? 'ERROR'), String(err?.message ?? `HTTP ${res.status}`));
  }
  return body;
}

/** The items of a list answer (a plain array, or the `withMeta` envelope). */
export function items(answer) {
  if (Array.isArray(answer)) return answer;
  return Array.isArray(answer?.items) ? answer.items : [];
}

const sets = new Map();
let epochLength;

/** The validator set of the epoch of `height`, as `GET /validators?epoch=N` serves it (kept once read). */
export async function setForHeight(height) {
  epochLength ??= (await get('/epochs/current')).epochLengthBlocks;
  const epoch = Math.floor((height - 1) / epochLength);
  let set = sets.get(epoch);
  if (set === undefined) {
    set = await get(`/validators?epoch=${epoch}`);
    sets.set(epoch, set);
  }
  return set;
}

/** Fetches block `height` and its epoch's set, and verifies them here; `txId` must then be in the block. */
export async function verifyAt(height, chainId, txId) {
  const block = await get(`/blocks/${height}`);
  const set = await setForHeight(height);
  const report = await verifyBlock({ chainId, block, set, ...(txId === undefined ? {} : { txId }) });
  return { block, set, report };
}
