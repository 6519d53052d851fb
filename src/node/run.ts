/**
 * Starts a node from a configuration: the data dir's lock, genesis, keys, the
 * double-sign guard, store, node, HTTP API, and an orderly shutdown on
 * SIGINT/SIGTERM (API first, then the node, then the data dir's lock). A fatal
 * error of the node (a block or a guard record that could not be made durable)
 * closes it and, unless the embedder takes over (`onFatal`), exits the process
 * with code 1.
 */
import { estimatedMemory } from '../mempool/index.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { IpBudget } from '../api/ipBudget.js';
import { createApi } from '../api/server.js';
import { checkSyncTrust, type NodeConfig } from '../config/index.js';
import { devAccount, devValidator } from '../crypto/keys.js';
import { ErrorCode, FastposError, FatalError } from '../errors.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import { defaultDevnetGenesis } from '../state/genesis.js';
import { readGenesisFile } from './genesisFile.js';
import { UpgradeHaltError } from '../state/upgrades.js';
import { BLOCK_LOG_FILE, SQLITE_FILE, STATE_FILE, createChainStore } from '../storage/index.js';
import type { DecodedTx, Genesis } from '../types/index.js';
import { lockDataDir, type DataDirLock } from './dataDirLock.js';
import { createLogger } from './logging.js';
import { realClock, realTimers } from './options.js';
import { createWatchers, type Watchers } from './watchWiring.js';
import { NODE_KEY_FILE, loadKeyFile, loadOrCreateNodeKey } from './keyFile.js';
import { GUARD_FILE, openFileSignGuard } from './signGuardFile.js';
import { FastposNode, isDevChainId } from './node.js';
import { SyncScheduler, maxSyncResponseBytes, type SyncSource } from './sync.js';
import { BackupScheduler, backupSourceOf } from './backups.js';
import type { SyncProgressView } from './syncCoordinator.js';
import { wireStateSync } from './stateSyncWiring.js';
import { PeerDiscovery } from '../p2p/discovery.js';
import { createHelloResponder } from '../p2p/hello.js';
import { createPolicyLookup, type HostPolicy } from '../p2p/hostPolicy.js';
import { HttpTransport } from '../p2p/httpTransport.js';
import { PENALTY_LIMIT, PeerBook, normalizePeerUrl } from '../p2p/peers.js';
import { StreamLinks } from '../p2p/streamLink.js';
import type { P2pTraffic } from '../p2p/traffic.js';
import type { Transport } from '../consensus/driver.js';

export interface RunningNode {
  readonly node: FastposNode;
  readonly app: FastifyInstance;
  readonly url: string;
  /** The validator network's own listener (`p2pPort`), when it has one; else the API serves it. */
  readonly p2pUrl?: string;
  /** The sync in progress (snapshot or blocks), or null. */
  syncProgress(): SyncProgressView | null;
  close(): Promise<void>;
}

/** The configured genesis: `genesisFile`, else the data dir's `genesis.json`, else the built-in devnet (a file is read as a stream: `readGenesisFile`). */
export function loadGenesis(config: Pick<NodeConfig, 'dataDir' | 'genesisFile'>): { genesis: Genesis; source: string } {
  const path = config.genesisFile ?? (existsSync(join(config.dataDir, 'genesis.json')) ? join(config.dataDir, 'genesis.json') : undefined);
  if (path === undefined) return { genesis: defaultDevnetGenesis(), source: 'built-in devnet' };
  return { genesis: readGenesisFile(path), source: path };
}

/** The validator keys this node signs with: its key file, or on a devnet the public dev validator keys of the genesis set. */
export function loadValidatorKeys(config: Pick<NodeConfig, 'dataDir' | 'validatorKeyFile'>, genesis: Genesis): string[] {
  const path = config.validatorKeyFile ?? (existsSync(join(config.dataDir, 'validator_key.json')) ? join(config.dataDir, 'validator_key.json') : undefined);
  if (path !== undefined) return [loadKeyFile(path).privateKey];
  if (!isDevChainId(genesis.chainId)) return [];
  const seated = new Set(genesis.validators.map((v) => v.pubKey));
  const keys: string[] = [];
  for (let i = 0; i < 100; i++) {
    const k = devValidator(i);
    if (seated.has(k.publicKey)) keys.push(k.privateKey);
  }
  return keys;
}

/** The governance key the admin API signs with, if this node has one. */
export function loadGovernanceKey(config: Pick<NodeConfig, 'dataDir' | 'governanceKeyFile'>, genesis: Genesis): string | undefined {
  const path = config.governanceKeyFile ?? (existsSync(join(config.dataDir, 'governance_key.json')) ? join(config.dataDir, 'governance_key.json') : undefined);
  if (path !== undefined) return loadKeyFile(path).privateKey;
  // `fastpos init` makes its account_key.json the chain's governance account.
  const accountFile = join(config.dataDir, 'account_key.json');
  if (existsSync(accountFile)) {
    const k = loadKeyFile(accountFile);
    if (genesis.params.governance.includes(k.address)) return k.privateKey;
  }
  if (!isDevChainId(genesis.chainId) || genesis.params.governance.length === 0) return undefined;
  for (let i = 0; i < 100; i++) {
    const k = devAccount(i);
    if (genesis.params.governance.includes(k.address)) return k.privateKey;
  }
  return undefined;
}

export interface RunNodeOptions {
  readonly logger?: Logger;
  readonly handleSignals?: boolean;
  /**
   * Wraps the validator-network transport the consensus driver sends through.
   * Only reachable from code that embeds the node (no config key, flag or
   * environment variable sets it): the test suite uses it to run a validator
   * that equivocates on purpose.
   */
  readonly wrapTransport?: (t: Transport) => Transport;
  /**
   * Uniform in [0, 1): the order in which peers are asked for blocks when
   * catching up (default Math.random). Only reachable from code that embeds
   * the node: the test suite fixes it to ask the peers in their listed order.
   */
  readonly random?: () => number;
  /**
   * Called with the error once the node stopped on a fatal error (a block or
   * a double-sign guard record that could not be made durable) and has been
   * closed. Without it the process exits with code 1; an embedder that must
   * not exit (a test) handles the failure here instead.
   */
  readonly onFatal?: (e: unknown) => void;
}

/** The host policy of discovered peer URLs: `auto` allows loopback and private hosts on devnet and localnet chains only. */
export function peerHostPolicy(config: Pick<NodeConfig, 'peerAllowLoopback' | 'peerAllowPrivate' | 'peerAllowDns'>, chainId: string): HostPolicy {
  const allow = (v: 'auto' | 'on' | 'off'): boolean => (v === 'auto' ? isDevChainId(chainId) : v === 'on');
  return { loopback: allow(config.peerAllowLoopback), private: allow(config.peerAllowPrivate), dns: config.peerAllowDns };
}

/** Whether the data dir holds a chain store's files (of either backend), looked at before the store opens. */
export function hasChainData(dataDir: string): boolean {
  return [SQLITE_FILE, STATE_FILE, BLOCK_LOG_FILE].some((f) => existsSync(join(dataDir, f)));
}

export async function runNode(config: NodeConfig, opts: RunNodeOptions = {}): Promise<RunningNode> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  // First, before anything in the data dir is opened: a second process (or a second node in this one) is refused here.
  const lock = lockDataDir(config.dataDir);
  try {
    return await startOnLockedDir(config, opts, logger, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function startOnLockedDir(config: NodeConfig, opts: RunNodeOptions, logger: Logger, lock: DataDirLock): Promise<RunningNode> {
  checkSyncTrust(config);
  const { genesis, source } = loadGenesis(config);
  const validatorKeys = loadValidatorKeys(config, genesis);
  // The peer book; a peer it drops by itself (aged out, evicted, penalized, found to be this node) has its connections closed.
  const dropped: { forget?: (url: string) => void } = {};
  // The watchers (stall, behind, peers lost and back, per-block lines and validator metrics), made once the node exists.
  let watchers: Watchers | undefined;
  const book = new PeerBook(config.maxPeers, {
    onDropped: (url, why) => {
      dropped.forget?.(url);
      logger.info({ peer: url, why }, 'peer dropped from the book');
      if (!book.isSelf(url)) watchers?.dropped(url, why);
    },
    onReachability: (peer, reachable, wasUp) => watchers?.reachability(peer, reachable, wasUp),
  });
  for (const raw of (config.peers ?? '').split(',').map((x) => x.trim()).filter((x) => x.length > 0)) {
    if (normalizePeerUrl(raw) === null) throw new FastposError(ErrorCode.INVALID_CONFIG, `peers: "${raw}" is not an http(s) base URL`);
    book.add(raw, 'config');
  }
  // Data of the other backend in this data dir means a changed stateBackend: refuse rather than start a second chain beside it.
  const other = config.stateBackend === 'sqlite' ? 'state.json' : 'chain.sqlite';
  if (existsSync(join(config.dataDir, other))) {
    throw new FastposError(ErrorCode.INVALID_CONFIG, `stateBackend is ${config.stateBackend} but ${join(config.dataDir, other)} holds a chain of the other backend; use that backend or another data dir`);
  }
  // The guard is opened (and on a first start written) before the store creates any chain file: chain data without a guard file means a lost record.
  const { guard, created } = openFileSignGuard({ dataDir: config.dataDir, chainData: hasChainData(config.dataDir), signs: validatorKeys.length > 0, reset: config.resetSignGuard });
  const guardFile = join(config.dataDir, GUARD_FILE);
  if (created === 'reset') {
    logger.warn({ file: guardFile }, 'double-sign guard record was missing beside chain data; started from a blank record as resetSignGuard asks; remove resetSignGuard now');
  } else if (config.resetSignGuard) {
    logger.warn({ file: guardFile }, 'resetSignGuard is set but the double-sign guard record needed no reset; remove resetSignGuard');
  }
  // The identity this node proves to peers (GET /p2p/hello), and which URLs discovery may take.
  const nodeKey = loadOrCreateNodeKey(config.dataDir);
  if (nodeKey.created) logger.info({ file: join(config.dataDir, NODE_KEY_FILE), nodeId: nodeKey.key.address }, 'created the node key');
  const hostPolicy = peerHostPolicy(config, genesis.chainId);
  const policyLookup = createPolicyLookup(hostPolicy);
  const metrics = createMetrics({ defaultMetrics: true });
  const traffic = p2pTrafficOf(metrics);
  // Connections to a URL that is not the operator's are held to the host policy, whatever its name resolves to.
  const lookupFor = (url: string) => ((book.get(url)?.source ?? 'discovered') === 'discovered' ? policyLookup : undefined);
  // One stream to each peer carries what this node sends it; while none is open, HTTP POSTs do (and take what a closed stream had queued).
  const fallback: { send?: HttpTransport['sendOverHttp'] } = {};
  const streams = config.p2pStreams
    ? new StreamLinks({
        maxBufferedBytes: config.p2pStreamMaxBufferedBytes,
        pingEveryMs: Math.max(100, Math.floor(config.p2pStreamIdleTimeoutMs / 3)),
        traffic,
        lookupFor,
        fallback: (url, items) => fallback.send?.(url, items),
        onOpen: (url) => book.ok(url, Date.now()),
        onViolation: (url, reason) => book.failed(url, Date.now(), reason),
        onError: (url, what, e) => logger.debug({ peer: url, what, err: (e as Error).message }, 'peer stream failed'),
      })
    : undefined;
  const transport = new HttpTransport({
    book,
    lookupFor,
    ...(streams === undefined ? {} : { streams }),
    traffic,
    requestTimeoutMs: config.syncRequestTimeoutMs,
    maxResponseBytes: config.syncMaxResponseBytes > 0 ? config.syncMaxResponseBytes : maxSyncResponseBytes(genesis.params),
    onError: (url, what, e) => logger.debug({ peer: url, what, err: (e as Error).message }, 'peer request failed'),
  });
  fallback.send = (url, items) => transport.sendOverHttp(url, items);
  const store = createChainStore(config.stateBackend, config.dataDir, { onWarning: (message) => logger.warn({ dataDir: config.dataDir }, message), pruneKeepBlocks: config.pruneKeepBlocks, params: genesis.params, ...headerWindow(config, genesis) });
  const node = new FastposNode(
    {
      genesis,
      validatorKeys,
      governanceKey: loadGovernanceKey(config, genesis),
      mempool: {
        maxTxs: config.mempoolMaxTxs,
        maxBytes: config.mempoolMaxBytes,
        // The byte limit bounds the pool's memory, not the txs' wire size.
        costOf: estimatedMemory,
        maxPerSender: config.mempoolMaxPerSender,
        nonceWindow: config.mempoolNonceWindow,
        ttlBlocks: config.mempoolTtlBlocks,
        replaceBumpPercent: config.mempoolReplaceBumpPercent,
        droppedMax: config.droppedRetentionMax,
        droppedTtlMs: config.droppedRetentionMs,
      },
      minBlockIntervalMs: config.minBlockIntervalMs,
      soloBlockIntervalMs: config.soloBlockIntervalMs,
      blockIntervalPerKtps: config.blockIntervalPerKtps,
      maxBlockIntervalMs: config.maxBlockIntervalMs,
      commitGatherMs: config.commitGatherMs,
      idleBlockIntervalMs: config.idleBlockIntervalMs,
      verifyWorkers: config.verifyWorkers,
      allowDevKeys: config.allowDevKeys,
      dataDir: config.dataDir,
      p2pRateLimit: config.p2pRateLimit,
      timeouts: {
        proposeMs: config.timeoutProposeMs,
        proposeDeltaMs: config.timeoutDeltaMs,
        prevoteMs: config.timeoutPrevoteMs,
        prevoteDeltaMs: config.timeoutDeltaMs,
        precommitMs: config.timeoutPrecommitMs,
        precommitDeltaMs: config.timeoutDeltaMs,
      },
    },
    {
      store,
      logger,
      metrics,
      guard,
      transport: opts.wrapTransport === undefined ? transport : opts.wrapTransport(transport),
      ...(opts.random === undefined ? {} : { random: opts.random }),
    },
  );
  dropped.forget = (url) => transport.forget(url);
  watchers = createWatchers({ node, log: logger, metrics, clock: realClock, timers: realTimers, stallWarnMs: config.stallWarnMs, behindWarnBlocks: config.behindWarnBlocks, book: () => book });
  const hello = createHelloResponder({ privateKey: nodeKey.key.privateKey, chainId: genesis.chainId, genesisHash: node.genesisHash });
  const discovery = new PeerDiscovery({
    book,
    client: transport,
    chainId: genesis.chainId,
    genesisHash: node.genesisHash,
    nodeId: hello.nodeId,
    policy: hostPolicy,
    intervalMs: config.peerDiscoveryIntervalMs,
    discoveredTtlMs: config.peerDiscoveredTtlMs,
    log: (level, msg, fields) => logger[level](fields, msg),
  });
  // Txs admitted from clients go to every peer once (peers do not pass on what they got from a peer).
  node.on('txAdmitted', (d: DecodedTx, _json: unknown, fromPeer: boolean) => {
    if (!fromPeer) transport.gossipTx(d.json);
  });
  // Each request to a peer is bounded (deadline and byte cap); a peer that fails or serves bad data is penalized.
  const syncSource: SyncSource = {
    peers: () => transport.syncPeers(),
    status: async (peer) => {
      const s = await transport.syncStatus(peer);
      if (s.genesisHash === node.genesisHash) watchers?.peerHeight(peer, s.height);
      return s;
    },
    blocks: (peer, from, limit) => transport.syncBlocks(peer, from, limit),
    penalize: (peer, reason) => {
      if (transport.penalize(peer, reason) === 'dropped') logger.warn({ peer, err: reason }, `dropped a discovered peer after ${PENALTY_LIMIT} penalties`);
    },
    served: (peer) => transport.served(peer),
  };
  // State snapshots: taken for peers, and used to sync when far behind or when peers' blocks are pruned.
  const stateSyncing = wireStateSync({ config, genesis, node, transport, blocks: syncSource, logger, metrics, random: opts.random ?? Math.random });
  const coordinator = stateSyncing.coordinator;
  const snapshotFiles = stateSyncing.snapshots;
  // Catch-up from peers: soon when consensus messages show we are two or more
  // heights behind, after a second when one height behind, and every 3 s a check.
  const syncScheduler = new SyncScheduler({
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    height: () => node.height,
    hasPeers: () => book.size > 0,
    run: (minLead) =>
      coordinator.run(minLead).catch((e: unknown) => {
        if (!(e instanceof FatalError)) logger.warn({ err: (e as Error).message }, 'sync from peers failed');
        return 0;
      }),
  });
  node.on('behind', (height: number) => syncScheduler.behind(height));
  // Backups of the chain store at every multiple of backupEveryBlocks (node/backups.ts; POST /admin/backup takes the same path).
  const backupDir = config.backupDir ?? join(config.dataDir, 'backups');
  const backups = new BackupScheduler({ everyBlocks: config.backupEveryBlocks, keep: config.backupKeep, backupDir, source: backupSourceOf(node), clock: { now: () => Date.now() }, log: logger, height: () => node.height });
  backups.open();
  node.on('finalized', (fb) => backups.committed(fb));
  let app: FastifyInstance | undefined;
  let p2pApp: FastifyInstance | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      syncScheduler.close();
      watchers?.close();
      stateSyncing.close();
      discovery.close();
      try {
        await app?.close();
        await p2pApp?.close();
        await transport.close();
        await backups.idle();
        await node.stop();
      } finally {
        lock.release();
      }
      logger.info('node stopped');
    })();
    return closing;
  };
  const stopped: { fatal?: { readonly error: unknown } } = {};
  node.once('fatal', (e: unknown) => {
    stopped.fatal = { error: e };
    logger.fatal({ err: e }, 'fatal error; closing the node');
    if (opts.onFatal === undefined) {
      // Exits even if closing hangs.
      setTimeout(() => process.exit(exitCodeOf(e)), config.shutdownTimeoutMs).unref();
    }
    const done = (): void => {
      if (opts.onFatal === undefined) process.exit(exitCodeOf(e));
      else opts.onFatal(e);
    };
    close().then(done, (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      done();
    });
  });
  try {
    node.start();
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  logger.info({ genesis: source, chainId: genesis.chainId, dataDir: config.dataDir, backend: config.stateBackend, validators: node.heldValidatorIds() }, 'node started');
  watchers.start();
  const separateP2p = config.p2pPort !== 0;
  const apiOptions = {
    bodyLimitBytes: config.bodyLimitBytes,
    txBatchMaxTxs: config.txBatchMaxTxs,
    txBatchMaxBytes: config.txBatchMaxBytes,
    rateLimitMax: config.rateLimitMax,
    rateLimitWindowMs: config.rateLimitWindowMs,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    requestTimeoutMs: config.requestTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    adminToken: config.adminToken,
    corsOrigins: config.corsOrigins,
    devSigning: config.devSigning,
    metrics: config.metrics,
    backupDir,
    logger,
  };
  const p2pRoutes = {
    book,
    snapshots: snapshotFiles,
    syncProgress: () => coordinator.progress(),
    messageBodyLimit: Math.max(config.bodyLimitBytes, 2 * genesis.params.maxBlockBytes + 1_048_576),
    onPeerRemoved: (url: string) => transport.forget(url),
    hello,
    discovery,
    traffic,
    streams: config.p2pStreams ? { maxInbound: config.p2pStreamMaxInbound, idleTimeoutMs: config.p2pStreamIdleTimeoutMs, maxRefused: config.p2pStreamMaxRefused } : undefined,
  };
  // Public clients' txs cost the same through POST /txs and POST /p2p/txs as through POST /tx: one unit of the rate limit each.
  const txBudget = new IpBudget(config.rateLimitMax, config.rateLimitWindowMs);
  // Large reads cost by their size (KiB); the validator network's own listener is not charged.
  const readBudget = new IpBudget(Math.ceil(config.rateLimitReadBytes / 1024), config.rateLimitWindowMs);
  app = await createApi(node, { ...apiOptions, readBudget, txBudget, p2p: { ...p2pRoutes, txBudget, readBudget, publicListener: separateP2p } });
  if (separateP2p) {
    // The validator network's own listener: its own connections budget, no per-address cap (validators may
    // share one), the same deadlines; public traffic on the API port cannot starve it.
    p2pApp = await createApi(node, { ...apiOptions, maxConnections: config.p2pMaxConnections, maxConnectionsPerIp: config.p2pMaxConnections, routes: 'p2p', p2p: p2pRoutes });
  }
  try {
    await app.listen({ host: config.host, port: config.port });
    await p2pApp?.listen({ host: config.p2pHost ?? config.host, port: config.p2pPort });
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  // A fatal error while the API was starting: the node is closing (or closed) already, without the API.
  if (stopped.fatal !== undefined) {
    await app.close().catch(() => undefined);
    await p2pApp?.close().catch(() => undefined);
    await close().catch(() => undefined);
    throw stopped.fatal.error;
  }
  const listening = (server: FastifyInstance, host: string, fallback: number): { url: string; port: number } => {
    const addr = server.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : fallback;
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port };
  };
  const api = listening(app, config.host, config.port);
  logger.info({ url: api.url }, 'API listening');
  const p2p = p2pApp === undefined ? undefined : listening(p2pApp, config.p2pHost ?? config.host, config.p2pPort);
  if (p2p !== undefined) logger.info({ url: p2p.url }, 'validator network listening');
  for (const { url, port } of p2p === undefined ? [api] : [api, p2p]) {
    book.addSelf(url);
    book.addSelf(`http://127.0.0.1:${port}`);
    book.addSelf(`http://localhost:${port}`);
  }
  const url = api.url;
  syncScheduler.start();
  discovery.start();

  if (opts.handleSignals) {
    const onSignal = (sig: string): void => {
      logger.info({ signal: sig }, 'shutting down');
      const force = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs);
      force.unref();
      close().then(() => process.exit(0), (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return { node, app, url, ...(p2p === undefined ? {} : { p2pUrl: p2p.url }), syncProgress: () => coordinator.progress(), close };
}

/** Exit code of a node stopped by a fatal error: 3 when it stopped before a rule change it does not know, else 1. */
function exitCodeOf(e: unknown): number {
  return e instanceof UpgradeHaltError ? e.exitCode : 1;
}

/**
 * Headers kept when pruning: every height of the newest
 * max(pruneKeepBlocks, snapshotKeep × snapshotEveryBlocks) (so a snapshot this
 * node serves is linked to the recent chain by hash), and below them each
 * epoch's first header, which a light client following validator-set
 * changes needs. Without pruning every header is kept.
 */
function headerWindow(config: NodeConfig, genesis: Genesis): { headerKeepBlocks: number; headerCheckpointEvery: number } {
  if (config.pruneKeepBlocks <= 0) return { headerKeepBlocks: 0, headerCheckpointEvery: 1 };
  return { headerKeepBlocks: Math.max(config.pruneKeepBlocks, config.snapshotKeep * config.snapshotEveryBlocks), headerCheckpointEvery: genesis.params.epochLengthBlocks };
}

/** The validator network's traffic counts, on the node's metrics. */
function p2pTrafficOf(m: Metrics): P2pTraffic {
  // Shown from the start (at 0), so a scrape tells "none" from "not counted".
  for (const direction of ['in', 'out']) m.p2pStreamsOpen.set({ direction }, 0);
  for (const channel of ['stream', 'http']) {
    m.p2pBytesSent.inc({ channel }, 0);
    m.p2pBytesReceived.inc({ channel }, 0);
  }
  return {
    sent: (kind, count) => m.p2pMessagesSent.inc({ kind }, count),
    received: (kind, count) => m.p2pMessagesReceived.inc({ kind }, count),
    bytesSent: (channel, bytes) => m.p2pBytesSent.inc({ channel }, bytes),
    bytesReceived: (channel, bytes) => m.p2pBytesReceived.inc({ channel }, bytes),
    dropped: (reason, count) => m.p2pStreamDrops.inc({ reason }, count),
    refused: (code) => m.p2pStreamRefused.inc({ code }),
    streams: (direction, delta) => m.p2pStreamsOpen.inc({ direction }, delta),
  };
}
