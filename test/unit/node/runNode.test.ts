/**
 * `runNode` on real data dirs, embedded in the test process: one node per data
 * dir, the double-sign guard file from the first start on, and what happens
 * when the guard cannot be written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type NodeConfig } from '../../../src/config/index.js';
import type { Envelope } from '../../../src/codec/envelope.js';
import { isFastposError } from '../../../src/errors.js';
import { loadGuardState } from '../../../src/node/signGuardFile.js';
import { runNode, type RunNodeOptions, type RunningNode } from '../../../src/node/run.js';
import { defaultDevnetGenesis, encodeGenesis } from '../../../src/state/genesis.js';
import { waitForHeight } from '../../helpers/node.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-run-');
const GUARD = 'priv_validator_state.json';

const running = new Set<RunningNode>();
after(async () => {
  for (const n of running) await n.close();
});

function configFor(dir: string, extra: Partial<NodeConfig> = {}): NodeConfig {
  return { ...DEFAULT_CONFIG, dataDir: dir, port: 0, verifyWorkers: 0, idleBlockIntervalMs: 100, minBlockIntervalMs: 5, ...extra };
}

async function start(dir: string, extra: Partial<NodeConfig> = {}, opts: RunNodeOptions = {}): Promise<RunningNode> {
  const n = await runNode(configFor(dir, extra), { logger: pino({ level: 'silent' }), ...opts });
  running.add(n);
  return n;
}

async function stop(n: RunningNode): Promise<void> {
  await n.close();
  running.delete(n);
}

/** The error `p` rejects with (fails if it resolves). */
async function rejection(p: Promise<RunningNode>): Promise<Error> {
  try {
    const n = await p;
    await stop(n);
  } catch (e) {
    return e as Error;
  }
  assert.fail('the node started');
}

describe('runNode: one node per data dir', () => {
  it('error: a second node on a data dir in use, in the same process, is refused naming the holder', async () => {
    const dir = tmp();
    const first = await start(dir);
    const e = await rejection(start(dir));
    assert.ok(isFastposError(e), String(e));
    assert.equal(e.code, 'INVALID_CONFIG');
    assert.match(e.message, new RegExp(`pid ${process.pid}\\b`));
    assert.ok(e.message.includes(dir));
    // The first node is untouched and goes on.
    const h = first.node.height;
    await waitForHeight(first, h + 1);
    await stop(first);
    // Closing gives the data dir up.
    const again = await start(dir);
    assert.ok(again.node.height >= h + 1);
    await stop(again);
  });
});

describe('runNode: the double-sign guard file', () => {
  it('default: the first start writes an empty guard record before any chain data exists', async () => {
    const dir = tmp();
    const n = await start(dir);
    // A lone node sends nothing and never needs to flush; the file is there anyway.
    assert.ok(existsSync(join(dir, GUARD)));
    const record = JSON.parse(readFileSync(join(dir, GUARD), 'utf8')) as { state: { last: object } };
    assert.equal(typeof record.state.last, 'object');
    await stop(n);
  });

  it('error: a validator whose guard file is missing beside chain data is refused, naming the file and the fix', async () => {
    const dir = tmp();
    const n = await start(dir);
    await waitForHeight(n, 1);
    await stop(n);
    rmSync(join(dir, GUARD), { force: true });
    const e = await rejection(start(dir));
    assert.ok(isFastposError(e), String(e));
    assert.equal(e.code, 'CORRUPT_DATA');
    assert.ok(e.message.includes(join(dir, GUARD)), e.message);
    assert.match(e.message, /backup/);
    assert.match(e.message, /--reset-sign-guard/);
    assert.ok(!existsSync(join(dir, GUARD)), 'no blank record was written');
  });

  it('behavior: resetSignGuard starts such a validator from a blank record, written at once', async () => {
    const dir = tmp();
    const n = await start(dir);
    await waitForHeight(n, 1);
    const height = n.node.height;
    await stop(n);
    rmSync(join(dir, GUARD), { force: true });
    const reset = await start(dir, { resetSignGuard: true });
    assert.ok(existsSync(join(dir, GUARD)));
    await waitForHeight(reset, height + 1);
    await stop(reset);
    // From then on the file is there: a start without the flag works.
    const plain = await start(dir);
    await stop(plain);
  });

  it('behavior: a node without validator keys starts without a guard file beside chain data', async () => {
    const dir = tmp();
    // Not a devnet chain id: without a key file the node holds no validator key.
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis({ ...defaultDevnetGenesis(), chainId: 'fastpos-test' })));
    const n = await start(dir, { allowDevKeys: true });
    assert.deepEqual(n.node.heldValidatorIds(), []);
    await stop(n);
    rmSync(join(dir, GUARD), { force: true });
    const again = await start(dir, { allowDevKeys: true });
    await stop(again);
  });
});

describe('runNode: a failed guard write', () => {
  it('error: the embedded node is closed and onFatal gets an error naming the guard file', async () => {
    const dir = tmp();
    let sent = 0;
    let fatal: (e: unknown) => void = () => undefined;
    const fatalSeen = new Promise<unknown>((resolve) => (fatal = resolve));
    const n = await start(
      dir,
      {},
      {
        onFatal: (e) => fatal(e),
        // A peer to send to: votes then wait for the guard's record to be durable.
        wrapTransport: () => ({ hasPeers: () => true, broadcast: (_e: Envelope) => void sent++ }),
      },
    );
    await waitForHeight(n, 1);
    // Every later replacement of the guard file fails (a directory where the writer puts its temporary file; root too).
    mkdirSync(join(dir, `${GUARD}.tmp`));
    const e = await Promise.race([fatalSeen, new Promise((_, reject) => setTimeout(() => reject(new Error('onFatal was not called in 10 s')), 10_000))]);
    running.delete(n);
    assert.ok(e instanceof Error);
    assert.ok(e.message.includes(join(dir, GUARD)), e.message);
    assert.equal(n.node.isStarted, false, 'the node was stopped');
    const atFatal = sent;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sent, atFatal, 'nothing was sent after the node stopped');
    // The data dir was given up: with the obstacle gone a new node starts on it.
    rmSync(join(dir, `${GUARD}.tmp`), { recursive: true });
    const again = await start(dir);
    await stop(again);
  });
  it('error: no block is committed on a precommit of ours the guard file does not hold', async () => {
    const dir = tmp();
    let fatal: (e: unknown) => void = () => undefined;
    const fatalSeen = new Promise<unknown>((resolve) => (fatal = resolve));
    const n = await start(dir, {}, { onFatal: (e) => fatal(e), wrapTransport: () => ({ hasPeers: () => true, broadcast: () => undefined }) });
    await waitForHeight(n, 2);
    mkdirSync(join(dir, `${GUARD}.tmp`));
    await Promise.race([fatalSeen, new Promise((_, reject) => setTimeout(() => reject(new Error('onFatal was not called in 10 s')), 10_000))]);
    running.delete(n);
    // The lone validator's precommit is in every certificate: the tip's must be on file.
    const tip = n.node.latestBlock!.block.header.height;
    const records = Object.values(loadGuardState(dir).last);
    assert.equal(records.length, 1);
    assert.ok(records[0]!.height >= tip, `block ${tip} was committed, the guard file ends at height ${records[0]!.height}`);
    rmSync(join(dir, `${GUARD}.tmp`), { recursive: true });
  });
});
