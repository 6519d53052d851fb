/**
 * Node configuration: one table (`CONFIG_KEYS`) declares every key once, with
 * its type, default and description. Everything else is derived from it: the
 * `NodeConfig` type, `DEFAULT_CONFIG`, the `--kebab-case` flags, the
 * `FASTPOS_UPPER_SNAKE` environment variables, validation, the commented YAML
 * written by `fastpos init` and the reference table in docs/configuration.md.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ErrorCode, FastposError, assert } from '../errors.js';

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

interface KeySpecBase {
  /** One line, no `|` (it is pasted into a markdown table). */
  readonly description: string;
}
export interface IntegerKeySpec extends KeySpecBase {
  readonly type: 'integer';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}
export interface BooleanKeySpec extends KeySpecBase {
  readonly type: 'boolean';
  readonly default: boolean;
}
export interface StringKeySpec extends KeySpecBase {
  readonly type: 'string';
  readonly default: string;
  readonly minLength?: number;
  /** A filesystem path: resolved against the config file's directory (file) or the cwd (flag, env, default). */
  readonly path?: boolean;
}
export interface EnumKeySpec extends KeySpecBase {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly default: string;
}
/** A string that may be unset (no default value; what "unset" means is in the description). */
export interface OptionalStringKeySpec extends KeySpecBase {
  readonly type: 'optional-string';
  readonly minLength?: number;
  readonly path?: boolean;
  /** Never echoed in error messages. */
  readonly secret?: boolean;
}
export type ConfigKeySpec = IntegerKeySpec | BooleanKeySpec | StringKeySpec | EnumKeySpec | OptionalStringKeySpec;

/** Every configuration key, declared once. The order here is the order of the docs and of `config.yaml`. */
export const CONFIG_KEYS = {
  dataDir: {
    type: 'string',
    default: '.fastpos',
    minLength: 1,
    path: true,
    description: 'Data directory (chain store, keys, genesis); config.yaml is looked for here when no --config is given.',
  },
  genesisFile: {
    type: 'optional-string',
    path: true,
    description: 'Genesis JSON file; when unset: <dataDir>/genesis.json if present, else the built-in devnet.',
  },
  validatorKeyFile: {
    type: 'optional-string',
    path: true,
    description: 'Validator key JSON file; when unset: <dataDir>/validator_key.json if present (devnet: the dev validator keys).',
  },
  governanceKeyFile: {
    type: 'optional-string',
    path: true,
    description: 'Key JSON file of a genesis governance account, used by the admin API to sign governance txs; when unset: <dataDir>/governance_key.json, else <dataDir>/account_key.json if its account governs (devnet: the dev account keys).',
  },
  host: {
    type: 'string',
    default: '127.0.0.1',
    minLength: 1,
    description: 'Address the HTTP API listens on (0.0.0.0 = every interface).',
  },
  port: {
    type: 'integer',
    default: 26657,
    min: 0,
    max: 65535,
    description: 'TCP port the HTTP API listens on (0 = any free port; the log line "API listening" names it).',
  },
  stateBackend: {
    type: 'enum',
    values: ['sqlite', 'snapshot'],
    default: 'sqlite',
    description: 'Storage backend for the chain state.',
  },
  logLevel: {
    type: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    description: 'Least severe level of log line that is written.',
  },
  logFormat: {
    type: 'enum',
    values: ['auto', 'pretty', 'json'],
    default: 'auto',
    description: 'Log line format: pretty = colored text for people, json = one JSON object per line (pino) for log collectors, auto = pretty when stdout is a terminal, else json.',
  },
  stallWarnMs: {
    type: 'integer',
    default: 30000,
    min: 0,
    max: 86400000,
    description: 'A warn line "no block finalized" is logged when no block has been finalized for this long, in milliseconds, and again each time as long again passes; 0 = never.',
  },
  behindWarnBlocks: {
    type: 'integer',
    default: 10,
    min: 0,
    max: 1000000,
    description: 'A warn line "node is behind" is logged when a peer reports a height this many blocks or more above this node\'s; 0 = never.',
  },
  adminToken: {
    type: 'optional-string',
    minLength: 16,
    secret: true,
    description: 'Bearer token for the /admin API (at least 16 characters); the admin API is disabled when unset.',
  },
  devSigning: {
    type: 'boolean',
    default: false,
    description: 'Enable the node-side signing endpoints (development only; never on a public node).',
  },
  allowDevKeys: {
    type: 'boolean',
    default: false,
    description: 'Allow a non-devnet chain whose genesis uses the public development keys.',
  },
  resetSignGuard: {
    type: 'boolean',
    default: false,
    description: 'Let a validator start from a blank double-sign guard record when priv_validator_state.json is missing but the data dir holds chain data; only if its keys never signed on this chain (see docs/operations.md). Remove it after that start.',
  },
  minBlockIntervalMs: {
    type: 'integer',
    default: 30,
    min: 0,
    max: 60_000,
    description: 'Least time between blocks while transactions are waiting, counted from the previous decision, in milliseconds (longer: larger blocks, less work per tx; shorter: lower latency); the arrival rate may stretch it (blockIntervalPerKtps).',
  },
  soloBlockIntervalMs: {
    type: 'integer',
    default: 5,
    min: 0,
    max: 60_000,
    description: 'Least time between blocks while transactions are waiting when this node\'s validator keys alone hold a quorum (a single-node network), in milliseconds: a height then needs no other node, so small blocks keep latency low.',
  },
  blockIntervalPerKtps: {
    type: 'integer',
    default: 8,
    min: 0,
    max: 10_000,
    description: 'Milliseconds added to the block interval per 1,000 tx/s arriving (0: the interval does not follow the load): under heavy load blocks wait a little longer and grow, so each transaction carries less of a height\'s fixed cost; under light load the interval stays at its floor (minBlockIntervalMs or soloBlockIntervalMs).',
  },
  maxBlockIntervalMs: {
    type: 'integer',
    default: 60,
    min: 0,
    max: 60_000,
    description: 'Most the arrival rate may stretch the block interval to, in milliseconds (the floor, minBlockIntervalMs or soloBlockIntervalMs, applies even when it is longer).',
  },
  commitGatherMs: {
    type: 'integer',
    default: 50,
    min: 0,
    max: 10_000,
    description: 'How long a proposer waits after the previous block for the precommits of validators that missed its quorum, in milliseconds, so that the next block carries them and a validator that signed is not counted missing (0: never wait).',
  },
  idleBlockIntervalMs: {
    type: 'integer',
    default: 1000,
    min: 10,
    max: 3_600_000,
    description: 'Block interval while no transaction is waiting, in milliseconds.',
  },
  timeoutProposeMs: {
    type: 'integer',
    default: 1000,
    min: 10,
    max: 600000,
    description: 'Consensus: how long validators wait for a proposal in round 0 (plus idleBlockIntervalMs, which a proposer may spend waiting for txs).',
  },
  timeoutPrevoteMs: {
    type: 'integer',
    default: 500,
    min: 10,
    max: 600000,
    description: 'Consensus: how long validators wait for more prevotes after seeing 2/3 of any, in round 0.',
  },
  timeoutPrecommitMs: {
    type: 'integer',
    default: 500,
    min: 10,
    max: 600000,
    description: 'Consensus: how long validators wait for more precommits after seeing 2/3 of any, in round 0.',
  },
  timeoutDeltaMs: {
    type: 'integer',
    default: 500,
    min: 0,
    max: 600000,
    description: 'Consensus: each timeout grows by this much per round, so that a slow network eventually gets long enough rounds.',
  },
  corsOrigins: {
    type: 'optional-string',
    description: 'Comma-separated origins allowed to call the HTTP API from a browser (CORS), e.g. https://explorer.example,http://localhost:3000, or * for any; when unset, no CORS headers are sent (browsers allow only same-origin pages such as /explorer).',
  },
  peers: {
    type: 'optional-string',
    description: 'Comma-separated base URLs of peer nodes (e.g. http://127.0.0.1:26658); more are found by asking peers for theirs.',
  },
  maxPeers: {
    type: 'integer',
    default: 50,
    min: 0,
    max: 10000,
    description: 'Most peers kept (configured, added through the admin API, or discovered).',
  },
  peerDiscoveryIntervalMs: {
    type: 'integer',
    default: 30000,
    min: 0,
    max: 3600000,
    description: 'How often peers are asked for their peers (0 = no discovery).',
  },
  peerDiscoveredTtlMs: {
    type: 'integer',
    default: 600_000,
    min: 1_000,
    max: 86_400_000,
    description: 'A discovered peer that has not answered for this long, in milliseconds, is dropped from the peer book.',
  },
  peerAllowLoopback: {
    type: 'enum',
    values: ['auto', 'on', 'off'],
    default: 'auto',
    description: 'Whether discovered peer URLs may name loopback hosts (127.0.0.0/8, ::1, localhost); auto = on for devnet/localnet chain ids, off otherwise. Configured and admin-added peers are not subject to it.',
  },
  peerAllowPrivate: {
    type: 'enum',
    values: ['auto', 'on', 'off'],
    default: 'auto',
    description: 'Whether discovered peer URLs may name private, shared or link-local addresses (10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16, fc00::/7, fe80::/10); auto = on for devnet/localnet chain ids, off otherwise.',
  },
  peerAllowDns: {
    type: 'boolean',
    default: true,
    description: 'Whether discovered peer URLs may name hosts by DNS name; the addresses a name resolves to are held to peerAllowLoopback and peerAllowPrivate when connecting.',
  },
  syncRequestTimeoutMs: {
    type: 'integer',
    default: 10_000,
    min: 100,
    max: 600_000,
    description: 'Longest time one request to a peer (sync status, sync blocks, peer list) may take, from sending it to the last byte of the answer, in milliseconds; a peer that takes longer during catch-up is penalized and the next one asked.',
  },
  syncMaxResponseBytes: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 4_294_967_296,
    description: 'Largest answer to GET /sync/blocks read from a peer, in bytes; a longer one is cut and the peer penalized (0 = derived from the genesis: 50 blocks of maxBlockBytes with results and certificates, plus 1 MiB; about 60 MiB with the default parameters).',
  },
  syncMode: {
    type: 'enum',
    values: ['auto', 'blocks', 'snapshot'],
    default: 'auto',
    description: 'How a node that is far behind catches up: auto = from a certified state snapshot when it is at least snapshotSyncMinLag blocks behind or peers no longer serve the blocks it needs, else block by block; blocks = block by block only (from genesis); snapshot = from a snapshot whenever one is usable.',
  },
  snapshotSyncMinLag: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 1_000_000_000,
    description: 'In syncMode auto: how many blocks behind the best peer a node must be before it restores a state snapshot instead of replaying blocks.',
  },
  syncTrustHeight: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 9_007_199_254_740_991,
    description: 'Height of a block trusted for snapshot sync (with syncTrustHash); snapshots at or below it are checked by following block hashes back from it (0 = trust only the genesis and follow validator-set changes through certified headers).',
  },
  syncTrustHash: {
    type: 'optional-string',
    minLength: 64,
    description: 'Hash (64 hex) of the block at syncTrustHeight; required when syncTrustHeight is set.',
  },
  snapshotEveryBlocks: {
    type: 'integer',
    default: 1000,
    min: 0,
    max: 1_000_000_000,
    description: 'Take a state snapshot for peers to sync from at every height that is a multiple of this (0 = never).',
  },
  snapshotKeep: {
    type: 'integer',
    default: 2,
    min: 1,
    max: 1000,
    description: 'Number of most recent state snapshots kept in <dataDir>/snapshots; older ones are deleted.',
  },
  snapshotChunkBytes: {
    type: 'integer',
    default: 4_194_304,
    min: 1024,
    max: 67_108_864,
    description: 'Target size of one state snapshot chunk in bytes (a chunk ends at the first entry that reaches it).',
  },
  snapshotSyncTimeoutMs: {
    type: 'integer',
    default: 600_000,
    min: 1000,
    max: 86_400_000,
    description: 'Longest a snapshot sync may take, from choosing a snapshot to installing it; past it the attempt is abandoned with a logged reason and tried again (or blocks are used).',
  },
  pruneKeepBlocks: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 1_000_000_000,
    description: 'Keep the bodies (txs, results, tx index rows) of this many most recent blocks and delete older ones; headers and commit certificates are kept for max(this, snapshotKeep × snapshotEveryBlocks) heights and, below, for the first height of each epoch (0 = keep all blocks).',
  },
  backupEveryBlocks: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 1_000_000_000,
    description: 'Write a backup of the chain store at every height that is a multiple of this (0 = only on demand: POST /admin/backup or fastpos backup create).',
  },
  backupKeep: {
    type: 'integer',
    default: 3,
    min: 1,
    max: 1000,
    description: 'Number of most recent scheduled backups kept in backupDir; older ones are deleted.',
  },
  backupDir: {
    type: 'optional-string',
    path: true,
    description: 'Directory for scheduled backups (one subdirectory per backup); when unset: <dataDir>/backups.',
  },
  p2pRateLimit: {
    type: 'integer',
    default: 2000,
    min: 0,
    max: 10000000,
    description: 'Consensus messages per second accepted from one validator on POST /p2p/message (0 = no limit); beyond it: 429.',
  },
  mempoolMaxTxs: {
    type: 'integer',
    default: 50_000,
    min: 1,
    max: 10_000_000,
    description: 'Most transactions held in the mempool.',
  },
  mempoolMaxBytes: {
    type: 'integer',
    default: 67_108_864,
    min: 4096,
    max: 17_179_869_184,
    description: 'Most memory the mempool\'s pending transactions may hold, in bytes, estimated per transaction as 4 × its encoded size + 600 (a transfer: about 2.2 KB); beyond it the lowest-fee senders\' last transactions are evicted or the new one refused (MEMPOOL_FULL).',
  },
  mempoolMaxPerSender: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 1_000_000,
    description: 'Most pending transactions per sender.',
  },
  mempoolNonceWindow: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 1_000_000,
    description: "How many nonces from the account's nonce are accepted (a window of 3 admits n, n+1 and n+2; 409 NONCE_TOO_HIGH beyond).",
  },
  mempoolTtlBlocks: {
    type: 'integer',
    default: 1200,
    min: 1,
    max: 10_000_000,
    description: 'Blocks a transaction may stay pending before it is dropped.',
  },
  mempoolReplaceBumpPercent: {
    type: 'integer',
    default: 10,
    min: 1,
    max: 1000,
    description: 'Least fee increase, in percent, for a transaction to replace a pending one with the same sender and nonce.',
  },
  droppedRetentionMax: {
    type: 'integer',
    default: 100_000,
    min: 0,
    max: 10_000_000,
    description: 'Most dropped-transaction records kept for status queries (0 = keep none).',
  },
  droppedRetentionMs: {
    type: 'integer',
    default: 600_000,
    min: 0,
    max: 86_400_000,
    description: 'How long dropped-transaction records are kept for status queries, in milliseconds.',
  },
  verifyWorkers: {
    type: 'integer',
    default: 2,
    min: 0,
    max: 64,
    description: 'Worker threads for signature verification (0 = verify on the main thread). Where several validator processes share the cores of one machine, 1 per process is enough (more only add thread switches).',
  },
  bodyLimitBytes: {
    type: 'integer',
    default: 1_048_576,
    min: 1024,
    max: 1_073_741_824,
    description: 'Largest accepted request body, in bytes (413 beyond).',
  },
  txBatchMaxTxs: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 100_000,
    description: 'Most txs in one `POST /txs` batch (413 PAYLOAD_TOO_LARGE beyond: split the batch).',
  },
  txBatchMaxBytes: {
    type: 'integer',
    default: 4_194_304,
    min: 1024,
    max: 67_108_864,
    description: 'Largest `POST /txs` body, in bytes (413 PAYLOAD_TOO_LARGE beyond); this route\'s own limit, in place of bodyLimitBytes.',
  },
  rateLimitMax: {
    type: 'integer',
    default: 5000,
    min: 0,
    max: 10_000_000,
    description: 'Requests per client per rate-limit window (429 beyond; 0 = no rate limit).',
  },
  rateLimitReadBytes: {
    type: 'integer',
    default: 67_108_864,
    min: 0,
    max: 1_099_511_627_776,
    description: 'Bytes of block ranges (/blocks, /sync/blocks) and state snapshots served to one client address per rate-limit window on the API port (429 beyond; 0 = no limit).',
  },
  rateLimitWindowMs: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 3_600_000,
    description: 'Length of the rate-limit window, in milliseconds.',
  },
  maxConnections: {
    type: 'integer',
    default: 1024,
    min: 1,
    max: 1_000_000,
    description: 'Most HTTP connections open at once.',
  },
  maxConnectionsPerIp: {
    type: 'integer',
    default: 128,
    min: 1,
    max: 1_000_000,
    description: 'Most HTTP connections open at once from one client address on the API port (the validator-network port has no per-address cap).',
  },
  requestTimeoutMs: {
    type: 'integer',
    default: 30_000,
    min: 0,
    max: 3_600_000,
    description: 'Longest time to receive a whole request, headers and body, in milliseconds (408 beyond, checked every second; 0 = no limit).',
  },
  headersTimeoutMs: {
    type: 'integer',
    default: 10_000,
    min: 0,
    max: 3_600_000,
    description: 'Longest time to receive a request line and headers, in milliseconds (408 beyond; at most requestTimeoutMs; 0 = requestTimeoutMs only).',
  },
  p2pPort: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 65535,
    description: 'TCP port of a listener of its own for the validator network (/p2p, /sync), with its own connections budget, so that public traffic cannot starve consensus; 0 = served on the API port.',
  },
  p2pHost: {
    type: 'optional-string',
    minLength: 1,
    description: 'Address the validator-network listener binds to; when unset: host.',
  },
  p2pMaxConnections: {
    type: 'integer',
    default: 256,
    min: 1,
    max: 1_000_000,
    description: 'Most connections open at once on the validator-network listener (p2pPort).',
  },
  p2pStreams: {
    type: 'boolean',
    default: true,
    description: 'Send consensus messages and tx gossip to each peer on one WebSocket stream (GET /p2p/stream) and serve peers\' streams; false: one HTTP POST per message, as nodes before streams did (peers then post to this node too).',
  },
  p2pStreamMaxBufferedBytes: {
    type: 'integer',
    default: 16 * 1_048_576,
    min: 65_536,
    max: 1_073_741_824,
    description: 'Bytes queued for one peer\'s stream (unsent frames plus what the socket has not written); beyond it the oldest tx batches are dropped, then the oldest consensus messages.',
  },
  p2pStreamIdleTimeoutMs: {
    type: 'integer',
    default: 30_000,
    min: 300,
    max: 3_600_000,
    description: 'An inbound stream that sends neither a frame nor a ping for this long is closed (code 4000); outbound streams ping every third of it, in milliseconds.',
  },
  p2pStreamMaxInbound: {
    type: 'integer',
    default: 128,
    min: 1,
    max: 100_000,
    description: 'Most inbound peer streams open at once (one more is closed with code 1013), within the listener\'s connection limits.',
  },
  p2pStreamMaxRefused: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 10_000_000,
    description: 'Messages of one inbound stream refused for a rate limit within 10 s after which the stream is closed as a flood (code 1008).',
  },
  keepAliveTimeoutMs: {
    type: 'integer',
    default: 72_000,
    min: 1,
    max: 3_600_000,
    description: 'How long an idle keep-alive connection stays open, in milliseconds.',
  },
  shutdownTimeoutMs: {
    type: 'integer',
    default: 10_000,
    min: 0,
    max: 600_000,
    description: 'How long a graceful shutdown may take before the node exits anyway, in milliseconds.',
  },
  metrics: {
    type: 'boolean',
    default: true,
    description: 'Serve Prometheus metrics at /metrics.',
  },
} as const satisfies Record<string, ConfigKeySpec>;

// ---------------------------------------------------------------------------
// Types derived from the table
// ---------------------------------------------------------------------------

type Table = typeof CONFIG_KEYS;
export type ConfigKey = keyof Table;

type ValueOf<S> = S extends { readonly type: 'integer' }
  ? number
  : S extends { readonly type: 'boolean' }
    ? boolean
    : S extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
      ? V
      : string;
type OptionalKey = { [K in ConfigKey]: Table[K] extends { readonly type: 'optional-string' } ? K : never }[ConfigKey];
type RequiredKey = Exclude<ConfigKey, OptionalKey>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The node's configuration. Optional keys are absent when unset. Paths from `loadConfig` are absolute. */
export type NodeConfig = Simplify<
  { readonly [K in RequiredKey]: ValueOf<Table[K]> } & { readonly [K in OptionalKey]?: string }
>;
export type StateBackend = NodeConfig['stateBackend'];
export type LogLevel = NodeConfig['logLevel'];

/** Where a value came from. An unset optional key that no layer mentions counts as 'default'. */
export type ConfigSource = 'flag' | 'env' | 'file' | 'default';

/** The built-in defaults (dataDir still relative: `loadConfig` resolves it against the cwd). */
export const DEFAULT_CONFIG: NodeConfig = Object.freeze(
  Object.fromEntries(
    allKeys().flatMap((k) => {
      const spec: ConfigKeySpec = CONFIG_KEYS[k];
      return spec.type === 'optional-string' ? [] : [[k, spec.default]];
    }),
  ) as NodeConfig,
);

// ---------------------------------------------------------------------------
// Names derived from the table
// ---------------------------------------------------------------------------

function allKeys(): ConfigKey[] {
  return Object.keys(CONFIG_KEYS) as ConfigKey[];
}

/** `mempoolMaxTxs` → `--mempool-max-txs` */
export function flagName(key: ConfigKey): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** `mempoolMaxTxs` → `FASTPOS_MEMPOOL_MAX_TXS` */
export function envVarName(key: ConfigKey): string {
  return 'FASTPOS_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

const ENV_PREFIX = 'FASTPOS_';
const CONFIG_FLAG = 'config';
const DEFAULT_CONFIG_FILE_NAME = 'config.yaml';

const KEY_BY_FLAG = new Map<string, ConfigKey>(allKeys().map((k) => [flagName(k).slice(2), k]));
const KEY_BY_ENV = new Map<string, ConfigKey>(allKeys().map((k) => [envVarName(k), k]));

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

type Value = string | number | boolean;
/** A layer maps a key to its value, or to `undefined` when the layer explicitly unsets an optional key. */
type Layer = Map<ConfigKey, Value | undefined>;

function configError(message: string, meta?: Record<string, unknown>): FastposError {
  return new FastposError(ErrorCode.INVALID_CONFIG, message, meta);
}

function expectation(spec: ConfigKeySpec, from: 'text' | 'yaml'): string {
  switch (spec.type) {
    case 'integer':
      return `expected an integer from ${spec.min} to ${spec.max}`;
    case 'boolean':
      return from === 'text' ? 'expected true, false, 1 or 0' : 'expected true or false';
    case 'enum':
      return `expected one of ${spec.values.join(', ')}`;
    case 'string':
    case 'optional-string': {
      const min = spec.minLength ?? 0;
      if (min > 1) return `expected a string of at least ${min} characters`;
      return min === 1 ? 'expected a non-empty string' : 'expected a string';
    }
  }
}

/** How a rejected value is shown: strings quoted, secrets never echoed. */
function describeValue(value: unknown, spec: ConfigKeySpec): string {
  if (typeof value === 'string') {
    if (spec.type === 'optional-string' && spec.secret === true) return `a secret of ${value.length} characters`;
    return JSON.stringify(value);
  }
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function enumHint(spec: ConfigKeySpec, value: unknown): string {
  if (spec.type !== 'enum' || typeof value !== 'string') return '';
  const s = suggest(value, spec.values);
  return s === undefined ? '' : ` (did you mean "${s}"?)`;
}

function typeError(label: string, spec: ConfigKeySpec, value: unknown, from: 'text' | 'yaml', meta: Record<string, unknown>): FastposError {
  return configError(`${label}: ${expectation(spec, from)}, got ${describeValue(value, spec)}${enumHint(spec, value)}`, meta);
}

/** Checks a typed value (from YAML or from code). `null`/`''` unset an optional string. */
function checkTyped(spec: ConfigKeySpec, value: unknown, label: string, meta: Record<string, unknown>): Value | undefined {
  const fail = (): FastposError => typeError(label, spec, value, 'yaml', meta);
  switch (spec.type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < spec.min || value > spec.max) throw fail();
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw fail();
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) throw fail();
      return value;
    case 'string':
      if (typeof value !== 'string' || value.length < (spec.minLength ?? 0)) throw fail();
      return value;
    case 'optional-string':
      if (value === null || value === undefined || value === '') return undefined;
      if (typeof value !== 'string' || value.length < (spec.minLength ?? 0)) throw fail();
      return value;
  }
}

/** Parses a value given as text (a flag or an environment variable). Strict: `"12abc"` is not a number. */
function parseText(spec: ConfigKeySpec, raw: string, label: string, meta: Record<string, unknown>): Value | undefined {
  const fail = (): FastposError => typeError(label, spec, raw, 'text', meta);
  switch (spec.type) {
    case 'integer': {
      if (!/^[+-]?[0-9]+$/.test(raw)) throw fail();
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) throw fail();
      return n;
    }
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw fail();
    case 'enum':
    case 'string':
    case 'optional-string':
      return checkTyped(spec, raw, label, meta);
  }
}

function resolvePath(spec: ConfigKeySpec, value: Value | undefined, baseDir: string): Value | undefined {
  if ((spec.type === 'string' || spec.type === 'optional-string') && spec.path === true && typeof value === 'string') {
    return resolve(baseDir, value);
  }
  return value;
}

// ---------------------------------------------------------------------------
// "did you mean"
// ---------------------------------------------------------------------------

function normalizeName(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The candidate closest to `input` (ignoring case, `-` and `_`), if it is close enough to be a likely typo. */
function suggest(input: string, candidates: readonly string[]): string | undefined {
  const n = normalizeName(input);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(n.length / 4)) + 1;
  for (const c of candidates) {
    const d = editDistance(n, normalizeName(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function didYouMean(s: string | undefined): string {
  return s === undefined ? '' : ` (did you mean "${s}"?)`;
}

// ---------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------

interface ParsedArgv {
  readonly layer: Layer;
  readonly rest: string[];
  readonly configFile: string | undefined;
}

function parseArgv(argv: readonly string[], cwd: string): ParsedArgv {
  const layer: Layer = new Map();
  const rest: string[] = [];
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) continue;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      rest.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) {
      throw configError(`${arg}: unknown flag (flags are spelled --kebab-case, e.g. --data-dir)`, { source: 'flag', name: arg });
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const flag = `--${name}`;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw configError(`${flag}: missing value (write ${flag} <value> or ${flag}=<value>)`, { source: 'flag', name: flag });
      }
      i++;
      return next;
    };

    if (name === CONFIG_FLAG) {
      const v = takeValue();
      if (v === '') throw configError(`${flag}: missing value (expected a path to a YAML file)`, { source: 'flag', name: flag });
      configFile = v;
      continue;
    }

    const key = KEY_BY_FLAG.get(name);
    if (key !== undefined) {
      const spec: ConfigKeySpec = CONFIG_KEYS[key];
      const meta = { source: 'flag', key, name: flag };
      if (spec.type === 'boolean' && inline === undefined) {
        const next = argv[i + 1];
        if (next === 'true' || next === 'false') {
          throw configError(`${flag}: a boolean flag takes no separate value; write ${flag}=${next}${next === 'false' ? ` or --no-${name}` : ''}`, meta);
        }
        layer.set(key, true);
      } else {
        layer.set(key, resolvePath(spec, parseText(spec, takeValue(), flag, meta), cwd));
      }
      continue;
    }

    if (name.startsWith('no-')) {
      const positive = KEY_BY_FLAG.get(name.slice(3));
      if (positive !== undefined) {
        const meta = { source: 'flag', key: positive, name: flag };
        if (CONFIG_KEYS[positive].type !== 'boolean') {
          throw configError(`${flag}: "--no-" applies only to boolean flags; --${name.slice(3)} takes a value`, meta);
        }
        if (inline !== undefined) throw configError(`${flag}: takes no value (write --${name.slice(3)}=${inline} instead)`, meta);
        layer.set(positive, false);
        continue;
      }
    }

    const candidates = [CONFIG_FLAG, ...KEY_BY_FLAG.keys()];
    const s = suggest(name, candidates) ?? suggest(name.replace(/^no-/, ''), candidates);
    throw configError(`${flag}: unknown flag${didYouMean(s === undefined ? undefined : `--${s}`)}`, { source: 'flag', name: flag });
  }
  return { layer, rest, configFile };
}

function parseEnv(env: Readonly<Record<string, string | undefined>>, cwd: string): Layer {
  const layer: Layer = new Map();
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const key = KEY_BY_ENV.get(name);
    if (key === undefined) {
      const s = suggest(name.slice(ENV_PREFIX.length), [...KEY_BY_ENV.keys()].map((e) => e.slice(ENV_PREFIX.length)));
      throw configError(`${name}: unknown environment variable${didYouMean(s === undefined ? undefined : ENV_PREFIX + s)}`, {
        source: 'env',
        name,
      });
    }
    const spec: ConfigKeySpec = CONFIG_KEYS[key];
    layer.set(key, resolvePath(spec, parseText(spec, raw, name, { source: 'env', key, name }), cwd));
  }
  return layer;
}

/** Parses the YAML text of a config file; relative paths in it resolve against `baseDir` (the file's directory). */
function parseFile(text: string, display: string, baseDir: string): Layer {
  const doc = parseDocument(text, { prettyErrors: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) {
    const firstLine = (problem.message.split('\n')[0] ?? '').replace(/:\s*$/, '');
    throw configError(`${display}: invalid YAML: ${firstLine}`, { source: 'file', file: display });
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (e) {
    // The yaml library refuses alias expansions that would blow up (a "billion laughs" file) here.
    throw configError(`${display}: invalid YAML: ${e instanceof Error ? e.message : String(e)}`, { source: 'file', file: display });
  }
  const layer: Layer = new Map();
  if (data === null || data === undefined) return layer; // empty file, or only comments
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw configError(`${display}: expected a mapping of config keys to values, got ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}`, {
      source: 'file',
      file: display,
    });
  }
  const record = data as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!Object.hasOwn(CONFIG_KEYS, name)) {
      throw configError(`${display}: key "${name}" is unknown${didYouMean(suggest(name, allKeys()))}`, { source: 'file', file: display, name });
    }
    const key = name as ConfigKey;
    const spec: ConfigKeySpec = CONFIG_KEYS[key];
    const value = checkTyped(spec, record[name], `${display}: key "${key}"`, { source: 'file', file: display, key });
    layer.set(key, resolvePath(spec, value, baseDir));
  }
  return layer;
}

// ---------------------------------------------------------------------------
// loadConfig
// ---------------------------------------------------------------------------

export interface LoadConfigOptions {
  /** Arguments after the command: flags (`--key value`, `--key=value`, `--flag`, `--no-flag`, `--config <path>`) and positionals. */
  readonly argv: readonly string[];
  /** Usually `process.env`. Every `FASTPOS_*` variable must name a key. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The config file. When undefined: the `--config` flag in `argv`, else `<dataDir>/config.yaml`
   * if it exists, where dataDir comes from the flag, the environment or the default (not from a file).
   * A file named explicitly must exist.
   */
  readonly configFile?: string | undefined;
  /** Reads a file as UTF-8; `undefined` when it does not exist. Default: `fs.readFileSync`. The loader's only I/O. */
  readonly readFile?: ((path: string) => string | undefined) | undefined;
  /** Base for relative paths given in flags, the environment and `configFile`. Default: `process.cwd()`. */
  readonly cwd?: string | undefined;
}

export interface LoadedConfig {
  readonly config: NodeConfig;
  readonly sources: Record<ConfigKey, ConfigSource>;
  /** Positional arguments, in order (everything after `--` included). */
  readonly rest: string[];
  /** Absolute path of the config file that was read, if any. */
  readonly configFile: string | undefined;
}

function defaultReadFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function displayPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/**
 * Loads the node configuration. Precedence, per key: flag > `FASTPOS_*` environment variable >
 * config file (YAML) > default. Unknown keys and ill-typed values in any source are
 * `FastposError(INVALID_CONFIG)` naming the key and the source.
 */
export function loadConfig(opts: LoadConfigOptions): LoadedConfig {
  const cwd = opts.cwd ?? process.cwd();
  const readFile = opts.readFile ?? defaultReadFile;

  const argv = parseArgv(opts.argv, cwd);
  const envLayer = parseEnv(opts.env, cwd);

  // Which file: explicit (option, then --config) must exist; the default one may not.
  const explicit = opts.configFile ?? argv.configFile;
  let fileLayer: Layer = new Map();
  let filePath: string | undefined;
  {
    let path: string;
    let display: string;
    if (explicit !== undefined) {
      if (explicit === '') throw configError('config file path is empty', { source: 'file' });
      path = resolve(cwd, explicit);
      display = explicit;
    } else {
      const dataDir = argv.layer.get('dataDir') ?? envLayer.get('dataDir') ?? resolve(cwd, CONFIG_KEYS.dataDir.default);
      path = resolve(String(dataDir), DEFAULT_CONFIG_FILE_NAME);
      display = displayPath(path, cwd);
    }
    let text: string | undefined;
    try {
      text = readFile(path);
    } catch (e) {
      throw configError(`${display}: cannot read config file: ${e instanceof Error ? e.message : String(e)}`, { source: 'file', file: display });
    }
    if (text === undefined && explicit !== undefined) {
      throw configError(`${display}: config file not found`, { source: 'file', file: display });
    }
    if (text !== undefined) {
      fileLayer = parseFile(text, display, dirname(path));
      filePath = path;
    }
  }

  const config: Record<string, Value> = {};
  const sources = {} as Record<ConfigKey, ConfigSource>;
  const layers: readonly [ConfigSource, Layer][] = [
    ['flag', argv.layer],
    ['env', envLayer],
    ['file', fileLayer],
  ];
  for (const key of allKeys()) {
    const spec: ConfigKeySpec = CONFIG_KEYS[key];
    const hit = layers.find(([, layer]) => layer.has(key));
    let value: Value | undefined;
    if (hit !== undefined) {
      sources[key] = hit[0];
      value = hit[1].get(key);
    } else {
      sources[key] = 'default';
      value = spec.type === 'optional-string' ? undefined : resolvePath(spec, spec.default, cwd);
    }
    if (value !== undefined) config[key] = value;
  }
  if (typeof config.corsOrigins === 'string') corsOriginList(config.corsOrigins);
  return { config: config as NodeConfig, sources, rest: argv.rest, configFile: filePath };
}

/**
 * The origins of `corsOrigins`: a comma-separated list whose entries are each
 * `*` (any origin, alone) or an origin as browsers send it in the `Origin`
 * header, `http(s)://host[:port]` in lowercase, without a path and without
 * the scheme's default port. Throws INVALID_CONFIG naming the entry that is
 * not one.
 */
export function corsOriginList(text: string): string[] {
  const entries = text.split(',').map((e) => e.trim());
  const fail = (message: string): never => {
    throw configError(`corsOrigins: ${message}`, { key: 'corsOrigins' });
  };
  for (const entry of entries) {
    if (entry === '') fail(`${JSON.stringify(text)} has an empty entry: list origins separated by single commas`);
    if (entry === '*') {
      if (entries.length > 1) fail('"*" allows every origin: give it alone, not with other origins');
      continue;
    }
    let origin: string | undefined;
    let protocol = '';
    try {
      const u = new URL(entry);
      origin = u.origin;
      protocol = u.protocol;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || (protocol !== 'http:' && protocol !== 'https:')) {
      fail(`${JSON.stringify(entry)} is not an origin: write * or scheme://host[:port] with scheme http or https, e.g. https://explorer.example`);
    }
    if (origin !== entry) {
      fail(`${JSON.stringify(entry)} is not an origin as browsers send it: write ${JSON.stringify(origin)} (lowercase, no path or trailing slash, no default port)`);
    }
  }
  return entries;
}

/**
 * syncTrustHeight and syncTrustHash come together, and the hash is a block
 * hash (64 lowercase hex); checked when the node starts (each key alone is
 * well-typed, so loading accepts either).
 */
export function checkSyncTrust(config: Pick<NodeConfig, 'syncTrustHeight' | 'syncTrustHash'>): void {
  const { syncTrustHeight: height, syncTrustHash: hash } = config;
  if (hash !== undefined && !/^[0-9a-f]{64}$/.test(hash)) {
    throw configError(`syncTrustHash must be 64 lowercase hex characters (a block hash), got ${JSON.stringify(hash)}`, { key: 'syncTrustHash' });
  }
  if (height !== 0 && hash === undefined) {
    throw configError(`syncTrustHeight is ${height} but syncTrustHash is not set: give the hash of the block at that height too`, { key: 'syncTrustHeight' });
  }
  if (height === 0 && hash !== undefined) {
    throw configError('syncTrustHash is set but syncTrustHeight is 0: give the height of the block it names', { key: 'syncTrustHash' });
  }
}

// ---------------------------------------------------------------------------
// Rendering: config.yaml and the docs table
// ---------------------------------------------------------------------------

function typeSummary(spec: ConfigKeySpec): string {
  switch (spec.type) {
    case 'integer':
      return `integer ${spec.min}–${spec.max}`;
    case 'boolean':
      return 'boolean';
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'string':
    case 'optional-string': {
      const parts = [spec.path === true ? 'path' : 'string'];
      if ((spec.minLength ?? 0) > 1) parts.push(`≥ ${spec.minLength} characters`);
      if (spec.type === 'optional-string') parts.push('optional');
      return parts.length === 1 ? parts[0] ?? '' : `${parts[0]} (${parts.slice(1).join(', ')})`;
    }
  }
}

function flagSummary(key: ConfigKey): string {
  const f = flagName(key);
  return CONFIG_KEYS[key].type === 'boolean' ? `${f}, --no-${f.slice(2)}` : `${f} <value>`;
}

function yamlScalar(value: Value): string {
  // JSON strings are valid YAML double-quoted scalars, and quoting keeps "true" or "0.0.0.0" a string.
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Commented YAML with every key: its description, type, default, flag and environment
 * variable. Keys present in `config` are written as values; the others are commented
 * out at their default. Loading the output with `loadConfig` gives back the same values
 * (paths are written as given: relative ones resolve against the file's directory).
 */
export function renderConfigYaml(config: Partial<NodeConfig>): string {
  const given = config as Readonly<Record<string, unknown>>;
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(CONFIG_KEYS, name)) throw configError(`renderConfigYaml: key "${name}" is unknown${didYouMean(suggest(name, allKeys()))}`);
  }
  const lines = [
    '# fastpos node configuration (YAML).',
    '# Precedence, per key: command-line flag > FASTPOS_* environment variable > this file > default.',
    "# Relative paths in this file resolve against this file's directory.",
    '# Keys that are commented out take their default. Reference: docs/configuration.md',
  ];
  for (const key of allKeys()) {
    const spec: ConfigKeySpec = CONFIG_KEYS[key];
    const raw = given[key];
    const value = raw === undefined ? undefined : checkTyped(spec, raw, `renderConfigYaml: key "${key}"`, { key });
    const def = spec.type === 'optional-string' ? 'unset' : yamlScalar(spec.default);
    lines.push('', `# ${spec.description}`, `# ${typeSummary(spec)}; default: ${def}; flag ${flagName(key)}; env ${envVarName(key)}`);
    if (value !== undefined) lines.push(`${key}: ${yamlScalar(value)}`);
    else lines.push(spec.type === 'optional-string' ? `# ${key}:` : `# ${key}: ${def}`);
  }
  return lines.join('\n') + '\n';
}

/** Markdown table of every key: type, default, flag, environment variable and description. */
export function configReference(): string {
  const rows = [
    '| Key | Type | Default | Flag | Environment variable | Description |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const key of allKeys()) {
    const spec: ConfigKeySpec = CONFIG_KEYS[key];
    const def = spec.type === 'optional-string' ? 'unset' : `\`${String(spec.default)}\``;
    const flag = flagSummary(key)
      .split(', ')
      .map((f) => `\`${f}\``)
      .join(', ');
    const description = spec.description.replace(/</g, '&lt;').replace(/>/g, '&gt;');
    rows.push(`| \`${key}\` | ${typeSummary(spec)} | ${def} | ${flag} | \`${envVarName(key)}\` | ${description} |`);
  }
  return rows.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// The table checks itself once, at load: a bad entry is a bug, not a config error.
// ---------------------------------------------------------------------------

for (const key of allKeys()) {
  const spec: ConfigKeySpec = CONFIG_KEYS[key];
  assert(/^[a-z][A-Za-z0-9]*$/.test(key), `config key ${key} is camelCase`);
  assert(spec.description !== '' && !/[|\n]/.test(spec.description), `config key ${key} has a one-line description without "|"`);
  if (spec.type !== 'optional-string') {
    let ok = true;
    try {
      checkTyped(spec, spec.default, key, {});
    } catch {
      ok = false;
    }
    assert(ok, `default of config key ${key} is valid`);
  }
}
assert(KEY_BY_FLAG.size === allKeys().length && !KEY_BY_FLAG.has(CONFIG_FLAG), 'config flag names are unique');
assert(KEY_BY_ENV.size === allKeys().length, 'config env var names are unique');
