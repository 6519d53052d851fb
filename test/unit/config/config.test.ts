import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONFIG_KEYS,
  DEFAULT_CONFIG,
  checkSyncTrust,
  configReference,
  corsOriginList,
  envVarName,
  flagName,
  loadConfig,
  renderConfigYaml,
  type ConfigKey,
  type LoadConfigOptions,
  type NodeConfig,
} from '../../../src/config/index.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const tmpRoot = mkdtempSync(join(tmpdir(), 'fastpos-config-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCount = 0;
/** A fresh empty directory under the test's temp root. */
function freshDir(): string {
  const d = join(tmpRoot, `d${tmpCount++}`);
  mkdirSync(d, { recursive: true });
  return d;
}
function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** loadConfig with an empty environment, no flags and a cwd of its own (so no stray config.yaml is read). */
function load(opts: Partial<LoadConfigOptions> = {}) {
  return loadConfig({ argv: [], env: {}, cwd: opts.cwd ?? freshDir(), ...opts });
}

/** Asserts that `fn` throws INVALID_CONFIG and that the message contains every one of `parts`. */
function assertConfigError(fn: () => unknown, ...parts: string[]): FastposError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FastposError, `expected a FastposError, got ${String(caught)}`);
  assert.equal(caught.code, 'INVALID_CONFIG');
  assert.equal(caught.code, ErrorCode.INVALID_CONFIG);
  for (const p of parts) assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} should contain ${JSON.stringify(p)}`);
  return caught;
}

const KEYS = Object.keys(CONFIG_KEYS) as ConfigKey[];

// ---------------------------------------------------------------------------
// the table and the derived names
// ---------------------------------------------------------------------------

test('names are derived from the keys', () => {
  assert.equal(flagName('mempoolMaxTxs'), '--mempool-max-txs');
  assert.equal(envVarName('mempoolMaxTxs'), 'FASTPOS_MEMPOOL_MAX_TXS');
  assert.equal(flagName('port'), '--port');
  assert.equal(envVarName('keepAliveTimeoutMs'), 'FASTPOS_KEEP_ALIVE_TIMEOUT_MS');
  assert.equal(new Set(KEYS.map(flagName)).size, KEYS.length);
  assert.equal(new Set(KEYS.map(envVarName)).size, KEYS.length);
});

test('the specified defaults', () => {
  const expected: NodeConfig = {
    resetSignGuard: false,
    dataDir: '.fastpos',
    host: '127.0.0.1',
    port: 26657,
    stateBackend: 'sqlite',
    logLevel: 'info',
    logFormat: 'auto',
    stallWarnMs: 30000,
    behindWarnBlocks: 10,
    devSigning: false,
    allowDevKeys: false,
    minBlockIntervalMs: 30,
    soloBlockIntervalMs: 5,
    blockIntervalPerKtps: 8,
    maxBlockIntervalMs: 60,
    commitGatherMs: 50,
    idleBlockIntervalMs: 1000,
    timeoutProposeMs: 1000,
    timeoutPrevoteMs: 500,
    timeoutPrecommitMs: 500,
    timeoutDeltaMs: 500,
    maxPeers: 50,
    peerDiscoveryIntervalMs: 30000,
    peerDiscoveredTtlMs: 600000,
    peerAllowLoopback: 'auto',
    peerAllowPrivate: 'auto',
    peerAllowDns: true,
    syncRequestTimeoutMs: 10000,
    syncMaxResponseBytes: 0,
    syncMode: 'auto',
    snapshotSyncMinLag: 1000,
    syncTrustHeight: 0,
    snapshotEveryBlocks: 1000,
    snapshotKeep: 2,
    snapshotChunkBytes: 4_194_304,
    snapshotSyncTimeoutMs: 600_000,
    pruneKeepBlocks: 0,
    backupEveryBlocks: 0,
    backupKeep: 3,
    p2pRateLimit: 2000,
    mempoolMaxTxs: 50000,
    mempoolMaxBytes: 67108864,
    mempoolMaxPerSender: 1000,
    mempoolNonceWindow: 1000,
    mempoolTtlBlocks: 1200,
    mempoolReplaceBumpPercent: 10,
    droppedRetentionMax: 100000,
    droppedRetentionMs: 600000,
    verifyWorkers: 2,
    bodyLimitBytes: 1048576,
    txBatchMaxTxs: 1000,
    txBatchMaxBytes: 4194304,
    rateLimitMax: 5000,
    rateLimitWindowMs: 1000,
    rateLimitReadBytes: 67108864,
    maxConnections: 1024,
    maxConnectionsPerIp: 128,
    requestTimeoutMs: 30000,
    headersTimeoutMs: 10000,
    p2pPort: 0,
    p2pMaxConnections: 256,
    p2pStreams: true,
    p2pStreamMaxBufferedBytes: 16777216,
    p2pStreamIdleTimeoutMs: 30000,
    p2pStreamMaxInbound: 128,
    p2pStreamMaxRefused: 1000,
    keepAliveTimeoutMs: 72000,
    shutdownTimeoutMs: 10000,
    metrics: true,
  };
  assert.deepEqual(DEFAULT_CONFIG, expected);
  assert.ok(Object.isFrozen(DEFAULT_CONFIG));
});

test('with no source every key is its default; dataDir resolves against the cwd; optional keys are absent', () => {
  const cwd = freshDir();
  const { config, sources, rest, configFile } = load({ cwd });
  assert.deepEqual(config, { ...DEFAULT_CONFIG, dataDir: join(cwd, '.fastpos') });
  assert.equal('genesisFile' in config, false);
  assert.equal('validatorKeyFile' in config, false);
  assert.equal('adminToken' in config, false);
  for (const k of KEYS) assert.equal(sources[k], 'default', k);
  assert.deepEqual(rest, []);
  assert.equal(configFile, undefined);
});

// ---------------------------------------------------------------------------
// precedence
// ---------------------------------------------------------------------------

test('precedence: flag > env > file > default, for each layer and each type kind', () => {
  const dir = freshDir();
  const file = writeFile(
    dir,
    'c.yaml',
    ['port: 1001', 'metrics: false', 'logLevel: warn', 'host: file.example', 'adminToken: file-token-0123456789', 'verifyWorkers: 3'].join('\n'),
  );
  const env = {
    FASTPOS_PORT: '1002',
    FASTPOS_METRICS: 'true',
    FASTPOS_LOG_LEVEL: 'error',
    FASTPOS_ADMIN_TOKEN: 'env-token-0123456789',
  };
  const argv = ['--port', '1003', '--log-level=debug'];

  // all three layers
  let r = load({ argv, env, configFile: file });
  assert.equal(r.config.port, 1003);
  assert.equal(r.sources.port, 'flag');
  assert.equal(r.config.logLevel, 'debug');
  assert.equal(r.sources.logLevel, 'flag');
  assert.equal(r.config.metrics, true);
  assert.equal(r.sources.metrics, 'env');
  assert.equal(r.config.adminToken, 'env-token-0123456789');
  assert.equal(r.sources.adminToken, 'env');
  assert.equal(r.config.host, 'file.example');
  assert.equal(r.sources.host, 'file');
  assert.equal(r.config.verifyWorkers, 3);
  assert.equal(r.sources.verifyWorkers, 'file');
  assert.equal(r.config.rateLimitMax, 5000);
  assert.equal(r.sources.rateLimitMax, 'default');
  assert.equal(r.configFile, file);

  // without flags, env wins over the file
  r = load({ env, configFile: file });
  assert.equal(r.config.port, 1002);
  assert.equal(r.sources.port, 'env');
  assert.equal(r.config.logLevel, 'error');

  // without env, the file wins over the default
  r = load({ configFile: file });
  assert.equal(r.config.port, 1001);
  assert.equal(r.sources.port, 'file');
  assert.equal(r.config.metrics, false);
  assert.equal(r.config.logLevel, 'warn');
  assert.equal(r.config.adminToken, 'file-token-0123456789');

  // flag over file with no env
  r = load({ argv: ['--no-metrics', '--port=7'], configFile: file });
  assert.equal(r.config.port, 7);
  assert.equal(r.sources.port, 'flag');
  assert.equal(r.config.metrics, false);
  assert.equal(r.sources.metrics, 'flag');

  // flag over env with no file
  r = load({ argv: ['--port', '9'], env: { FASTPOS_PORT: '8' } });
  assert.equal(r.config.port, 9);
  assert.equal(r.sources.port, 'flag');
});

test('an empty value unsets an optional key, overriding lower layers', () => {
  const dir = freshDir();
  const file = writeFile(dir, 'c.yaml', 'adminToken: file-token-0123456789\ngenesisFile: g.json\n');
  let r = load({ configFile: file, env: { FASTPOS_ADMIN_TOKEN: '' } });
  assert.equal('adminToken' in r.config, false);
  assert.equal(r.sources.adminToken, 'env');
  assert.equal(r.config.genesisFile, join(dir, 'g.json'));
  r = load({ configFile: file, argv: ['--genesis-file='] });
  assert.equal('genesisFile' in r.config, false);
  assert.equal(r.sources.genesisFile, 'flag');
  // in YAML, an empty value (null) or "" unsets too
  const f2 = writeFile(dir, 'c2.yaml', 'adminToken:\ngenesisFile: ""\n');
  r = load({ configFile: f2 });
  assert.equal('adminToken' in r.config, false);
  assert.equal('genesisFile' in r.config, false);
  assert.equal(r.sources.adminToken, 'file');
});

test('environment: undefined values and non-FASTPOS variables are ignored; booleans accept true/false/1/0', () => {
  const r = load({ env: { PATH: '/bin', fastpos_port: 'x', FASTPOS_PORT: undefined, FASTPOS_DEV_SIGNING: '1', FASTPOS_METRICS: '0' } });
  assert.equal(r.config.port, 26657);
  assert.equal(r.sources.port, 'default');
  assert.equal(r.config.devSigning, true);
  assert.equal(r.config.metrics, false);
  const r2 = load({ env: { FASTPOS_DEV_SIGNING: 'true', FASTPOS_METRICS: 'false' } });
  assert.equal(r2.config.devSigning, true);
  assert.equal(r2.config.metrics, false);
});

// ---------------------------------------------------------------------------
// flag syntax
// ---------------------------------------------------------------------------

test('flags: --key value, --key=value, booleans, --no-x, positionals, --', () => {
  const r = load({
    argv: ['start', '--port', '80', '--host=0.0.0.0', '--dev-signing', 'extra', '--allow-dev-keys=true', '--metrics=false', '--', '--port', '5'],
  });
  assert.equal(r.config.port, 80);
  assert.equal(r.config.host, '0.0.0.0');
  assert.equal(r.config.devSigning, true);
  assert.equal(r.config.allowDevKeys, true);
  assert.equal(r.config.metrics, false);
  assert.deepEqual(r.rest, ['start', 'extra', '--port', '5']);

  const r2 = load({ argv: ['--no-metrics', '--dev-signing=false', '--no-allow-dev-keys'] });
  assert.equal(r2.config.metrics, false);
  assert.equal(r2.sources.metrics, 'flag');
  assert.equal(r2.config.devSigning, false);
  assert.equal(r2.sources.devSigning, 'flag');
  assert.equal(r2.config.allowDevKeys, false);

  // --no-x overrides env and file too
  const dir = freshDir();
  const file = writeFile(dir, 'c.yaml', 'devSigning: true\n');
  const r3 = load({ argv: ['--no-dev-signing'], env: { FASTPOS_DEV_SIGNING: 'true' }, configFile: file });
  assert.equal(r3.config.devSigning, false);
  assert.equal(r3.sources.devSigning, 'flag');

  // the last occurrence of a flag wins; "-" alone is a positional
  const r4 = load({ argv: ['--port', '1', '--port=2', '-'] });
  assert.equal(r4.config.port, 2);
  assert.deepEqual(r4.rest, ['-']);

  // values that look like numbers but are strings stay strings
  const r5 = load({ argv: ['--admin-token', '1234567890123456'] });
  assert.equal(r5.config.adminToken, '1234567890123456');
});

// ---------------------------------------------------------------------------
// the config file: where it is looked for
// ---------------------------------------------------------------------------

test('config file: <dataDir>/config.yaml is read when it exists, dataDir from flag, env or default', () => {
  const cwd = freshDir();
  mkdirSync(join(cwd, '.fastpos'));
  writeFile(join(cwd, '.fastpos'), 'config.yaml', 'port: 2001\n');
  let r = load({ cwd });
  assert.equal(r.config.port, 2001);
  assert.equal(r.sources.port, 'file');
  assert.equal(r.configFile, join(cwd, '.fastpos', 'config.yaml'));

  mkdirSync(join(cwd, 'a'));
  writeFile(join(cwd, 'a'), 'config.yaml', 'port: 2002\n');
  r = load({ cwd, env: { FASTPOS_DATA_DIR: 'a' } });
  assert.equal(r.config.port, 2002);
  assert.equal(r.config.dataDir, join(cwd, 'a'));

  mkdirSync(join(cwd, 'b'));
  writeFile(join(cwd, 'b'), 'config.yaml', 'port: 2003\n');
  r = load({ cwd, env: { FASTPOS_DATA_DIR: 'a' }, argv: ['--data-dir', 'b'] });
  assert.equal(r.config.port, 2003);
  assert.equal(r.config.dataDir, join(cwd, 'b'));

  // a data dir without config.yaml is fine
  r = load({ cwd, argv: ['--data-dir', 'nothing-here'] });
  assert.equal(r.configFile, undefined);
  assert.equal(r.config.port, 26657);
});

test('config file: --config <path>, --config=<path> and the configFile option', () => {
  const cwd = freshDir();
  writeFile(cwd, 'one.yaml', 'port: 3001\n');
  writeFile(cwd, 'two.yaml', 'port: 3002\n');
  assert.equal(load({ cwd, argv: ['--config', 'one.yaml'] }).config.port, 3001);
  assert.equal(load({ cwd, argv: ['--config=two.yaml'] }).config.port, 3002);
  assert.equal(load({ cwd, configFile: join(cwd, 'one.yaml') }).config.port, 3001);
  // the option, set by the caller, wins over --config
  assert.equal(load({ cwd, configFile: 'one.yaml', argv: ['--config', 'two.yaml'] }).config.port, 3001);
  // an explicit config file replaces <dataDir>/config.yaml
  mkdirSync(join(cwd, '.fastpos'));
  writeFile(join(cwd, '.fastpos'), 'config.yaml', 'port: 3003\nhost: h\n');
  const r = load({ cwd, argv: ['--config', 'one.yaml'] });
  assert.equal(r.config.port, 3001);
  assert.equal(r.config.host, '127.0.0.1');
});

test('config file: the loader reads only through readFile, exactly the file it needs', () => {
  const reads: string[] = [];
  const readFile = (p: string): string | undefined => {
    reads.push(p);
    return p === '/etc/fastpos/node.yaml' ? 'port: 4001\n' : undefined;
  };
  const r = loadConfig({ argv: ['--config', '/etc/fastpos/node.yaml'], env: {}, readFile, cwd: '/srv' });
  assert.equal(r.config.port, 4001);
  assert.deepEqual(reads, ['/etc/fastpos/node.yaml']);
  reads.length = 0;
  loadConfig({ argv: [], env: { FASTPOS_DATA_DIR: '/var/lib/fastpos' }, readFile, cwd: '/srv' });
  assert.deepEqual(reads, ['/var/lib/fastpos/config.yaml']);
});

// ---------------------------------------------------------------------------
// relative paths
// ---------------------------------------------------------------------------

test('relative paths: in a file against its directory, in flags and env against the cwd', () => {
  const cwd = freshDir();
  const confDir = join(cwd, 'etc', 'node');
  mkdirSync(confDir, { recursive: true });
  const file = writeFile(confDir, 'config.yaml', 'dataDir: data\ngenesisFile: ../genesis.json\nvalidatorKeyFile: /abs/key.json\n');
  let r = load({ cwd, configFile: 'etc/node/config.yaml' });
  assert.equal(r.configFile, file);
  assert.equal(r.config.dataDir, join(confDir, 'data'));
  assert.equal(r.config.genesisFile, join(cwd, 'etc', 'genesis.json'));
  assert.equal(r.config.validatorKeyFile, '/abs/key.json');

  r = load({ cwd, configFile: file, argv: ['--genesis-file', 'g.json'], env: { FASTPOS_VALIDATOR_KEY_FILE: 'keys/k.json', FASTPOS_DATA_DIR: 'dd' } });
  assert.equal(r.config.genesisFile, join(cwd, 'g.json'));
  assert.equal(r.config.validatorKeyFile, join(cwd, 'keys', 'k.json'));
  assert.equal(r.config.dataDir, join(cwd, 'dd'));

  // the default <dataDir>/config.yaml: its relative paths resolve against dataDir
  mkdirSync(join(cwd, 'dd'));
  writeFile(join(cwd, 'dd'), 'config.yaml', 'genesisFile: genesis.json\n');
  r = load({ cwd, argv: ['--data-dir=dd'] });
  assert.equal(r.config.genesisFile, join(cwd, 'dd', 'genesis.json'));

  // non-path strings are never resolved
  r = load({ cwd, argv: ['--host', 'localhost'] });
  assert.equal(r.config.host, 'localhost');
});

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

test('error: unknown key in each source, with a suggestion', () => {
  const dir = freshDir();
  const file = writeFile(dir, 'config.yaml', 'mempoolMaxTx: 5\n');
  assertConfigError(() => load({ configFile: file }), 'config.yaml', 'key "mempoolMaxTx" is unknown', 'did you mean "mempoolMaxTxs"?');
  const snake = writeFile(dir, 'snake.yaml', 'mempool_max_txs: 5\n');
  assertConfigError(() => load({ configFile: snake }), 'snake.yaml', '"mempool_max_txs" is unknown', 'did you mean "mempoolMaxTxs"?');
  const far = writeFile(dir, 'far.yaml', 'colour: blue\n');
  const e = assertConfigError(() => load({ configFile: far }), 'far.yaml', 'key "colour" is unknown');
  assert.ok(!e.message.includes('did you mean'));

  assertConfigError(() => load({ argv: ['--mempool-max-tx', '5'] }), '--mempool-max-tx', 'unknown flag', 'did you mean "--mempool-max-txs"?');
  assertConfigError(() => load({ argv: ['--mempoolMaxTxs=5'] }), '--mempoolMaxTxs', 'unknown flag', 'did you mean "--mempool-max-txs"?');
  assertConfigError(() => load({ argv: ['--no-metric'] }), '--no-metric', 'unknown flag', 'did you mean');
  assertConfigError(() => load({ argv: ['-p', '5'] }), '-p', 'unknown flag');

  assertConfigError(() => load({ env: { FASTPOS_MEMPOOL_MAX_TX: '5' } }), 'FASTPOS_MEMPOOL_MAX_TX', 'unknown environment variable', 'did you mean "FASTPOS_MEMPOOL_MAX_TXS"?');
  assertConfigError(() => load({ env: { FASTPOS_PROT: '5' } }), 'FASTPOS_PROT', 'did you mean "FASTPOS_PORT"?');
});

test('error: wrong type for each type kind, in each source', () => {
  const dir = freshDir();
  // integer
  assertConfigError(() => load({ argv: ['--port', 'abc'] }), '--port: expected an integer from 0 to 65535, got "abc"');
  assertConfigError(() => load({ argv: ['--port=12abc'] }), '--port', '"12abc"');
  assertConfigError(() => load({ argv: ['--port=1.5'] }), '--port', '"1.5"');
  assertConfigError(() => load({ argv: ['--port= 80'] }), '--port', '" 80"');
  assertConfigError(() => load({ argv: ['--port=0x50'] }), '--port', '"0x50"');
  assertConfigError(() => load({ argv: ['--port='] }), '--port', 'got ""');
  assertConfigError(() => load({ env: { FASTPOS_MEMPOOL_MAX_TXS: '12abc' } }), 'FASTPOS_MEMPOOL_MAX_TXS', 'expected an integer', '"12abc"');
  assertConfigError(() => load({ env: { FASTPOS_PORT: '1e3' } }), 'FASTPOS_PORT', '"1e3"');
  assertConfigError(() => load({ configFile: writeFile(dir, 'i1.yaml', 'port: "80"\n') }), 'i1.yaml', 'key "port"', 'expected an integer', 'got "80"');
  assertConfigError(() => load({ configFile: writeFile(dir, 'i2.yaml', 'port: 80.5\n') }), 'key "port"', 'got 80.5');
  assertConfigError(() => load({ configFile: writeFile(dir, 'i3.yaml', 'port: [80]\n') }), 'key "port"', 'got a list');
  assertConfigError(() => load({ configFile: writeFile(dir, 'i4.yaml', 'port:\n') }), 'key "port"', 'got an empty value');
  // boolean
  assertConfigError(() => load({ argv: ['--metrics=yes'] }), '--metrics', 'expected true, false, 1 or 0', '"yes"');
  assertConfigError(() => load({ env: { FASTPOS_METRICS: 'on' } }), 'FASTPOS_METRICS', 'expected true, false, 1 or 0', '"on"');
  assertConfigError(() => load({ env: { FASTPOS_METRICS: 'TRUE' } }), 'FASTPOS_METRICS', '"TRUE"');
  assertConfigError(() => load({ configFile: writeFile(dir, 'b1.yaml', 'metrics: yes\n') }), 'key "metrics"', 'expected true or false', 'got "yes"');
  assertConfigError(() => load({ configFile: writeFile(dir, 'b2.yaml', 'devSigning: 1\n') }), 'key "devSigning"', 'got 1');
  // string
  assertConfigError(() => load({ configFile: writeFile(dir, 's1.yaml', 'host: 127\n') }), 'key "host"', 'expected a non-empty string', 'got 127');
  assertConfigError(() => load({ configFile: writeFile(dir, 's2.yaml', 'dataDir: {a: 1}\n') }), 'key "dataDir"', 'got a mapping');
  assertConfigError(() => load({ argv: ['--host='] }), '--host', 'expected a non-empty string');
  assertConfigError(() => load({ env: { FASTPOS_DATA_DIR: '' } }), 'FASTPOS_DATA_DIR', 'expected a non-empty string');
  // enum
  assertConfigError(() => load({ argv: ['--state-backend', 'sqlit'] }), '--state-backend', 'expected one of sqlite, snapshot', 'got "sqlit"', 'did you mean "sqlite"?');
  assertConfigError(() => load({ env: { FASTPOS_LOG_LEVEL: 'verbose' } }), 'FASTPOS_LOG_LEVEL', 'expected one of fatal, error, warn, info, debug, trace, silent');
  assertConfigError(() => load({ configFile: writeFile(dir, 'e1.yaml', 'logLevel: INFO\n') }), 'key "logLevel"', 'got "INFO"', 'did you mean "info"?');
  // optional string
  assertConfigError(() => load({ configFile: writeFile(dir, 'o1.yaml', 'genesisFile: 5\n') }), 'key "genesisFile"', 'expected a string', 'got 5');
  assertConfigError(() => load({ configFile: writeFile(dir, 'o2.yaml', 'adminToken: [a]\n') }), 'key "adminToken"', 'got a list');
});

test('error: a short adminToken is rejected without echoing it', () => {
  const dir = freshDir();
  const cases: [() => unknown, string][] = [
    [() => load({ argv: ['--admin-token', 'hunter2'] }), '--admin-token'],
    [() => load({ env: { FASTPOS_ADMIN_TOKEN: 'hunter2' } }), 'FASTPOS_ADMIN_TOKEN'],
    [() => load({ configFile: writeFile(dir, 't.yaml', 'adminToken: hunter2\n') }), 'key "adminToken"'],
  ];
  for (const [fn, name] of cases) {
    const e = assertConfigError(fn, name, 'expected a string of at least 16 characters', 'a secret of 7 characters');
    assert.ok(!e.message.includes('hunter2'));
  }
});

test('error: out of range', () => {
  const dir = freshDir();
  assertConfigError(() => load({ argv: ['--port', '65536'] }), '--port: expected an integer from 0 to 65535, got "65536"');
  assertConfigError(() => load({ argv: ['--port', '65536'] }), '--port', 'got "65536"');
  assertConfigError(() => load({ argv: ['--port', '-1'] }), '--port', 'got "-1"');
  assertConfigError(() => load({ env: { FASTPOS_VERIFY_WORKERS: '65' } }), 'FASTPOS_VERIFY_WORKERS', 'from 0 to 64');
  assertConfigError(() => load({ env: { FASTPOS_IDLE_BLOCK_INTERVAL_MS: '9' } }), 'FASTPOS_IDLE_BLOCK_INTERVAL_MS', 'from 10 to 3600000');
  assertConfigError(() => load({ argv: ['--rate-limit-max', '99999999999999999999'] }), '--rate-limit-max');
  assertConfigError(() => load({ configFile: writeFile(dir, 'r.yaml', 'minBlockIntervalMs: 60001\n') }), 'key "minBlockIntervalMs"', 'from 0 to 60000', 'got 60001');
  assertConfigError(() => load({ configFile: writeFile(dir, 'r2.yaml', 'port: .inf\n') }), 'key "port"', 'got Infinity');
  // the bounds themselves are accepted
  assert.equal(load({ argv: ['--port', '65535', '--verify-workers=0'] }).config.verifyWorkers, 0);
  assert.equal(load({ argv: ['--port', '+1'] }).config.port, 1);
});

test('error: flag misuse (missing value, --no- on a non-boolean, boolean with a separate value)', () => {
  assertConfigError(() => load({ argv: ['--port'] }), '--port: missing value');
  assertConfigError(() => load({ argv: ['--port', '--host', 'h'] }), '--port: missing value');
  assertConfigError(() => load({ argv: ['--data-dir'] }), '--data-dir: missing value');
  assertConfigError(() => load({ argv: ['--config'] }), '--config: missing value');
  assertConfigError(() => load({ argv: ['--config='] }), '--config: missing value');
  assertConfigError(() => load({ argv: ['--no-port'] }), '--no-port', 'only to boolean flags', '--port takes a value');
  assertConfigError(() => load({ argv: ['--no-metrics=false'] }), '--no-metrics', 'takes no value');
  assertConfigError(() => load({ argv: ['--metrics', 'false'] }), '--metrics', 'write --metrics=false or --no-metrics');
});

test('error: config file problems (bad YAML, not a mapping, missing, unreadable)', () => {
  const dir = freshDir();
  assertConfigError(() => load({ configFile: writeFile(dir, 'bad.yaml', 'port: [1\n') }), 'bad.yaml', 'invalid YAML', 'line');
  assertConfigError(() => load({ configFile: writeFile(dir, 'dup.yaml', 'port: 1\nport: 2\n') }), 'dup.yaml', 'invalid YAML', 'unique');
  assertConfigError(() => load({ configFile: writeFile(dir, 'multi.yaml', 'port: 1\n---\nport: 2\n') }), 'multi.yaml', 'invalid YAML');
  assertConfigError(() => load({ configFile: writeFile(dir, 'tag.yaml', 'port: !!foo 1\n') }), 'tag.yaml', 'invalid YAML');
  assertConfigError(() => load({ configFile: writeFile(dir, 'list.yaml', '- port: 1\n') }), 'list.yaml', 'expected a mapping', 'got a list');
  assertConfigError(() => load({ configFile: writeFile(dir, 'scalar.yaml', 'port\n') }), 'scalar.yaml', 'expected a mapping', 'got "port"');
  assertConfigError(() => load({ configFile: join(dir, 'missing.yaml') }), 'missing.yaml', 'not found');
  assertConfigError(() => load({ argv: ['--config', join(dir, 'missing.yaml')] }), 'missing.yaml', 'not found');
  assertConfigError(() => load({ configFile: dir }), dir, 'cannot read config file'); // a directory
  assertConfigError(() => load({ configFile: '' }), 'config file path is empty');
  assertConfigError(
    () =>
      loadConfig({
        argv: [],
        env: {},
        configFile: 'x.yaml',
        readFile: () => {
          throw new Error('EACCES');
        },
      }),
    'x.yaml',
    'EACCES',
  );
  // a default config.yaml with problems is an error too, named by its path
  const cwd = freshDir();
  mkdirSync(join(cwd, '.fastpos'));
  writeFile(join(cwd, '.fastpos'), 'config.yaml', 'prot: 1\n');
  assertConfigError(() => load({ cwd }), join('.fastpos', 'config.yaml'), 'key "prot" is unknown', 'did you mean "port"?');
  // an empty file, or one with only comments, is an empty config
  assert.equal(load({ configFile: writeFile(dir, 'empty.yaml', '') }).config.port, 26657);
  assert.equal(load({ configFile: writeFile(dir, 'comments.yaml', '# nothing\n') }).config.port, 26657);
});

test('error: a "__proto__" key is unknown, not a prototype change', () => {
  const dir = freshDir();
  assertConfigError(() => load({ configFile: writeFile(dir, 'p.yaml', '__proto__: {port: 1}\n') }), 'key "__proto__" is unknown');
});

// ---------------------------------------------------------------------------
// renderConfigYaml
// ---------------------------------------------------------------------------

test('renderConfigYaml: every key with its description and default; parses back to the same values', () => {
  const dir = freshDir();
  const full: NodeConfig = {
    resetSignGuard: true,
    dataDir: join(dir, 'data dir'),
    genesisFile: join(dir, 'genesis.json'),
    validatorKeyFile: join(dir, 'key: "quoted".json'),
    governanceKeyFile: join(dir, 'gov.json'),
    host: '0.0.0.0',
    port: 8080,
    stateBackend: 'snapshot',
    logLevel: 'trace',
    logFormat: 'json',
    stallWarnMs: 0,
    behindWarnBlocks: 25,
    adminToken: 'true-0123456789-#not-a-comment',
    devSigning: true,
    allowDevKeys: true,
    minBlockIntervalMs: 0,
    soloBlockIntervalMs: 5,
    blockIntervalPerKtps: 8,
    maxBlockIntervalMs: 60,
    commitGatherMs: 0,
    idleBlockIntervalMs: 10,
    timeoutProposeMs: 11,
    timeoutPrevoteMs: 12,
    timeoutPrecommitMs: 13,
    timeoutDeltaMs: 0,
    corsOrigins: 'https://a.example,http://localhost:3000',
    peers: 'http://127.0.0.1:1,http://127.0.0.1:2',
    maxPeers: 3,
    peerDiscoveryIntervalMs: 0,
    peerDiscoveredTtlMs: 5000,
    peerAllowLoopback: 'off',
    peerAllowPrivate: 'on',
    peerAllowDns: false,
    syncRequestTimeoutMs: 100,
    syncMaxResponseBytes: 4_294_967_296,
    syncMode: 'snapshot',
    snapshotSyncMinLag: 5,
    syncTrustHeight: 12,
    syncTrustHash: 'ab'.repeat(32),
    snapshotEveryBlocks: 100,
    snapshotKeep: 4,
    snapshotChunkBytes: 2048,
    snapshotSyncTimeoutMs: 5000,
    pruneKeepBlocks: 200,
    backupEveryBlocks: 50,
    backupKeep: 5,
    backupDir: join(dir, 'backups'),
    p2pRateLimit: 0,
    mempoolMaxTxs: 1,
    mempoolMaxBytes: 17_179_869_184,
    mempoolMaxPerSender: 7,
    mempoolNonceWindow: 8,
    mempoolTtlBlocks: 9,
    mempoolReplaceBumpPercent: 25,
    droppedRetentionMax: 0,
    droppedRetentionMs: 0,
    verifyWorkers: 64,
    bodyLimitBytes: 2048,
    txBatchMaxTxs: 50,
    txBatchMaxBytes: 65_536,
    rateLimitMax: 0,
    rateLimitWindowMs: 60_000,
    rateLimitReadBytes: 1048576,
    maxConnections: 10,
    maxConnectionsPerIp: 4,
    requestTimeoutMs: 5000,
    headersTimeoutMs: 2000,
    p2pPort: 26700,
    p2pHost: '0.0.0.0',
    p2pMaxConnections: 32,
    p2pStreams: true,
    p2pStreamMaxBufferedBytes: 16777216,
    p2pStreamIdleTimeoutMs: 30000,
    p2pStreamMaxInbound: 128,
    p2pStreamMaxRefused: 1000,
    keepAliveTimeoutMs: 5000,
    shutdownTimeoutMs: 0,
    metrics: false,
  };
  assert.deepEqual(new Set(Object.keys(full)), new Set(KEYS)); // the fixture covers every key
  const yaml = renderConfigYaml(full);
  for (const k of KEYS) {
    const spec = CONFIG_KEYS[k];
    assert.ok(yaml.includes(`# ${spec.description}`), `description of ${k}`);
    assert.ok(yaml.includes(`flag ${flagName(k)}; env ${envVarName(k)}`), `names of ${k}`);
    if ('default' in spec) assert.ok(yaml.includes(`default: ${JSON.stringify(spec.default)}`), `default of ${k}`);
  }
  const file = writeFile(dir, 'config.yaml', yaml);
  const r = load({ configFile: file });
  assert.deepEqual(r.config, full);
  for (const k of KEYS) assert.equal(r.sources[k], 'file', k);
});

test('renderConfigYaml: keys not given are commented out at their default, and load as defaults', () => {
  const dir = freshDir();
  const yaml = renderConfigYaml({ port: 1234, adminToken: 'abcdefghijklmnopqrstuvwxyz' });
  assert.match(yaml, /^port: 1234$/m);
  assert.match(yaml, /^# host: "127\.0\.0\.1"$/m);
  assert.match(yaml, /^# genesisFile:$/m);
  const cwd = freshDir();
  const r = load({ cwd, configFile: writeFile(dir, 'partial.yaml', yaml) });
  assert.deepEqual(r.config, { ...DEFAULT_CONFIG, dataDir: join(cwd, '.fastpos'), port: 1234, adminToken: 'abcdefghijklmnopqrstuvwxyz' });
  assert.equal(r.sources.port, 'file');
  assert.equal(r.sources.host, 'default');

  const empty = load({ cwd, configFile: writeFile(dir, 'empty.yaml', renderConfigYaml({})) });
  assert.deepEqual(empty.config, { ...DEFAULT_CONFIG, dataDir: join(cwd, '.fastpos') });
});

test('renderConfigYaml: rejects values that would not load', () => {
  assertConfigError(() => renderConfigYaml({ port: 70000 }), 'key "port"', 'from 0 to 65535');
  assertConfigError(() => renderConfigYaml({ adminToken: 'short' }), 'key "adminToken"');
  assertConfigError(() => renderConfigYaml({ port: 1, mempoolMaxTx: 1 } as unknown as Partial<NodeConfig>), 'key "mempoolMaxTx" is unknown', 'did you mean "mempoolMaxTxs"?');
});

// ---------------------------------------------------------------------------
// configReference and the docs
// ---------------------------------------------------------------------------

test('configReference: one row per key with type, default, flag, env var and description', () => {
  const ref = configReference();
  const rows = ref.trim().split('\n');
  assert.equal(rows.length, KEYS.length + 2);
  for (const k of KEYS) {
    const row = rows.find((r) => r.startsWith(`| \`${k}\` |`));
    assert.ok(row !== undefined, k);
    assert.ok(row.includes(`\`${flagName(k)}`), k);
    assert.ok(row.includes(`\`${envVarName(k)}\``), k);
    assert.equal(row.split(' | ').length, 6, `${k}: six cells`);
  }
});

test('docs/configuration.md holds the current configReference() table', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');
  const begin = '<!-- BEGIN GENERATED: configReference() -->';
  const end = '<!-- END GENERATED: configReference() -->';
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  assert.ok(i !== -1 && j > i, 'docs/configuration.md has the generated-table markers');
  const table = doc.slice(i + begin.length, j).trim();
  assert.equal(
    table,
    configReference().trim(),
    'docs/configuration.md is stale: replace the table between the markers with the output of configReference()',
  );
});

test('error: syncTrustHeight and syncTrustHash come together, the hash as 64 hex (checked at start)', () => {
  const check = (argv: string[]): void => checkSyncTrust(load({ argv }).config);
  assertConfigError(() => check(['--sync-trust-height', '10']), 'syncTrustHash is not set');
  assertConfigError(() => check(['--sync-trust-hash', 'ab'.repeat(32)]), 'syncTrustHeight is 0');
  assertConfigError(() => check(['--sync-trust-height', '10', '--sync-trust-hash', 'XY'.repeat(32)]), '64 lowercase hex');
  check(['--sync-trust-height', '10', '--sync-trust-hash', 'ab'.repeat(32)]);
});

test('corsOrigins: * alone or origins as browsers send them; anything else names the key and the entry', () => {
  const origins = (value: string): string | undefined => load({ argv: ['--cors-origins', value] }).config.corsOrigins;
  assert.equal(load().config.corsOrigins, undefined);
  assert.equal(origins('*'), '*');
  assert.equal(origins('https://explorer.example, http://127.0.0.1:3000'), 'https://explorer.example, http://127.0.0.1:3000');
  assert.deepEqual(corsOriginList('https://explorer.example, http://127.0.0.1:3000'), ['https://explorer.example', 'http://127.0.0.1:3000']);
  assertConfigError(() => origins('https://explorer.example/app'), 'corsOrigins', '"https://explorer.example/app"', 'https://explorer.example"');
  assertConfigError(() => origins('https://explorer.example/'), 'corsOrigins', 'trailing slash');
  assertConfigError(() => origins('HTTPS://Explorer.example'), 'corsOrigins', '"HTTPS://Explorer.example"', 'lowercase');
  assertConfigError(() => origins('https://explorer.example:443'), 'corsOrigins', 'default port');
  assertConfigError(() => origins('explorer.example'), 'corsOrigins', '"explorer.example" is not an origin');
  assertConfigError(() => origins('ftp://explorer.example'), 'corsOrigins', 'http or https');
  assertConfigError(() => origins('https://a.example,,https://b.example'), 'corsOrigins', 'empty entry');
  assertConfigError(() => origins('*,https://a.example'), 'corsOrigins', 'alone');
  assertConfigError(() => load({ env: { FASTPOS_CORS_ORIGINS: 'localhost:3000' } }), 'corsOrigins', '"localhost:3000"');
});
