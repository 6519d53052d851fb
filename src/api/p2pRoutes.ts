/**
 * Validator-network routes (protocol §5–6): consensus envelopes, tx gossip,
 * the peer book, equivocation evidence, and the sync endpoints that a node
 * behind uses to catch up. Rate limiting here is per validator (in the node),
 * not per IP: many validators may share one address.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encodeStateValue } from '../codec/state.js';
import { ErrorCode } from '../errors.js';
import type { FastposNode } from '../node/node.js';
import type { PeerBook } from '../p2p/peers.js';
import { normalizePeerUrl } from '../p2p/peers.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

export interface P2pApiOptions {
  readonly book: PeerBook;
  /** Largest consensus message (a proposal carries a whole block). */
  readonly messageBodyLimit: number;
  readonly onPeerRemoved?: (url: string) => void;
}

export async function registerP2pRoutes(
  app: FastifyInstance,
  node: FastposNode,
  opts: P2pApiOptions,
  requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>,
): Promise<void> {
  const noIpLimit = { rateLimit: false };

  app.post('/p2p/message', { bodyLimit: opts.messageBodyLimit, config: noIpLimit, schema: { body: S.envelopeBody, querystring: S.emptyQuery } }, async (req, reply) => {
    await node.handleEnvelope(req.body);
    return reply.code(202).send({ accepted: true });
  });

  app.post('/p2p/txs', { bodyLimit: opts.messageBodyLimit, schema: { body: S.txsBody, querystring: S.emptyQuery } }, async (req) => {
    const { txs } = req.body as { txs: unknown[] };
    return node.handleTxBatch(txs);
  });

  app.get('/p2p/peers', { schema: { querystring: S.emptyQuery } }, async () =>
    opts.book.list().map((p) => ({ url: p.url, source: p.source, failures: p.failures, lastOkAt: p.lastOkAt, lastError: p.lastError })),
  );

  app.post('/p2p/peers', { preHandler: requireAdmin, schema: { body: S.peerBody } }, async (req, reply) => {
    const { url } = req.body as { url: string };
    const normal = normalizePeerUrl(url);
    if (normal === null) return sendError(reply, ErrorCode.INVALID_REQUEST, `url must be an http(s) base URL without path, query or credentials, got ${JSON.stringify(url)}`);
    if (opts.book.has(normal)) return sendError(reply, ErrorCode.DUPLICATE_MESSAGE, `${normal} is already a peer`);
    if (!opts.book.add(normal, 'admin')) return sendError(reply, ErrorCode.INVALID_REQUEST, `${normal} cannot be added (it is this node, or the peer book is full)`);
    return reply.code(201).send({ url: normal, added: true });
  });

  app.delete('/p2p/peers', { preHandler: requireAdmin, schema: { querystring: S.peerQuery } }, async (req, reply) => {
    const { url } = req.query as { url: string };
    const normal = normalizePeerUrl(url);
    if (normal === null || !opts.book.remove(normal)) return sendError(reply, ErrorCode.NOT_FOUND, `${url} is not a peer`);
    opts.onPeerRemoved?.(normal);
    return { url: normal, removed: true };
  });

  // The newest `limit` records (oldest first): proposal evidence carries whole blocks.
  app.get('/p2p/evidence', { schema: { querystring: S.p2pEvidenceQuery } }, async (req) => {
    const { limit } = req.query as { limit: number };
    return node.evidenceList().slice(-limit).map((e) => ({ type: e.type, height: e.height, round: e.round, validatorId: e.validatorId, first: e.first, second: e.second }));
  });

  app.get('/sync/status', { schema: { querystring: S.emptyQuery } }, async () => ({
    chainId: node.genesis.chainId,
    genesisHash: node.genesisHash,
    height: node.height,
    hash: node.latestBlock?.hash ?? node.genesisHash,
    syncing: node.isSyncing,
  }));

  app.get('/sync/blocks', { schema: { querystring: S.syncBlocksQuery } }, async (req, reply) => {
    const { from, limit } = req.query as { from: number; limit: number };
    const rows = node.store.getBlocksJson(from, Math.min(limit, Math.max(0, node.height - from + 1)));
    return reply.type('application/json; charset=utf-8').send(`[${rows.join(',')}]`);
  });

  app.get('/sync/snapshot', { schema: { querystring: S.emptyQuery } }, async () => {
    const snap = node.stateSnapshot();
    return { height: snap.height, blockHash: snap.blockHash, stateRoot: snap.stateRoot, entries: snap.entries.map(([k, v]) => [k, encodeStateValue(k, v)]) };
  });
}
