/**
 * The HTTP API (protocol §5) on Fastify: schemas on every route, one error
 * handler that gives every failure the spec's shape and status, rate limits,
 * body and connection limits, and admin and development routes that are off
 * unless configured. Handlers stay short: parse, call the node, serialize.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import { Ajv } from 'ajv';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { prunedMessage, sendBlockRange } from './blockRange.js';
import { parseCorsOrigins, registerCors } from './cors.js';
import type { IpBudget } from './ipBudget.js';
import { registerExplorer } from './explorerRoutes.js';
import { envelopeFields } from './lists.js';
import { registerMetaRoutes } from './metaRoutes.js';
import { registerOpenApi, registerOpenApiRoute } from './openapi.js';
import { registerP2pRoutes, type P2pApiOptions } from './p2pRoutes.js';
import { registerProductRoutes } from './productRoutes.js';
import { collectRoutes } from './routeCatalog.js';
import { registerStakingRoutes } from './stakingRoutes.js';
import { registerTxRoutes } from './txRoutes.js';
import { strictNumbers, type Validator } from './strictNumbers.js';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { encodeTx, txSignBytes } from '../codec/tx.js';
import { createSigner } from '../crypto/ed25519.js';
import { devAccount } from '../crypto/keys.js';
import { ErrorCode, FastposError, isFastposError } from '../errors.js';
import { backupSourceOf, writeBackup } from '../node/backups.js';
import type { FastposNode } from '../node/node.js';
import type { TransferTx } from '../types/index.js';
import { ERROR_STATUS } from './errorStatus.js';
import * as S from './schemas.js';

export interface ApiOptions {
  readonly bodyLimitBytes: number;
  /** Most txs in one `POST /txs` (`txBatchMaxTxs`). */
  readonly txBatchMaxTxs: number;
  /** Largest `POST /txs` body, in bytes (`txBatchMaxBytes`): that route's own body limit. */
  readonly txBatchMaxBytes: number;
  /** Txs per client address: `POST /txs` is charged one unit per tx (none: not charged). */
  readonly txBudget?: IpBudget;
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  readonly maxConnections: number;
  /** Most connections from one client address (default: maxConnections, i.e. no cap of its own). */
  readonly maxConnectionsPerIp?: number;
  readonly requestTimeoutMs: number;
  /** Request line and headers (default: requestTimeoutMs). */
  readonly headersTimeoutMs?: number;
  readonly keepAliveTimeoutMs: number;
  readonly adminToken?: string | undefined;
  readonly devSigning: boolean;
  readonly metrics: boolean;
  /** Where admin backups go (a folder per backup is made inside). */
  readonly backupDir: string;
  readonly logger: Logger;
  /** Validator-network routes (/p2p, /sync). */
  readonly p2p?: P2pApiOptions;
  /** Bytes of block ranges and snapshots per client address, in KiB (none: not charged). */
  readonly readBudget?: IpBudget;
  /**
   * 'all' (default): every route. 'p2p': the validator network's listener of
   * its own (`p2pPort`): the /p2p and /sync routes and /healthz only.
   */
  readonly routes?: 'all' | 'p2p';
  /**
   * `corsOrigins` as configured: comma-separated origins, or `*`, allowed to
   * read the public API from a browser page (none: no CORS headers). Not
   * used on the validator network's own listener.
   */
  readonly corsOrigins?: string | undefined;
}

/** How often Node checks every open connection against the header and request deadlines. */
const DEADLINE_CHECK_MS = 1_000;

export function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(ERROR_STATUS[code]).send({ error: { code, message } });
}

/** Maps any error thrown while serving a request to the spec's error shape. */
function toApiError(err: FastifyError | FastposError | Error): { code: ErrorCode; message: string } {
  if (isFastposError(err)) return { code: err.code, message: err.message };
  const fe = err as FastifyError;
  if (fe.validation !== undefined) return { code: ErrorCode.INVALID_REQUEST, message: fe.message };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'request body is larger than the limit' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: ErrorCode.INVALID_JSON, message: `body is not valid JSON: ${fe.message}` };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: ErrorCode.INVALID_JSON, message: 'body is empty but content-type is application/json' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: ErrorCode.UNSUPPORTED_MEDIA_TYPE, message: 'send JSON with content-type: application/json' };
    default:
      break;
  }
  if (err instanceof SyntaxError) return { code: ErrorCode.INVALID_JSON, message: `body is not valid JSON: ${err.message}` };
  if (fe.statusCode === 429) return { code: ErrorCode.RATE_LIMITED, message: fe.message };
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) return { code: ErrorCode.INVALID_REQUEST, message: fe.message };
  return { code: ErrorCode.INTERNAL, message: 'internal error' };
}

const MAX_PARAM_LENGTH = 200;

/**
 * Requests that fail before they reach a route (Node's HTTP parser: headers
 * too large, request timeout, malformed HTTP) get the spec's error shape
 * too, written on the socket, which is then closed.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [ErrorCode.REQUEST_TIMEOUT, 'the request did not arrive within requestTimeoutMs']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [ErrorCode.HEADERS_TOO_LARGE, 'the request line and headers are larger than the server accepts']
        : [ErrorCode.INVALID_REQUEST, `malformed HTTP request (${err.code ?? 'parse error'})`];
  const body = JSON.stringify({ error: { code, message } });
  const status = ERROR_STATUS[code];
  // A request answered early (a refused oversized body still arriving) gets no second answer.
  const answered = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !answered) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

function tokenMatches(given: string, expected: string): boolean {
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** At most this much of a refused oversized body is read and thrown away after the 413 (more: the connection is closed). */
export const DISCARD_MAX_BYTES = 16 * 1_048_576;
/** …and for at most this long. */
export const DISCARD_MAX_MS = 10_000;

/**
 * A body over the limit is answered 413 before it has all arrived. Closing
 * the connection then (what Fastify does) resets it while the client is
 * still sending, and most clients report the reset instead of the answer.
 * So the rest of the body is read and thrown away — up to DISCARD_MAX_BYTES
 * declared or received, for up to DISCARD_MAX_MS — and the connection
 * stays usable; a client that declares or sends more is cut off.
 */
function discardRefusedBody(req: FastifyRequest, reply: FastifyReply): void {
  const raw = req.raw;
  if (raw.complete || raw.destroyed) return;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > DISCARD_MAX_BYTES) return; // Fastify's `connection: close` stays: nothing more is read
  reply.removeHeader('connection');
  const socket = raw.socket;
  let received = 0;
  const cut = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(cut, DISCARD_MAX_MS);
  timer.unref();
  raw.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > DISCARD_MAX_BYTES) cut();
  });
  raw.once('end', () => clearTimeout(timer));
  raw.once('close', () => clearTimeout(timer));
}

/** A connection over the limit is closed this long after it opened, answered or not. */
const OVER_LIMIT_GRACE_MS = 5_000;

/**
 * At most `max` connections are served, at most `maxPerIp` of them from one
 * client address. One over either limit gets one answer,
 * `503 TOO_MANY_CONNECTIONS` with `connection: close` and `retry-after`, so
 * that its client learns why instead of seeing a reset; it is closed within
 * OVER_LIMIT_GRACE_MS whatever it does. Beyond twice the limit, connections
 * are closed at once without an answer (what Node's own limit does), which
 * bounds what a flood of idle sockets can hold.
 */
function limitConnections(app: FastifyInstance, max: number, maxPerIp: number, counter: Counter<'answered'>): void {
  let open = 0;
  const byIp = new Map<string, number>();
  const overLimit = new WeakMap<object, string>();
  app.server.prependListener('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const mine = (byIp.get(ip) ?? 0) + 1;
    byIp.set(ip, mine);
    open++;
    socket.once('close', () => {
      open--;
      const left = (byIp.get(ip) ?? 1) - 1;
      if (left > 0) byIp.set(ip, left);
      else byIp.delete(ip);
    });
    if (open <= max && mine <= maxPerIp) return;
    if (open > 2 * max || mine > 2 * maxPerIp) {
      counter.inc({ answered: 'false' });
      socket.destroy();
      return;
    }
    counter.inc({ answered: 'true' });
    overLimit.set(socket, open > max ? `this node serves at most ${max} connections at once` : `this node serves at most ${maxPerIp} connections at once from one address`);
    setTimeout(() => socket.destroy(), OVER_LIMIT_GRACE_MS).unref();
  });
  // A callback hook: every request passes here, and an async one would cost a promise each.
  app.addHook('onRequest', (req, reply, done) => {
    const why = overLimit.get(req.raw.socket);
    if (why === undefined) {
      done();
      return;
    }
    reply.header('connection', 'close').header('retry-after', '1');
    void sendError(reply, ErrorCode.TOO_MANY_CONNECTIONS, `${why}; retry later`);
  });
}

/** Node requires the header deadline to be at most the request deadline when both are set. */
function headersTimeout(opts: ApiOptions): number {
  const h = opts.headersTimeoutMs ?? opts.requestTimeoutMs;
  if (opts.requestTimeoutMs === 0) return h;
  return h === 0 ? opts.requestTimeoutMs : Math.min(h, opts.requestTimeoutMs);
}

/**
 * Query-string errors that say what is wrong. Ajv's `additionalProperties`
 * error says only that there is an unknown parameter (`querystring must NOT
 * have additional properties`); this names it and what the route takes
 * (`querystring/bogus is not a parameter of this route (it takes from, to,
 * …)`). An `enum` error also lists the values allowed.
 */
function namingUnknownParameters(validate: Validator, schema: unknown): Validator {
  const known = Object.keys((schema as { properties?: Record<string, unknown> }).properties ?? {});
  const takes = known.length === 0 ? 'it takes none' : `it takes ${known.join(', ')}`;
  const check: Validator = (data: unknown): boolean => {
    const ok = validate(data);
    check.errors = validate.errors ?? null;
    const e = check.errors?.[0];
    if (!ok && e !== undefined && e.keyword === 'additionalProperties') {
      const name = String((e.params as { additionalProperty?: unknown }).additionalProperty);
      check.errors = [{ ...e, instancePath: `${e.instancePath}/${name}`, message: `is not a parameter of this route (${takes})` }];
    } else if (!ok && e !== undefined && e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      check.errors = [{ ...e, message: `must be one of ${allowed.map(String).join(', ')}` }];
    }
    return ok;
  };
  check.errors = null;
  return check;
}

export async function createApi(node: FastposNode, opts: ApiOptions): Promise<FastifyInstance> {
  const strict = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false });
  const coercing = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false });
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Requests are not logged one by one, so each gets the server's logger rather than a child made for it.
    childLoggerFactory: (logger) => logger,
    bodyLimit: opts.bodyLimitBytes,
    requestTimeout: opts.requestTimeoutMs,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    // The deadlines go to the server's constructor: set afterwards (as Fastify does with requestTimeout),
    // Node 20 never applies them to a body that trickles in.
    http: {
      requestTimeout: opts.requestTimeoutMs,
      headersTimeout: headersTimeout(opts),
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // While the server drains, requests on open connections are still served (with `connection: close`);
    // what the node can no longer do answers 503 NOT_READY from the node itself.
    return503OnClosing: false,
    frameworkErrors: (err, _req, reply) =>
      err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? sendError(reply, ErrorCode.URI_TOO_LONG, `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`)
        : sendError(reply, ErrorCode.INVALID_REQUEST, `the request path is not valid: ${err.message}`),
    clientErrorHandler: answerClientError,
  });
  // Bodies: no coercion. Query strings and path parameters: numbers in canonical decimal only, then coerced.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return strict.compile(schema);
    const validate = strictNumbers(coercing.compile(schema), schema);
    return httpPart === 'querystring' ? namingUnknownParameters(validate, schema) : validate;
  });
  limitConnections(app, opts.maxConnections, opts.maxConnectionsPerIp ?? opts.maxConnections, node.metrics.httpConnectionsOverLimit);
  // JSON only: any other content type is refused with 415.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { code, message } = toApiError(err);
    if (ERROR_STATUS[code] >= 500) req.log.error({ err, url: req.url }, 'request failed');
    if (code === ErrorCode.PAYLOAD_TOO_LARGE) discardRefusedBody(req, reply);
    return sendError(reply, code, message);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`));

  // Before the rate limiter: a page refused for its rate still learns why.
  if (opts.routes !== 'p2p') await registerCors(app, parseCorsOrigins(opts.corsOrigins));

  if (opts.rateLimitMax > 0) {
    await app.register(rateLimit, {
      global: true,
      max: opts.rateLimitMax,
      timeWindow: opts.rateLimitWindowMs,
      allowList: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics',
      errorResponseBuilder: (_req, ctx) =>
        Object.assign(new FastposError(ErrorCode.RATE_LIMITED, `rate limit of ${ctx.max} requests per ${ctx.after === undefined ? 'window' : 'window; retry in ' + ctx.after}`), { statusCode: 429 }),
    });
  }

  const m = node.metrics;
  // The labelled children are looked up once per (method, route, status): labelling costs a string key per call.
  const requestCounters = new Map<string, { inc(): void }>();
  const durations = new Map<string, { observe(v: number): void }>();
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${req.method} ${route} ${reply.statusCode}`;
    let counter = requestCounters.get(key);
    if (counter === undefined) requestCounters.set(key, (counter = m.httpRequests.labels({ method: req.method, route, status: reply.statusCode })));
    counter.inc();
    let duration = durations.get(route);
    if (duration === undefined) durations.set(route, (duration = m.httpDuration.labels({ route })));
    duration.observe(reply.elapsedTime / 1000);
    done();
  });

  /** Bearer-token check of admin operations (constant-time compare; off when no token is set). */
  const requireAdmin = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (opts.adminToken === undefined) return sendError(reply, ErrorCode.ADMIN_DISABLED, 'admin API is disabled: no adminToken is configured');
    const h = req.headers.authorization;
    if (h === undefined || !h.startsWith('Bearer ')) return sendError(reply, ErrorCode.UNAUTHORIZED, 'send Authorization: Bearer <adminToken>');
    if (!tokenMatches(h.slice(7), opts.adminToken)) return sendError(reply, ErrorCode.FORBIDDEN, 'admin token is wrong');
    return undefined;
  };

  if (opts.routes === 'p2p') {
    // The validator network's own listener: nothing else is served here.
    app.get('/healthz', { schema: { querystring: S.emptyQuery } }, async () => ({ status: 'ok' }));
    if (opts.p2p !== undefined) await registerP2pRoutes(app, node, opts.p2p, requireAdmin);
    return app;
  }

  // Before any route: each is tagged, listed by GET / and described in /openapi.json.
  const catalog = collectRoutes(app);
  await registerOpenApi(app);

  // ------------------------------------------------------------------ txs
  // POST /tx, POST /txs (batches), GET /tx and the pending and finalized lists.
  registerTxRoutes(app, node, {
    batchMaxTxs: opts.txBatchMaxTxs,
    batchMaxBytes: opts.txBatchMaxBytes,
    txBudget: opts.txBudget,
    rateLimitMax: opts.rateLimitMax,
    rateLimitWindowMs: opts.rateLimitWindowMs,
  });

  // ------------------------------------------------------------------ chain reads
  app.get('/accounts/:address', { schema: { summary: 'An account\'s balance, nonce and pending nonce', params: S.addressParams, querystring: S.emptyQuery } }, async (req) => {
    const { address } = req.params as { address: string };
    const a = node.account(address);
    return { address, balance: a.balance.toString(), nonce: a.nonce, pendingNonce: a.pendingNonce };
  });

  app.get('/blocks/latest', { schema: { summary: 'The latest finalized block with its certificate', querystring: S.emptyQuery } }, async (_req, reply) => {
    const b = node.latestBlock;
    if (b === null) return sendError(reply, ErrorCode.NOT_FOUND, 'no block has been finalized yet');
    return reply.type('application/json; charset=utf-8').send(node.blockJson(b));
  });

  app.get('/blocks/:height', { schema: { summary: 'The finalized block at a height with its certificate', params: S.heightParams, querystring: S.emptyQuery } }, async (req, reply) => {
    const { height } = req.params as { height: number };
    const earliest = node.store.earliestBlockHeight();
    if (height >= 1 && height <= node.height && height < earliest) return sendError(reply, ErrorCode.PRUNED, prunedMessage(height, earliest));
    const json = height === 0 || height > node.height ? undefined : node.store.getBlocksJson(height, 1)[0];
    if (json === undefined) return sendError(reply, ErrorCode.NOT_FOUND, `no finalized block at height ${height} (latest is ${node.height})`);
    return reply.type('application/json; charset=utf-8').send(json);
  });

  app.get('/blocks', { schema: { summary: 'Finalized blocks from a height, oldest first', querystring: S.blocksQuery } }, async (req, reply) => {
    const { from, limit, withMeta } = req.query as { from: number; limit: number; withMeta: boolean };
    const total = node.height;
    // Stored blocks are already wire JSON: served without decoding them, bounded in bytes, in slices.
    // The list is every block from height 1, so a page from height `from` starts at offset from - 1.
    const envelope = withMeta ? (count: number) => envelopeFields({ total, offset: from - 1, limit }, count) : undefined;
    return sendBlockRange(req, reply, node.store, { from, count: Math.min(limit, Math.max(0, total - from + 1)) }, opts.readBudget, envelope);
  });

  app.get('/status', { schema: { querystring: S.emptyQuery } }, async () => {
    const latest = node.latestBlock;
    return {
      chainId: node.genesis.chainId,
      nodeId: node.nodeId,
      genesisHash: node.genesisHash,
      latestHeight: node.height,
      latestHash: latest?.hash ?? node.genesisHash,
      latestTime: latest?.block.header.timestamp ?? node.genesis.genesisTime,
      stateRoot: node.stateRoot,
      epoch: node.currentEpoch,
      peers: opts.p2p?.book.list().map((p) => p.url) ?? [],
      syncing: node.isSyncing,
      producing: node.isFinalizing(),
      consensus: node.consensusState,
      paused: node.isPaused,
      mempool: { txs: node.mempool.size, bytes: node.mempool.txBytes, memoryBytes: node.mempool.bytes },
      validatorSetHash: node.validatorSet.hash,
      backend: node.store.backend,
      // Where this node's history begins: whole blocks (pruning, state sync) and headers with certificates.
      earliestBlockHeight: node.store.earliestBlockHeight(),
      earliestHeaderHeight: node.store.earliestHeaderHeight(),
      // What a client needs to build a tx: the smallest fee the chain takes.
      minFee: node.genesis.params.minFee.toString(),
      // The validator keys this node holds and their standing in the set deciding the next height ([] when none).
      validators: node.heldValidators(),
    };
  });

  app.get('/healthz', { schema: { summary: 'Liveness: the process answers', querystring: S.emptyQuery } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: state loaded, synced and finalizing (503 NOT_READY otherwise)', querystring: S.emptyQuery } }, async (_req, reply) => {
    const checks = { stateLoaded: node.isStarted, synced: !node.isSyncing, finalizing: node.isFinalizing() };
    if (checks.stateLoaded && checks.synced && checks.finalizing) return { ready: true, checks };
    const failing = Object.entries(checks).filter(([, ok]) => !ok).map(([k]) => k);
    return sendError(reply, ErrorCode.NOT_READY, `not ready: ${failing.join(', ')}`);
  });

  if (opts.metrics) {
    app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)', querystring: S.emptyQuery } }, async (_req, reply) => {
      const text = await m.registry.metrics();
      return reply.type(m.registry.contentType).send(text);
    });
  }

  // What describes the node: the route index, the genesis document, the OpenAPI document.
  registerMetaRoutes(app, node, catalog);
  registerOpenApiRoute(app);

  // ------------------------------------------------------------------ admin
  if (opts.p2p !== undefined) await registerP2pRoutes(app, node, opts.p2p, requireAdmin);
  // Validators, delegations, epochs; admin evidence, slash, jail and the next epoch's dry run.
  await registerStakingRoutes(app, node, requireAdmin);
  // The product layer: oracle set, proofs, pending attestations.
  await registerProductRoutes(app, node);
  // The block explorer's static pages at /explorer/ (docs/explorer.md).
  await registerExplorer(app);

  await app.register(async (admin) => {
    admin.addHook('onRequest', requireAdmin);
    admin.get('/status', { schema: { summary: 'Production state: paused, producing, held validators, mempool', querystring: S.emptyQuery } }, async () => ({
      paused: node.isPaused,
      producing: node.isFinalizing(),
      heldValidators: node.heldValidatorIds(),
      mempool: { txs: node.mempool.size, bytes: node.mempool.txBytes, memoryBytes: node.mempool.bytes },
      height: node.height,
    }));
    admin.post('/production/pause', { schema: { summary: 'Pause block production after the current height', body: S.emptyBody } }, async () => {
      await node.pause();
      return { paused: true, height: node.height };
    });
    admin.post('/production/resume', { schema: { summary: 'Resume block production', body: S.emptyBody } }, async () => {
      node.resume();
      return { paused: false };
    });
    admin.post('/validators/:id/work-weight', { schema: { summary: 'Set a validator\'s workWeight (a governance tx)', params: S.validatorIdParams, body: S.workWeightBody } }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const { workWeight } = req.body as { workWeight: number };
      const st = await node.setWorkWeight(id, workWeight);
      return reply.code(202).send({ id: st.id, status: st.status });
    });
    admin.post('/backup', { schema: { summary: 'Write a backup of the chain data now', body: S.emptyBody } }, async () => {
      // The scheduled backups' path (node/backups.ts): a copy into a temporary folder, a manifest, one rename.
      // The copy may hold blocks committed while it ran: its manifest names the height it holds. Keys and the
      // double-sign guard record are left out on purpose: an older guard record restored next to a key lets
      // that key sign the same positions twice.
      const b = await writeBackup({ backupDir: opts.backupDir, source: backupSourceOf(node), trigger: 'on-demand', now: Date.now(), atHeight: node.height });
      return { dir: b.dir, height: b.manifest.height, manifest: b.manifest };
    });
  }, { prefix: '/admin' });

  // ------------------------------------------------------------------ development
  await app.register(async (dev) => {
    dev.addHook('onRequest', async (_req, reply) => {
      if (!opts.devSigning) return sendError(reply, ErrorCode.DEV_SIGNING_DISABLED, 'node-side signing is disabled (devSigning: false)');
      return undefined;
    });
    dev.post('/transfer', { schema: { summary: 'A transfer signed by the node with a public dev key (devSigning only)', body: S.devTransferBody } }, async (req, reply) => {
      const b = req.body as { devAccount: number; to: string; amount: string; fee?: string };
      const key = devAccount(b.devAccount);
      const unsigned: Omit<TransferTx, 'signature'> = {
        chainId: node.genesis.chainId,
        kind: 'transfer',
        from: key.address,
        pubKey: key.publicKey,
        nonce: node.account(key.address).pendingNonce,
        fee: BigInt(b.fee ?? node.genesis.params.minFee.toString()),
        payload: { to: b.to, amount: BigInt(b.amount) },
      };
      const signature = createSigner(key.privateKey).sign(txSignBytes(unsigned));
      const st = await node.submitTx(encodeTx({ ...unsigned, signature }));
      return reply.code(202).send({ id: st.id, status: st.status });
    });
  }, { prefix: '/dev' });

  return app;
}
