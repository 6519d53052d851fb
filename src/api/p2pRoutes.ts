/**
 * Validator-network routes (protocol §5–6): consensus envelopes, tx gossip
 * (one POST per message, or a peer stream on `GET /p2p/stream`), the peer
 * book, equivocation evidence, and the sync endpoints that a node behind uses
 * to catch up. Rate limiting here is per validator (in the node), not per IP:
 * many validators may share one address.
 * @module
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FastposError } from '../errors.js';
import type { FastposNode } from '../node/node.js';
import type { PeerBook } from '../p2p/peers.js';
import type { SnapshotFiles } from '../node/snapshotFiles.js';
import type { SyncProgressView } from '../node/syncCoordinator.js';
import { registerSyncRoutes } from './syncRoutes.js';
import type { IpBudget } from './ipBudget.js';
import type { PeerDiscovery } from '../p2p/discovery.js';
import type { HelloResponder } from '../p2p/hello.js';
import { normalizePeerUrl, type Peer } from '../p2p/peers.js';
import { StreamServer } from '../p2p/streamServer.js';
import { NO_TRAFFIC, envelopeKind, type P2pTraffic } from '../p2p/traffic.js';
import * as S from './schemas.js';
import { sendError } from './server.js';

export interface P2pApiOptions {
  readonly book: PeerBook;
  /** Largest consensus message (a proposal carries a whole block). */
  readonly messageBodyLimit: number;
  readonly onPeerRemoved?: (url: string) => void;
  /**
   * Set on a listener that is not the validator network's own (the public
   * API when `p2pPort` gives validators a listener of their own): there
   * `POST /p2p/message` counts against the per-address request limit too.
   */
  readonly publicListener?: boolean;
  /** Txs per client address (`POST /p2p/txs` is charged one unit per tx); none: not charged. */
  readonly txBudget?: IpBudget;
  /** KiB of /sync/blocks and /sync/snapshot answers per client address; none: not charged. */
  readonly readBudget?: IpBudget;
  /** Answers `GET /p2p/hello`, the peer handshake. */
  readonly hello: HelloResponder;
  /** Adds admin peers, asking their hello first (`POST /p2p/peers`). */
  readonly discovery: Pick<PeerDiscovery, 'addAdminPeer'>;
  /** The state snapshots this node serves (none: it serves none). */
  readonly snapshots?: SnapshotFiles | undefined;
  /** The node's own sync in progress (for `GET /sync/status`). */
  readonly syncProgress?: (() => SyncProgressView | null) | undefined;
  /** Peer streams served on `GET /p2p/stream` (none: the route is not served, as on a node without streams). */
  readonly streams?: PeerStreamLimits | undefined;
  /** Counts of messages and bytes received (both channels). */
  readonly traffic?: P2pTraffic;
}

/** The bounds of inbound peer streams (see `p2p/streamServer.ts`). */
export interface PeerStreamLimits {
  readonly maxInbound: number;
  readonly idleTimeoutMs: number;
  readonly maxRefused: number;
}

/** `GET /p2p/stream?v=1`: the stream protocol's version (1, the only one). */
const streamQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { v: { type: 'integer', minimum: 1, maximum: 1, default: 1 } },
} as const;

/** What anyone may see of a peer: who it is and whether it answers, not what went wrong. */
function publicPeerView(p: Peer): Record<string, unknown> {
  return { url: p.url, source: p.source, nodeId: p.nodeId, failures: p.failures, lastOkAt: p.lastOkAt };
}

/** The admin's view of a peer: its errors, penalties and handshake too. */
function adminPeerView(p: Peer): Record<string, unknown> {
  return {
    ...publicPeerView(p),
    identity: p.identity,
    helloError: p.helloError,
    retryAt: p.retryAt,
    lastSeenAt: p.lastSeenAt,
    lastError: p.lastError,
    penalties: p.penalties,
  };
}

export async function registerP2pRoutes(
  app: FastifyInstance,
  node: FastposNode,
  opts: P2pApiOptions,
  requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>,
): Promise<void> {
  // Validators may share an address: their envelopes are limited per validator, after the signature check.
  const messageLimit = opts.publicListener === true ? {} : { rateLimit: false };
  const traffic = opts.traffic ?? NO_TRAFFIC;
  const received = (req: FastifyRequest, kind: 'txs' | ReturnType<typeof envelopeKind>): void => {
    traffic.received(kind, 1);
    traffic.bytesReceived('http', Number(req.headers['content-length'] ?? 0) || 0);
  };

  app.post('/p2p/message', { bodyLimit: opts.messageBodyLimit, config: messageLimit, schema: { body: S.envelopeBody, querystring: S.emptyQuery } }, async (req, reply) => {
    received(req, envelopeKind(req.body));
    await node.handleEnvelope(req.body);
    return reply.code(202).send({ accepted: true });
  });

  app.post('/p2p/txs', { bodyLimit: opts.messageBodyLimit, schema: { body: S.txsBody, querystring: S.emptyQuery } }, async (req, reply) => {
    const { txs } = req.body as { txs: unknown[] };
    received(req, 'txs');
    // Charged per tx before any signature is checked: a batch costs what as many POST /tx would.
    const budget = opts.txBudget;
    if (budget !== undefined && !budget.take(req.ip, txs.length)) {
      const wait = budget.waitMs(req.ip, txs.length);
      if (wait > 0) reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return sendError(reply, ErrorCode.RATE_LIMITED, `a batch of ${txs.length} txs is over this address's tx budget (the request rate limit, counted per tx)`);
    }
    return node.handleTxBatch(txs);
  });

  // Peer streams; not on a public listener (validators then have one of their own, and stream to it).
  if (opts.publicListener !== true) await registerStreamRoute(app, node, opts, traffic);

  // The peer handshake: this node's chain, genesis and node key, signed over the asker's nonce.
  app.get('/p2p/hello', { schema: { querystring: S.helloQuery } }, async (req) => opts.hello.answer((req.query as { nonce: string }).nonce));

  // Anyone sees who the peers are; with the admin token (and only then) also what went wrong with them.
  app.get('/p2p/peers', { schema: { querystring: S.emptyQuery } }, async (req, reply) => {
    if (req.headers.authorization === undefined) return opts.book.list().map(publicPeerView);
    const refused = await requireAdmin(req, reply);
    if (refused !== undefined) return refused;
    return opts.book.list().map(adminPeerView);
  });

  app.post('/p2p/peers', { preHandler: requireAdmin, schema: { body: S.peerBody } }, async (req, reply) => {
    const { url } = req.body as { url: string };
    const normal = normalizePeerUrl(url);
    if (normal === null) return sendError(reply, ErrorCode.INVALID_REQUEST, `url must be an http(s) base URL without path, query or credentials, got ${JSON.stringify(url)}`);
    const r = await opts.discovery.addAdminPeer(normal);
    switch (r.outcome) {
      case 'added':
      case 'promoted':
        return reply.code(201).send({ url: r.url, added: true, nodeId: r.nodeId });
      case 'duplicate':
        return sendError(reply, ErrorCode.DUPLICATE_MESSAGE, r.reason);
      default:
        return sendError(reply, ErrorCode.INVALID_REQUEST, `${normal} cannot be added: ${r.reason}`);
    }
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

  await registerSyncRoutes(app, node, { readBudget: opts.readBudget, snapshots: opts.snapshots, progress: opts.syncProgress });
}

/**
 * `GET /p2p/stream`: a WebSocket on which a peer sends frames of envelopes
 * and txs (`p2p/streamServer.ts`); each envelope takes the path of
 * `POST /p2p/message`, each tx list that of `POST /p2p/txs` with the same
 * per-address tx budget. Frames are at most the message body limit.
 */
async function registerStreamRoute(root: FastifyInstance, node: FastposNode, opts: P2pApiOptions, traffic: P2pTraffic): Promise<void> {
  // The WebSocket plugin adds hooks to every request of the context it is registered in: a context of its
  // own keeps them off every other route.
  await root.register(async (app) => streamRoute(app, node, opts, traffic));
}

async function streamRoute(app: FastifyInstance, node: FastposNode, opts: P2pApiOptions, traffic: P2pTraffic): Promise<void> {
  // Upgrades are answered even without streams: a peer asking for one learns 404 (and posts), not a dropped connection.
  await app.register(websocket, { options: { maxPayload: opts.messageBodyLimit, perMessageDeflate: false }, errorHandler: () => undefined });
  const limits = opts.streams;
  if (limits === undefined) return;
  const budget = opts.txBudget;
  const server = new StreamServer({
    ...limits,
    traffic,
    envelope: (json) => node.handleEnvelope(json),
    txs: async (txs, ip) => {
      if (budget !== undefined && !budget.take(ip, txs.length)) {
        throw new FastposError(ErrorCode.RATE_LIMITED, `a batch of ${txs.length} txs is over this address's tx budget (the request rate limit, counted per tx)`);
      }
      await node.handleTxBatch(txs);
    },
    log: (fields, msg) => app.log.debug(fields, msg),
  });
  // Errors of an open stream are the stream server's to count; the WebSocket layer closes the stream itself (errorHandler above).
  app.addHook('preClose', (done) => {
    server.close();
    done();
  });
  app.route({
    method: 'GET',
    url: '/p2p/stream',
    schema: { summary: 'A peer stream: a WebSocket carrying frames of consensus messages and txs (protocol §6)', querystring: streamQuery },
    handler: async (_req, reply) => sendError(reply, ErrorCode.INVALID_REQUEST, 'GET /p2p/stream opens a WebSocket: send it as an upgrade (Connection: Upgrade, Upgrade: websocket)'),
    wsHandler: (socket, req) => server.accept(socket, req.ip),
  });
}
