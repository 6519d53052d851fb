/**
 * The sync routes (docs/api.md, "State sync"): where this node stands
 * (`/sync/status`, with the progress of its own sync), finalized blocks
 * (`/sync/blocks`), headers with certificates of every height kept
 * (`/sync/headers`, pruned heights included), epoch validator sets
 * (`/sync/epochs/:epoch`), the state snapshots it holds with their manifests
 * and chunks (`/sync/snapshots…`), and the whole state as one document
 * (`/sync/snapshot`, for tools). Large answers are charged to the client
 * address's read budget by their size.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encodeStateValue, epochKey } from '../codec/state.js';
import { ErrorCode } from '../errors.js';
import type { FastposNode } from '../node/node.js';
import type { SnapshotFiles } from '../node/snapshotFiles.js';
import type { SyncProgressView } from '../node/syncCoordinator.js';
import { KIB, sendBlockRange } from './blockRange.js';
import type { IpBudget } from './ipBudget.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

export interface SyncRouteOptions {
  /** KiB of large answers per client address; none: not charged. */
  readonly readBudget?: IpBudget | undefined;
  /** The snapshots this node holds; none: it serves no snapshots. */
  readonly snapshots?: SnapshotFiles | undefined;
  /** The node's own sync in progress. */
  readonly progress?: (() => SyncProgressView | null) | undefined;
}

/** Most headers one `/sync/headers` answer holds. */
export const MAX_HEADERS = 500;

const snapshotParams = {
  type: 'object',
  required: ['height'],
  properties: { height: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
} as const;
const chunkParams = {
  type: 'object',
  required: ['height', 'index'],
  properties: { height: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER }, index: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
} as const;
const epochParams = {
  type: 'object',
  required: ['epoch'],
  properties: { epoch: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
} as const;
const headersQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['from'],
  properties: {
    from: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    limit: { type: 'integer', minimum: 1, maximum: MAX_HEADERS, default: 100 },
  },
} as const;

export async function registerSyncRoutes(app: FastifyInstance, node: FastposNode, opts: SyncRouteOptions): Promise<void> {
  /** Takes `bytes` from the client's read budget; false (and a 429 sent) when it is used up. */
  const charge = (req: FastifyRequest, reply: FastifyReply, bytes: number): boolean => {
    const units = Math.max(1, Math.ceil(bytes / KIB));
    if (opts.readBudget === undefined || opts.readBudget.take(req.ip, units)) return true;
    void sendError(reply, ErrorCode.RATE_LIMITED, 'this address has used up its read budget (rateLimitReadBytes per window); retry later');
    return false;
  };

  app.get('/sync/status', { schema: { querystring: S.emptyQuery } }, async () => ({
    chainId: node.genesis.chainId,
    genesisHash: node.genesisHash,
    height: node.height,
    hash: node.latestBlock?.hash ?? node.genesisHash,
    syncing: node.isSyncing,
    earliestBlockHeight: node.store.earliestBlockHeight(),
    earliestHeaderHeight: node.store.earliestHeaderHeight(),
    progress: opts.progress?.() ?? null,
  }));

  app.get('/sync/blocks', { schema: { querystring: S.syncBlocksQuery } }, async (req, reply) => {
    const { from, limit } = req.query as { from: number; limit: number };
    return sendBlockRange(req, reply, node.store, { from, count: Math.min(limit, Math.max(0, node.height - from + 1)) }, opts.readBudget);
  });

  // Headers and certificates: kept for every height, pruned or not.
  app.get('/sync/headers', { schema: { querystring: headersQuery } }, async (req, reply) => {
    const { from, limit } = req.query as { from: number; limit: number };
    const earliest = node.store.earliestHeaderHeight();
    if (from < earliest) return sendError(reply, ErrorCode.PRUNED, `headers below height ${earliest} are not kept by this node (it began from a snapshot at ${earliest})`);
    const headers = node.store.getHeaders(from, Math.min(limit, Math.max(0, node.height - from + 1)));
    const json = JSON.stringify(headers.map((h) => ({ header: h.header, hash: h.hash, commit: h.commit })));
    if (!charge(req, reply, json.length)) return reply;
    return reply.type('application/json; charset=utf-8').send(json);
  });

  app.get('/sync/epochs/:epoch', { schema: { params: epochParams } }, async (req, reply) => {
    const { epoch } = req.params as { epoch: number };
    const key = epochKey(epoch);
    const rec = node.state.get(key);
    if (rec === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no validator set is stored for epoch ${epoch}`);
    return reply.type('application/json; charset=utf-8').send(encodeStateValue(key, rec));
  });

  app.get('/sync/snapshots', { schema: { querystring: S.emptyQuery } }, async () => ({ snapshots: opts.snapshots?.list() ?? [] }));

  app.get('/sync/snapshots/:height', { schema: { params: snapshotParams } }, async (req, reply) => {
    const { height } = req.params as { height: number };
    const json = opts.snapshots?.manifestJson(height);
    if (json === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `this node holds no snapshot at height ${height} (GET /sync/snapshots lists those it holds)`);
    if (!charge(req, reply, json.length)) return reply;
    return reply.type('application/json; charset=utf-8').send(json);
  });

  app.get('/sync/snapshots/:height/chunks/:index', { schema: { params: chunkParams } }, async (req, reply) => {
    const { height, index } = req.params as { height: number; index: number };
    const data = await opts.snapshots?.chunk(height, index);
    if (data === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `this node holds no chunk ${index} of a snapshot at height ${height}`);
    if (!charge(req, reply, data.length)) return reply;
    return reply.type('application/octet-stream').send(data);
  });

  // The whole state as one JSON document, built once per height (not per request).
  let whole: { height: number; json: string } | null = null;
  app.get('/sync/snapshot', { schema: { querystring: S.emptyQuery } }, async (req, reply) => {
    if (whole?.height !== node.height) {
      const snap = node.stateSnapshot();
      const doc = { height: snap.height, blockHash: snap.blockHash, stateRoot: snap.stateRoot, entries: snap.entries.map(([k, v]) => [k, encodeStateValue(k, v)]) };
      whole = { height: snap.height, json: JSON.stringify(doc) };
    }
    if (!charge(req, reply, whole.json.length)) return reply;
    return reply.type('application/json; charset=utf-8').send(whole.json);
  });
}
