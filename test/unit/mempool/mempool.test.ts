import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Mempool, estimatedMemory, type DroppedRecord, type MempoolOptions, type PendingQuery } from '../../../src/mempool/index.js';
import { addressFromPubKey, createSigner, devAccount, devAccountPrivateKey, devValidator, type Signer } from '../../../src/crypto/index.js';
import { toDecodedTx, txSignBytes } from '../../../src/codec/tx.js';
import { accountKey, KEY_PREFIX, type StateValue } from '../../../src/codec/state.js';
import { WorldState } from '../../../src/state/worldState.js';
import { DEFAULT_PARAMS } from '../../../src/state/genesis.js';
import { BlockExecution, getAccount, type BlockContext } from '../../../src/state/execute.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import type { DecodedTx, Tx, TransferTx } from '../../../src/types/index.js';

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const CHAIN_ID = 'fastpos-devnet';
const CTX: BlockContext = { chainId: CHAIN_ID, params: DEFAULT_PARAMS, feeRecipient: devAccount(99).address, height: 1 };
const SINK = devAccount(98).address;

interface Key {
  readonly address: string;
  readonly publicKey: string;
  readonly signer: Signer;
}
const KEYS: Key[] = Array.from({ length: 6 }, (_, i) => {
  const a = devAccount(i);
  return { address: a.address, publicKey: a.publicKey, signer: createSigner(devAccountPrivateKey(i)) };
});
const key = (i: number): Key => KEYS[i]!;
const addr = (i: number): string => key(i).address;

/** A real signed transfer from dev account `sender`. */
function mkTx(sender: number, nonce: number, fee: bigint, o: { amount?: bigint; to?: string; chainId?: string } = {}): DecodedTx {
  const k = key(sender);
  const unsigned: Omit<TransferTx, 'signature'> = {
    chainId: o.chainId ?? CHAIN_ID,
    kind: 'transfer',
    from: k.address,
    pubKey: k.publicKey,
    nonce,
    fee,
    payload: { to: o.to ?? SINK, amount: o.amount ?? 1n },
  };
  return toDecodedTx({ ...unsigned, signature: k.signer.sign(txSignBytes(unsigned)) });
}

/** A real signed tx of any kind from dev account `sender`. */
function mkSigned(sender: number, nonce: number, fee: bigint, kind: Tx['kind'], payload: Record<string, unknown>): DecodedTx {
  const k = key(sender);
  const unsigned = { chainId: CHAIN_ID, kind, from: k.address, pubKey: k.publicKey, nonce, fee, payload } as unknown as Omit<Tx, 'signature'>;
  return toDecodedTx({ ...unsigned, signature: k.signer.sign(txSignBytes(unsigned as Parameters<typeof txSignBytes>[0])) } as Tx);
}

/** A state where dev account i has balance b_i and nonce n_i. */
function mkState(accounts: ReadonlyArray<readonly [number, bigint, number?]>): WorldState {
  return WorldState.fromEntries(accounts.map(([i, balance, nonce]): [string, StateValue] => [accountKey(addr(i)), { balance, nonce: nonce ?? 0 }]));
}

const RICH = 1_000_000_000n;
const richState = (): WorldState => mkState([0, 1, 2, 3, 4, 5].map((i) => [i, RICH] as const));

const OPTS: MempoolOptions = {
  maxTxs: 100,
  maxBytes: 1_000_000,
  maxPerSender: 16,
  nonceWindow: 16,
  ttlBlocks: 10,
  replaceBumpPercent: 10,
  droppedMax: 100,
  droppedTtlMs: 60_000,
};
const mkPool = (o: Partial<MempoolOptions> = {}, ctx: BlockContext = CTX): Mempool => new Mempool({ ...OPTS, ...o }, ctx);

/** Asserts that fn throws a FastposError with this code. */
function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FastposError, `expected a FastposError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

/** Both the cheap check and add refuse the tx with this code, and the pool is unchanged. */
function refused(pool: Mempool, d: DecodedTx, state: WorldState, code: ErrorCode): void {
  const before = { size: pool.size, bytes: pool.bytes, has: pool.has(d.id), all: ids(pool.pending({ offset: 0, limit: 1e9 }).items) };
  throwsCode(() => pool.check(d, state), code);
  throwsCode(() => pool.add(d, state, 0, 0), code);
  assert.deepEqual({ size: pool.size, bytes: pool.bytes, has: pool.has(d.id), all: ids(pool.pending({ offset: 0, limit: 1e9 }).items) }, before);
}

const ids = (ds: Iterable<DecodedTx>): string[] => [...ds].map((d) => d.id);
const recs = (rs: readonly DroppedRecord[]): Array<[string, string]> => rs.map((r) => [r.id, r.reason]);

/** Applies txs on `state` as a block would, returning the next state and the touched accounts. */
function execute(state: WorldState, txs: readonly DecodedTx[]): { included: string[]; touched: string[] } {
  const ex = new BlockExecution(state, CTX);
  const included: string[] = [];
  for (const d of txs) {
    try {
      ex.apply(d);
      included.push(d.id);
    } catch (e) {
      if (!(e instanceof FastposError)) throw e;
    }
  }
  state.apply(state.diff(ex.changes));
  const touched = [...ex.changes.keys()].filter((k) => k.startsWith(KEY_PREFIX.account)).map((k) => k.slice(KEY_PREFIX.account.length));
  return { included, touched };
}

// ---------------------------------------------------------------------------
// admission
// ---------------------------------------------------------------------------

describe('admission', () => {
  test('admits a valid tx and indexes it', () => {
    const pool = mkPool();
    const s = richState();
    const d = mkTx(0, 0, 5n);
    pool.check(d, s);
    assert.equal(pool.size, 0, 'check changes nothing');
    const r = pool.add(d, s, 1, 1000);
    assert.deepEqual(r, { evicted: [] });
    assert.equal(pool.size, 1);
    assert.equal(pool.bytes, d.size);
    assert.equal(pool.senderCount, 1);
    assert.ok(pool.has(d.id));
    assert.equal(pool.get(d.id), d);
    assert.equal(pool.get('00'.repeat(32)), undefined);
  });

  test('runs the state machine rules: WRONG_CHAIN_ID, FEE_TOO_LOW, TX_TOO_LARGE', () => {
    const s = richState();
    refused(mkPool(), mkTx(0, 0, 5n, { chainId: 'other-chain' }), s, ErrorCode.WRONG_CHAIN_ID);
    refused(mkPool(), mkTx(0, 0, 0n), s, ErrorCode.FEE_TOO_LOW);
    const small = mkPool({}, { ...CTX, params: { ...DEFAULT_PARAMS, maxTxBytes: 100 } });
    refused(small, mkTx(0, 0, 5n), s, ErrorCode.TX_TOO_LARGE);
  });

  test('DUPLICATE_TX for a tx already pending', () => {
    const pool = mkPool();
    const s = richState();
    const d = mkTx(0, 0, 5n);
    pool.add(d, s, 0, 0);
    refused(pool, d, s, ErrorCode.DUPLICATE_TX);
    assert.equal(pool.size, 1);
  });

  test('NONCE_TOO_LOW below the account nonce', () => {
    const pool = mkPool();
    const s = mkState([[0, RICH, 7]]);
    refused(pool, mkTx(0, 3, 5n), s, ErrorCode.NONCE_TOO_LOW);
    refused(pool, mkTx(0, 6, 5n), s, ErrorCode.NONCE_TOO_LOW);
    pool.add(mkTx(0, 7, 5n), s, 0, 0);
    try {
      pool.check(mkTx(0, 3, 5n), s);
      assert.fail('expected NONCE_TOO_LOW');
    } catch (e) {
      assert.ok(e instanceof FastposError);
      assert.deepEqual(e.meta, { expected: 7, got: 3 });
    }
  });

  test('NONCE_TOO_HIGH beyond the window; gaps inside the window are admitted', () => {
    const pool = mkPool({ nonceWindow: 4 });
    const s = mkState([[0, RICH, 10]]);
    refused(pool, mkTx(0, 14, 5n), s, ErrorCode.NONCE_TOO_HIGH);
    refused(pool, mkTx(0, 1000, 5n), s, ErrorCode.NONCE_TOO_HIGH);
    pool.add(mkTx(0, 13, 5n), s, 0, 0);
    pool.add(mkTx(0, 10, 5n), s, 0, 0);
    assert.equal(pool.size, 2);
  });

  test('replacement: same sender and nonce needs the fee bump, else NONCE_CONFLICT', () => {
    const pool = mkPool({ replaceBumpPercent: 10 });
    const s = richState();
    const old = mkTx(0, 0, 100n);
    pool.add(old, s, 1, 1000);
    refused(pool, mkTx(0, 0, 109n), s, ErrorCode.NONCE_CONFLICT);
    refused(pool, mkTx(0, 0, 100n, { amount: 2n }), s, ErrorCode.NONCE_CONFLICT);
    const bumped = mkTx(0, 0, 110n);
    pool.check(bumped, s);
    const r = pool.add(bumped, s, 2, 2000);
    assert.deepEqual(r.evicted, []);
    assert.ok(r.replaced !== undefined);
    assert.equal(r.replaced.id, old.id);
    assert.equal(r.replaced.reason, 'replaced');
    assert.equal(r.replaced.height, 2);
    assert.equal(r.replaced.at, 2000);
    assert.equal(pool.size, 1);
    assert.equal(pool.bytes, bumped.size);
    assert.ok(!pool.has(old.id));
    assert.ok(pool.has(bumped.id));
    assert.equal(pool.dropped(old.id)?.reason, 'replaced');
    assert.deepEqual(ids(pool.candidates(s)), [bumped.id]);
  });

  test('replacement with a zero bump accepts an equal fee; rounding needs the full bump', () => {
    const zero = mkPool({ replaceBumpPercent: 0 });
    const s = richState();
    zero.add(mkTx(0, 0, 7n), s, 0, 0);
    assert.ok(zero.add(mkTx(0, 0, 7n, { amount: 2n }), s, 0, 0).replaced !== undefined);
    // 10% of 7 is 0.7: 7 * 1.1 = 7.7, so 8 is needed.
    const ten = mkPool({ replaceBumpPercent: 10 });
    ten.add(mkTx(0, 0, 7n), s, 0, 0);
    refused(ten, mkTx(0, 0, 7n, { amount: 2n }), s, ErrorCode.NONCE_CONFLICT);
    assert.ok(ten.add(mkTx(0, 0, 8n), s, 0, 0).replaced !== undefined);
  });

  test('SENDER_LIMIT caps one sender; replacements and other senders still pass', () => {
    const pool = mkPool({ maxPerSender: 3 });
    const s = richState();
    for (let n = 0; n < 3; n++) pool.add(mkTx(0, n, 5n), s, 0, 0);
    refused(pool, mkTx(0, 3, 5n), s, ErrorCode.SENDER_LIMIT);
    assert.ok(pool.add(mkTx(0, 1, 50n), s, 0, 0).replaced !== undefined);
    pool.add(mkTx(1, 0, 5n), s, 0, 0);
    assert.equal(pool.size, 4);
  });

  test('INSUFFICIENT_FUNDS: the balance pays this tx plus the sender\'s pending txs with lower nonces', () => {
    const pool = mkPool();
    const s = mkState([[0, 100n]]);
    refused(pool, mkTx(0, 0, 1n, { amount: 100n }), s, ErrorCode.INSUFFICIENT_FUNDS); // 101 > 100
    pool.add(mkTx(0, 0, 10n, { amount: 50n }), s, 0, 0); // 60
    refused(pool, mkTx(0, 1, 1n, { amount: 40n }), s, ErrorCode.INSUFFICIENT_FUNDS); // 60 + 41 > 100
    pool.add(mkTx(0, 1, 1n, { amount: 39n }), s, 0, 0); // 60 + 40 = 100
    refused(pool, mkTx(0, 2, 1n), s, ErrorCode.INSUFFICIENT_FUNDS);
    // Higher nonces are not counted: nonce 5 only needs the lower ones (100) plus itself.
    refused(pool, mkTx(0, 5, 1n), s, ErrorCode.INSUFFICIENT_FUNDS);
    // An account that does not exist has nothing.
    refused(pool, mkTx(1, 0, 1n), s, ErrorCode.INSUFFICIENT_FUNDS);
  });

  test('INSUFFICIENT_FUNDS counts only lower nonces: a later tx admitted first does not block an earlier one', () => {
    const pool = mkPool();
    const s = mkState([[0, 100n]]);
    pool.add(mkTx(0, 2, 10n, { amount: 80n }), s, 0, 0);
    pool.add(mkTx(0, 0, 10n, { amount: 80n }), s, 0, 0);
    // nonce 1 must fit with nonce 0 (90): 90 + 11 > 100.
    refused(pool, mkTx(0, 1, 1n, { amount: 10n }), s, ErrorCode.INSUFFICIENT_FUNDS);
    pool.add(mkTx(0, 1, 1n, { amount: 9n }), s, 0, 0);
    // a replacement of nonce 0 is checked without the tx it replaces
    assert.ok(pool.add(mkTx(0, 0, 11n, { amount: 79n }), s, 0, 0).replaced !== undefined);
    refused(pool, mkTx(0, 0, 20n, { amount: 81n }), s, ErrorCode.INSUFFICIENT_FUNDS); // 101 > 100
  });

  test('a stale pending tx (nonce below the account nonce) is not counted against the balance', () => {
    const pool = mkPool();
    pool.add(mkTx(0, 0, 10n, { amount: 80n }), mkState([[0, 100n, 0]]), 0, 0);
    // the state moved on (nonce 0 used by another tx) before the pool was updated
    const s = mkState([[0, 100n, 1]]);
    pool.add(mkTx(0, 1, 10n, { amount: 80n }), s, 0, 0);
    assert.equal(pool.size, 2);
  });
});

// ---------------------------------------------------------------------------
// size limits and eviction
// ---------------------------------------------------------------------------

describe('eviction', () => {
  test('count limit: MEMPOOL_FULL unless the fee beats the lowest; evicts the lowest fee', () => {
    const pool = mkPool({ maxTxs: 3 });
    const s = richState();
    const a = mkTx(0, 0, 5n);
    const b = mkTx(1, 0, 3n);
    const c = mkTx(2, 0, 7n);
    for (const d of [a, b, c]) pool.add(d, s, 0, 0);
    refused(pool, mkTx(3, 0, 3n), s, ErrorCode.MEMPOOL_FULL); // equal to the lowest: not better
    refused(pool, mkTx(3, 0, 1n), s, ErrorCode.MEMPOOL_FULL);
    const d = mkTx(3, 0, 4n);
    pool.check(d, s);
    const r = pool.add(d, s, 5, 500);
    assert.deepEqual(recs(r.evicted), [[b.id, 'evicted']]);
    assert.equal(r.evicted[0]!.height, 5);
    assert.equal(r.evicted[0]!.at, 500);
    assert.equal(pool.size, 3);
    assert.ok(!pool.has(b.id));
    assert.equal(pool.dropped(b.id)?.reason, 'evicted');
    assert.equal(pool.bytes, a.size + c.size + d.size);
  });

  test('ties on the lowest fee: the newest is evicted first', () => {
    const pool = mkPool({ maxTxs: 3 });
    const s = richState();
    const first = mkTx(0, 0, 2n);
    const second = mkTx(1, 0, 2n);
    const third = mkTx(2, 0, 2n);
    for (const d of [first, second, third]) pool.add(d, s, 0, 0);
    assert.deepEqual(recs(pool.add(mkTx(3, 0, 3n), s, 0, 0).evicted), [[third.id, 'evicted']]);
    assert.deepEqual(recs(pool.add(mkTx(4, 0, 3n), s, 0, 0).evicted), [[second.id, 'evicted']]);
  });

  test('behavior: a cheap tx cannot evict a sender\'s cheap head and strand its better-paying successors (issue 12)', () => {
    // The reported shape: a full pool, one sender with a fee-1 head and 99 fee-50 successors.
    const pool = mkPool({ maxTxs: 100, maxPerSender: 100, nonceWindow: 100 });
    const s = richState();
    const chain = [mkTx(0, 0, 1n), ...Array.from({ length: 99 }, (_, i) => mkTx(0, i + 1, 50n))];
    for (const d of chain) pool.add(d, s, 0, 0);
    assert.equal(pool.size, 100);
    // fee 2 beats the head's fee 1 but not the 99 txs that would be stranded with it
    refused(pool, mkTx(1, 0, 2n), s, ErrorCode.MEMPOOL_FULL);
    // fee 50 does not beat the tail's 50
    refused(pool, mkTx(1, 0, 50n), s, ErrorCode.MEMPOOL_FULL);
    assert.deepEqual(ids(pool.pending({ from: addr(0), offset: 0, limit: 1000 }).items), ids(chain));
    // fee 51 beats the tail: that tail only goes, and nothing is stranded
    const d = mkTx(1, 0, 51n);
    const r = pool.add(d, s, 3, 300);
    assert.deepEqual(recs(r.evicted), [[chain[99]!.id, 'evicted']]);
    assert.equal(pool.dropped(chain[99]!.id)?.reason, 'evicted');
    assert.equal(pool.size, 100);
    assert.ok(pool.has(d.id));
    assert.deepEqual(ids(pool.pending({ from: addr(0), offset: 0, limit: 1000 }).items), ids(chain.slice(0, 99)));
    assert.deepEqual(ids(pool.candidates(s)).slice(0, 2), [d.id, chain[0]!.id]);
  });

  test('behavior: only senders\' last txs are evicted; a sender\'s earlier tx becomes a candidate once its later ones are gone', () => {
    const pool = mkPool({ maxTxs: 3 });
    const s = richState();
    const a0 = mkTx(0, 0, 1n);
    const a1 = mkTx(0, 1, 4n);
    const b0 = mkTx(1, 0, 6n);
    for (const d of [a0, a1, b0]) pool.add(d, s, 0, 0);
    // a0 (fee 1) is the cheapest tx but a1 needs it: a1 (fee 4) is the one that can go
    refused(pool, mkTx(2, 0, 4n), s, ErrorCode.MEMPOOL_FULL);
    assert.deepEqual(recs(pool.add(mkTx(2, 0, 5n), s, 0, 0).evicted), [[a1.id, 'evicted']]);
    // now a0 is its sender's last tx
    assert.deepEqual(recs(pool.add(mkTx(3, 0, 2n), s, 0, 0).evicted), [[a0.id, 'evicted']]);
    assert.equal(pool.senderCount, 3);
  });

  test('behavior: a sender\'s own higher nonces may make room for its lower one', () => {
    const pool = mkPool({ maxTxs: 3 });
    const s = richState();
    const x0 = mkTx(0, 0, 5n);
    const x2 = mkTx(0, 2, 1n); // waits behind the gap at nonce 1
    const y0 = mkTx(1, 0, 3n);
    for (const d of [x0, x2, y0]) pool.add(d, s, 0, 0);
    const x1 = mkTx(0, 1, 2n);
    assert.deepEqual(recs(pool.add(x1, s, 0, 0).evicted), [[x2.id, 'evicted']]);
    // nonce 2 again: its sender's txs are all below it, so y0 (3) goes
    assert.deepEqual(recs(pool.add(mkTx(0, 2, 4n), s, 0, 0).evicted), [[y0.id, 'evicted']]);
    assert.equal(ids(pool.candidates(s)).length, 3);
  });

  test('never evicts the sender\'s own lower nonces to admit a tx', () => {
    const s = richState();
    const full = mkPool({ maxTxs: 2 });
    full.add(mkTx(0, 0, 1n), s, 0, 0);
    full.add(mkTx(0, 1, 1n), s, 0, 0);
    refused(full, mkTx(0, 2, 10n), s, ErrorCode.MEMPOOL_FULL);

    const pool = mkPool({ maxTxs: 2 });
    const a0 = mkTx(0, 0, 1n);
    const b0 = mkTx(1, 0, 2n);
    pool.add(a0, s, 0, 0);
    pool.add(b0, s, 0, 0);
    const a1 = mkTx(0, 1, 5n);
    assert.deepEqual(recs(pool.add(a1, s, 0, 0).evicted), [[b0.id, 'evicted']]);
    assert.deepEqual(ids(pool.candidates(s)), [a0.id, a1.id]);
  });

  test('byte limit: evicts as many lowest-fee last txs as the bytes need, only if the fee beats their sum', () => {
    const s = richState();
    const small = [mkTx(0, 0, 2n), mkTx(1, 0, 3n), mkTx(2, 0, 4n)];
    const budget = small.reduce((n, d) => n + d.size, 0);
    // A bigger tx (a 31-digit amount): evicting one small tx does not free enough room.
    const big = mkTx(3, 0, 9n, { amount: 10n ** 30n });
    const cheapBig = mkTx(3, 0, 3n, { amount: 10n ** 30n });
    assert.ok(big.size > small[0]!.size && big.size <= small[0]!.size + small[1]!.size);
    const s2 = mkState([...[0, 1, 2].map((i) => [i, RICH] as const), [3, 10n ** 31n]]);

    const pool = mkPool({ maxTxs: 100, maxBytes: budget });
    for (const d of small) pool.add(d, s, 0, 0);
    // fee 3 beats the lowest (2) but not the second lowest (3): refused, nothing evicted
    refused(pool, cheapBig, s2, ErrorCode.MEMPOOL_FULL);
    // fee 5 beats each of the two it needs (2 and 3) but not their sum: refused
    refused(pool, mkTx(3, 0, 5n, { amount: 10n ** 30n }), s2, ErrorCode.MEMPOOL_FULL);
    assert.equal(pool.size, 3);
    const r = pool.add(big, s2, 0, 0);
    assert.deepEqual(recs(r.evicted), [
      [small[0]!.id, 'evicted'],
      [small[1]!.id, 'evicted'],
    ]);
    assert.equal(pool.bytes, small[2]!.size + big.size);
    assert.ok(pool.bytes <= budget);
    // a tx larger than the whole pool never fits
    const tiny = mkPool({ maxBytes: 100 });
    refused(tiny, mkTx(0, 0, 5n), s, ErrorCode.MEMPOOL_FULL);
  });

  test('bound: with costOf (the node passes estimatedMemory), maxBytes counts each tx\'s cost, not its size', () => {
    const s = richState();
    const txs = [0, 1, 2].map((i) => mkTx(i, 0, 10n));
    const cost = estimatedMemory(txs[0]!);
    assert.equal(cost, 4 * txs[0]!.size + 600);
    // Room for two txs by cost, for about ten by size.
    const pool = mkPool({ maxBytes: 2 * cost + 1, costOf: estimatedMemory });
    pool.add(txs[0]!, s, 0, 0);
    pool.add(txs[1]!, s, 0, 0);
    assert.equal(pool.bytes, 2 * cost);
    assert.equal(pool.txBytes, txs[0]!.size + txs[1]!.size);
    refused(pool, txs[2]!, s, ErrorCode.MEMPOOL_FULL);
  });

  test('a replacement in a full pool takes the room of the tx it replaces', () => {
    const pool = mkPool({ maxTxs: 2 });
    const s = richState();
    pool.add(mkTx(0, 0, 5n), s, 0, 0);
    pool.add(mkTx(1, 0, 1n), s, 0, 0);
    const r = pool.add(mkTx(0, 0, 6n), s, 0, 0);
    assert.deepEqual(r.evicted, []);
    assert.ok(r.replaced !== undefined);
    assert.equal(pool.size, 2);
  });
});

// ---------------------------------------------------------------------------
// block building order
// ---------------------------------------------------------------------------

describe('candidates', () => {
  test('highest fee first across senders, each sender in nonce order, a gap stops a sender', () => {
    const pool = mkPool();
    const s = richState();
    const a0 = mkTx(0, 0, 5n);
    const a1 = mkTx(0, 1, 50n);
    const a2 = mkTx(0, 2, 1n);
    const a4 = mkTx(0, 4, 99n); // gap at 3
    const b0 = mkTx(1, 0, 10n);
    const b1 = mkTx(1, 1, 8n);
    const c1 = mkTx(2, 1, 100n); // gap at 0: never a candidate
    const d0 = mkTx(3, 0, 10n); // same fee as b0, arrives later
    // Admit in an order unlike the expected one.
    for (const d of [a2, c1, a4, a1, a0, b1, b0, d0]) pool.add(d, s, 0, 0);
    assert.deepEqual(ids(pool.candidates(s)), ids([b0, d0, b1, a0, a1, a2]));
  });

  test('starts each sender at its account nonce in the given state, never below', () => {
    const pool = mkPool();
    const s = richState();
    const a0 = mkTx(0, 0, 50n);
    const a1 = mkTx(0, 1, 3n);
    const b0 = mkTx(1, 0, 4n);
    for (const d of [a0, a1, b0]) pool.add(d, s, 0, 0);
    const later = mkState([
      [0, RICH, 1],
      [1, RICH, 0],
    ]);
    assert.deepEqual(ids(pool.candidates(later)), ids([b0, a1]));
    const muchLater = mkState([
      [0, RICH, 5],
      [1, RICH, 1],
    ]);
    assert.deepEqual(ids(pool.candidates(muchLater)), []);
  });

  test('is lazy (the first few of many) and refuses to go on after the pool changed', () => {
    const pool = mkPool({ maxTxs: 1000 });
    const s = richState();
    for (let i = 0; i < 6; i++) for (let n = 0; n < 10; n++) pool.add(mkTx(i, n, BigInt(1 + ((i * 7 + n * 3) % 11))), s, 0, 0);
    const it = pool.candidates(s)[Symbol.iterator]();
    const first = it.next();
    assert.ok(!first.done);
    assert.equal(first.value.tx.nonce, 0);
    // the best head is the highest nonce-0 fee
    const heads = [0, 1, 2, 3, 4, 5].map((i) => 1 + ((i * 7) % 11));
    assert.equal(first.value.tx.fee, BigInt(Math.max(...heads)));
    pool.add(mkTx(0, 10, 1n), s, 0, 0);
    assert.throws(() => it.next(), /changed/);
    assert.equal(ids(pool.candidates(s)).length, 61);
    assert.deepEqual(ids(mkPool().candidates(s)), []);
  });
});

// ---------------------------------------------------------------------------
// following finalized blocks
// ---------------------------------------------------------------------------

describe('update', () => {
  test('included txs are removed, not dropped; the rest stay', () => {
    const pool = mkPool();
    const s = mkState([[0, 1000n]]);
    const a0 = mkTx(0, 0, 5n);
    const a1 = mkTx(0, 1, 5n);
    pool.add(a0, s, 0, 0);
    pool.add(a1, s, 0, 0);
    const { included, touched } = execute(s, [a0]);
    assert.deepEqual(included, [a0.id]);
    const dropped = pool.update({ height: 1, now: 1000, included, touched, state: s });
    assert.deepEqual(dropped, []);
    assert.ok(!pool.has(a0.id));
    assert.equal(pool.dropped(a0.id), undefined);
    assert.ok(pool.has(a1.id));
    assert.equal(pool.size, 1);
    assert.equal(pool.bytes, a1.size);
    assert.deepEqual(ids(pool.candidates(s)), [a1.id]);
    assert.equal(pool.pendingNonce(addr(0), s), 2);
  });

  test('stale nonce: a block used the nonce with another tx', () => {
    const pool = mkPool();
    const s = mkState([[0, 1000n]]);
    const mine = mkTx(0, 0, 5n);
    const next = mkTx(0, 1, 5n);
    pool.add(mine, s, 0, 0);
    pool.add(next, s, 0, 0);
    const other = mkTx(0, 0, 5n, { amount: 2n }); // reached the block through another node
    const { included, touched } = execute(s, [other]);
    const dropped = pool.update({ height: 1, now: 1000, included, touched, state: s });
    assert.deepEqual(recs(dropped), [[mine.id, 'stale_nonce']]);
    assert.equal(dropped[0]!.height, 1);
    assert.equal(pool.dropped(mine.id)?.reason, 'stale_nonce');
    assert.ok(pool.has(next.id), 'the next nonce is still good');
  });

  test('insufficient funds after a block: the first unpayable tx goes and those after it are stranded', () => {
    const pool = mkPool();
    const s = mkState([[0, 100n]]);
    const a0 = mkTx(0, 0, 1n, { amount: 39n }); // 40
    const a1 = mkTx(0, 1, 1n, { amount: 39n }); // 80
    const a2 = mkTx(0, 2, 1n, { amount: 9n }); // 90
    for (const d of [a0, a1, a2]) pool.add(d, s, 0, 0);
    // Sender 0 spends 50 elsewhere (a tx from another node, nonce 0) ...
    const spend = mkTx(0, 0, 1n, { amount: 49n });
    const { included, touched } = execute(s, [spend]);
    assert.deepEqual(getAccount(s, addr(0)), { balance: 50n, nonce: 1 });
    const dropped = pool.update({ height: 1, now: 1000, included, touched, state: s });
    // ... a0 is stale, a1 (40) fits in 50, a2 (40 + 10) fits too.
    assert.deepEqual(recs(dropped), [[a0.id, 'stale_nonce']]);

    const pool2 = mkPool();
    const s2 = mkState([[0, 100n]]);
    for (const d of [a0, a1, a2]) pool2.add(d, s2, 0, 0);
    const poorer = mkState([[0, 60n]]);
    const dropped2 = pool2.update({ height: 1, now: 1000, included: [], touched: [addr(0)], state: poorer });
    assert.deepEqual(recs(dropped2), [
      [a1.id, 'insufficient_funds'],
      [a2.id, 'stranded'],
    ]);
    assert.deepEqual(ids(pool2.pending({ offset: 0, limit: 10 }).items), [a0.id]);
  });

  test('only touched senders are rechecked', () => {
    const pool = mkPool();
    const s = mkState([
      [0, 100n],
      [1, 100n],
    ]);
    const a0 = mkTx(0, 0, 1n, { amount: 50n });
    const b0 = mkTx(1, 0, 1n, { amount: 50n });
    pool.add(a0, s, 0, 0);
    pool.add(b0, s, 0, 0);
    const broke = mkState([
      [0, 0n],
      [1, 0n],
    ]);
    const dropped = pool.update({ height: 1, now: 0, included: [], touched: [addr(1), SINK], state: broke });
    assert.deepEqual(recs(dropped), [[b0.id, 'insufficient_funds']]);
    assert.ok(pool.has(a0.id));
  });

  test('expiry after ttlBlocks finalized blocks since admission; later nonces of the sender are stranded', () => {
    const pool = mkPool({ ttlBlocks: 3 });
    const s = richState();
    const a0 = mkTx(0, 0, 5n);
    const b0 = mkTx(1, 0, 5n);
    const a1 = mkTx(0, 1, 5n);
    const c0 = mkTx(2, 0, 5n);
    pool.add(a0, s, 10, 0);
    pool.add(b0, s, 10, 0);
    pool.add(a1, s, 11, 0);
    pool.add(c0, s, 11, 0);
    const upd = (height: number): DroppedRecord[] => pool.update({ height, now: 0, included: [], touched: [], state: s });
    assert.deepEqual(upd(11), []);
    assert.deepEqual(upd(12), []);
    assert.deepEqual(recs(upd(13)), [
      [a0.id, 'expired'],
      [a1.id, 'stranded'],
      [b0.id, 'expired'],
    ]);
    assert.equal(pool.size, 1);
    assert.deepEqual(recs(upd(14)), [[c0.id, 'expired']]);
    assert.equal(pool.size, 0);
    assert.equal(pool.bytes, 0);
    assert.equal(pool.dropped(a0.id)?.height, 13);
  });

  test('a replacement is a new admission for expiry', () => {
    const pool = mkPool({ ttlBlocks: 2 });
    const s = richState();
    pool.add(mkTx(0, 0, 5n), s, 0, 0);
    const bumped = mkTx(0, 0, 10n);
    pool.add(bumped, s, 1, 0);
    assert.deepEqual(pool.update({ height: 2, now: 0, included: [], touched: [], state: s }), []);
    assert.deepEqual(recs(pool.update({ height: 3, now: 0, included: [], touched: [], state: s })), [[bumped.id, 'expired']]);
  });
});

// ---------------------------------------------------------------------------
// dropped records, queries
// ---------------------------------------------------------------------------

describe('dropped records', () => {
  test('kept at most droppedMax, oldest forgotten first', () => {
    const pool = mkPool({ ttlBlocks: 1, droppedMax: 2 });
    const s = richState();
    const txs = [0, 1, 2].map((i) => mkTx(i, 0, 5n));
    for (const d of txs) pool.add(d, s, 0, 0);
    assert.equal(pool.update({ height: 1, now: 0, included: [], touched: [], state: s }).length, 3);
    assert.equal(pool.dropped(txs[0]!.id), undefined);
    assert.equal(pool.dropped(txs[1]!.id)?.reason, 'expired');
    assert.equal(pool.dropped(txs[2]!.id)?.reason, 'expired');
  });

  test('kept at most droppedTtlMs', () => {
    const pool = mkPool({ ttlBlocks: 1, droppedTtlMs: 1000 });
    const s = richState();
    const d = mkTx(0, 0, 5n);
    pool.add(d, s, 0, 0);
    pool.update({ height: 1, now: 5000, included: [], touched: [], state: s });
    assert.equal(pool.dropped(d.id)?.at, 5000);
    pool.update({ height: 2, now: 6000, included: [], touched: [], state: s });
    assert.equal(pool.dropped(d.id)?.reason, 'expired', 'exactly droppedTtlMs old: still kept');
    pool.update({ height: 3, now: 6001, included: [], touched: [], state: s });
    assert.equal(pool.dropped(d.id), undefined);
  });

  test('admitting a dropped tx again forgets its record', () => {
    const pool = mkPool({ ttlBlocks: 1 });
    const s = richState();
    const d = mkTx(0, 0, 5n);
    pool.add(d, s, 0, 0);
    pool.update({ height: 1, now: 0, included: [], touched: [], state: s });
    assert.ok(pool.dropped(d.id) !== undefined);
    pool.add(d, s, 1, 0);
    assert.equal(pool.dropped(d.id), undefined);
    assert.ok(pool.has(d.id));
  });

  test('many records stay bounded (records superseded by a new admission are compacted away)', () => {
    const pool = mkPool({ ttlBlocks: 1, droppedMax: 3, droppedTtlMs: 1_000_000 });
    const s = richState();
    const d = mkTx(0, 0, 5n);
    for (let h = 0; h < 3000; h++) {
      pool.add(d, s, h, h);
      pool.update({ height: h + 1, now: h, included: [], touched: [], state: s });
    }
    assert.equal(pool.dropped(d.id)?.height, 3000);
    // internal log: bounded, whatever the number of cycles
    const log = (pool as unknown as { droppedLog: unknown[] }).droppedLog;
    assert.ok(log.length <= 2 * 3 + 1024 + 1, `log holds ${log.length}`);
  });

  test('drop removes one pending tx with a caller-given reason', () => {
    const pool = mkPool();
    const s = richState();
    const a0 = mkTx(0, 0, 5n);
    const a1 = mkTx(0, 1, 5n);
    pool.add(a0, s, 0, 0);
    pool.add(a1, s, 0, 0);
    const r = pool.drop(a0.id, 'insufficient_funds', 'fee unpaid', 4, 40);
    assert.deepEqual(r, { id: a0.id, tx: a0, reason: 'insufficient_funds', message: 'fee unpaid', height: 4, at: 40 });
    assert.equal(pool.dropped(a0.id), r);
    assert.ok(pool.has(a1.id));
    assert.equal(pool.drop(a0.id, 'x', 'y', 0, 0), undefined);
  });
});

describe('queries', () => {
  test('pending: arrival order without `from`, nonce order with it; offset, limit and total', () => {
    const pool = mkPool();
    const s = richState();
    const order = [mkTx(0, 2, 5n), mkTx(1, 0, 5n), mkTx(0, 0, 5n), mkTx(2, 0, 5n), mkTx(0, 1, 5n)];
    for (const d of order) pool.add(d, s, 0, 0);
    assert.deepEqual(ids(pool.pending({ offset: 0, limit: 100 }).items), ids(order));
    const page = pool.pending({ offset: 1, limit: 2 });
    assert.equal(page.total, 5);
    assert.deepEqual(ids(page.items), ids(order.slice(1, 3)));
    assert.deepEqual(pool.pending({ offset: 10, limit: 2 }), { total: 5, items: [] });
    assert.deepEqual(pool.pending({ offset: 0, limit: 0 }), { total: 5, items: [] });
    const mine = pool.pending({ from: addr(0), offset: 0, limit: 100 });
    assert.equal(mine.total, 3);
    assert.deepEqual(
      mine.items.map((d) => d.tx.nonce),
      [0, 1, 2],
    );
    assert.deepEqual(
      pool.pending({ from: addr(0), offset: 1, limit: 1 }).items.map((d) => d.tx.nonce),
      [1],
    );
    assert.deepEqual(pool.pending({ from: addr(5), offset: 0, limit: 10 }), { total: 0, items: [] });
  });

  test('pending: filters (to, kind, validatorId, fee bounds, admission time) with and without `from`, either order', () => {
    const pool = mkPool();
    const s = richState();
    const V0 = devValidator(0).address;
    const bondKey = devValidator(1).publicKey;
    const V1 = addressFromPubKey(bondKey);
    // [tx, admission time]
    const txs: [DecodedTx, number][] = [
      [mkTx(0, 0, 1n, { to: addr(1) }), 100],
      [mkSigned(1, 0, 10n, 'delegation_delegate', { validatorId: V0, amount: 5n }), 100],
      [mkTx(0, 1, 9n, { to: addr(2) }), 200],
      [mkSigned(2, 0, 100n, 'validator_bond', { pubKey: bondKey, amount: 5n }), 300],
      [mkSigned(3, 0, 25n, 'validator_unjail', { validatorId: V0 }), 300],
      [mkSigned(0, 2, 10n, 'validator_unjail', { validatorId: V0 }), 400],
    ];
    for (const [d, at] of txs) pool.add(d, s, 0, at);
    const [t1, t2, t3, t4, t5, t6] = txs.map(([d]) => d.id);
    const q = (o: Omit<PendingQuery, 'offset' | 'limit'>, offset = 0, limit = 100): { total: number; ids: string[] } => {
      const page = pool.pending({ ...o, offset, limit });
      return { total: page.total, ids: ids(page.items) };
    };
    assert.deepEqual(q({ order: 'desc' }), { total: 6, ids: [t6, t5, t4, t3, t2, t1] });
    assert.deepEqual(q({ order: 'desc' }, 1, 2), { total: 6, ids: [t5, t4] });
    assert.deepEqual(q({ to: addr(1) }), { total: 1, ids: [t1] });
    assert.deepEqual(q({ kind: 'validator_unjail' }), { total: 2, ids: [t5, t6] });
    assert.deepEqual(q({ validatorId: V0 }), { total: 3, ids: [t2, t5, t6] });
    assert.deepEqual(q({ validatorId: V0, order: 'desc' }, 1, 1), { total: 3, ids: [t5] });
    assert.deepEqual(q({ validatorId: V1 }), { total: 1, ids: [t4] });
    assert.deepEqual(q({ validatorId: addr(1) }), { total: 0, ids: [] });
    assert.deepEqual(q({ minFee: 10n }), { total: 4, ids: [t2, t4, t5, t6] });
    assert.deepEqual(q({ maxFee: 9n }), { total: 2, ids: [t1, t3] });
    assert.deepEqual(q({ minFee: 9n, maxFee: 25n }), { total: 4, ids: [t2, t3, t5, t6] });
    assert.deepEqual(q({ minFee: 26n, maxFee: 25n }), { total: 0, ids: [] });
    assert.deepEqual(q({ fromTime: 200, toTime: 300 }), { total: 3, ids: [t3, t4, t5] });
    assert.deepEqual(q({ fromTime: 301 }), { total: 1, ids: [t6] });
    assert.deepEqual(q({ toTime: 99 }), { total: 0, ids: [] });
    // With `from`: the sender index, in nonce order, then the filters.
    assert.deepEqual(q({ from: addr(0) }), { total: 3, ids: [t1, t3, t6] });
    assert.deepEqual(q({ from: addr(0), order: 'desc' }), { total: 3, ids: [t6, t3, t1] });
    assert.deepEqual(q({ from: addr(0), kind: 'transfer' }), { total: 2, ids: [t1, t3] });
    assert.deepEqual(q({ from: addr(0), minFee: 9n, order: 'desc' }, 0, 1), { total: 2, ids: [t6] });
    assert.deepEqual(q({ from: addr(0), fromTime: 150, toTime: 350 }), { total: 1, ids: [t3] });
    assert.deepEqual(q({ from: addr(0), validatorId: V0 }, 1), { total: 1, ids: [] });
    assert.deepEqual(q({ from: addr(5), kind: 'transfer' }), { total: 0, ids: [] });
    // An offset past the end: no items, the same total.
    assert.deepEqual(q({ validatorId: V0 }, 3), { total: 3, ids: [] });
    assert.deepEqual(q({ validatorId: V0 }, 0, 0), { total: 3, ids: [] });
  });

  test('property: pending answers every query like a filter over the pool in arrival order (adds, replacements, drops, blocks)', () => {
    const V0 = devValidator(0).address;
    const bondKey = devValidator(1).publicKey;
    const FEES = [1n, 2n, 9n, 10n, 100n];
    type Op = { kind: 'add'; sender: number; fee: number; what: number; dt: number } | { kind: 'drop'; pick: number } | { kind: 'block' };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), sender: fc.integer({ min: 0, max: 3 }), fee: fc.integer({ min: 0, max: 4 }), what: fc.integer({ min: 0, max: 3 }), dt: fc.integer({ min: 0, max: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'block' as const }) },
    );
    const queryArb = fc.record(
      {
        from: fc.integer({ min: 0, max: 4 }).map((i) => addr(i)),
        to: fc.constantFrom(addr(1), SINK),
        kind: fc.constantFrom('transfer', 'delegation_delegate', 'validator_bond', 'validator_jail'),
        validatorId: fc.constantFrom(V0, addressFromPubKey(bondKey), addr(1)),
        minFee: fc.constantFrom(...FEES),
        maxFee: fc.constantFrom(...FEES),
        fromTime: fc.integer({ min: 0, max: 40 }),
        toTime: fc.integer({ min: 0, max: 40 }),
        order: fc.constantFrom('asc' as const, 'desc' as const),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.array(fc.tuple(queryArb, fc.nat({ max: 8 }), fc.integer({ min: 0, max: 8 })), { minLength: 1, maxLength: 10 }), (ops, queries) => {
        const pool = mkPool();
        const state = richState();
        /** The model: pending txs in arrival order with their admission time. */
        let model: { d: DecodedTx; at: number }[] = [];
        let now = 0;
        let height = 0;
        const sync = (): void => {
          model = model.filter((m) => pool.has(m.d.id));
        };
        for (const op of ops) {
          if (op.kind === 'add') {
            now += op.dt;
            const nonce = pool.pendingNonce(addr(op.sender), state);
            const fee = FEES[op.fee]!;
            const d =
              op.what === 0 ? mkTx(op.sender, nonce, fee, { to: addr(1) })
              : op.what === 1 ? mkTx(op.sender, nonce, fee)
              : op.what === 2 ? mkSigned(op.sender, nonce, fee, 'delegation_delegate', { validatorId: V0, amount: 1n })
              : mkSigned(op.sender, nonce, fee, 'validator_bond', { pubKey: bondKey, amount: 1n });
            try {
              pool.add(d, state, height, now);
              model.push({ d, at: now });
            } catch (e) {
              assert.ok(e instanceof FastposError, String(e));
            }
          } else if (op.kind === 'drop') {
            if (model.length > 0) pool.drop(model[op.pick % model.length]!.d.id, 'x', 'y', height, now);
          } else {
            const picked = [...pool.candidates(state)].slice(0, 3);
            const { included, touched } = execute(state, picked);
            height++;
            pool.update({ height, now, included, touched, state });
          }
          sync();
        }
        for (const [query, offset, limit] of queries) {
          const f = query as PendingQuery & { from?: string };
          const keep = model.filter(({ d, at }) => {
            const tx = d.tx;
            const validator = tx.kind === 'validator_bond' ? addressFromPubKey(tx.payload.pubKey) : 'validatorId' in tx.payload ? tx.payload.validatorId : null;
            return (
              (f.from === undefined || tx.from === f.from) &&
              (f.to === undefined || (tx.kind === 'transfer' && tx.payload.to === f.to)) &&
              (f.kind === undefined || tx.kind === f.kind) &&
              (f.validatorId === undefined || validator === f.validatorId) &&
              (f.minFee === undefined || tx.fee >= f.minFee) &&
              (f.maxFee === undefined || tx.fee <= f.maxFee) &&
              (f.fromTime === undefined || at >= f.fromTime) &&
              (f.toTime === undefined || at <= f.toTime)
            );
          });
          // With `from`: nonce order; without: arrival order.
          if (f.from !== undefined) keep.sort((a, b) => a.d.tx.nonce - b.d.tx.nonce);
          if (f.order === 'desc') keep.reverse();
          const got = pool.pending({ ...query, offset, limit });
          assert.equal(got.total, keep.length, JSON.stringify(query, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
          assert.deepEqual(ids(got.items), keep.slice(offset, offset + limit).map((m) => m.d.id));
        }
      }),
      { numRuns: 200 },
    );
  });

  test('pendingNonce: account nonce plus the contiguous pending run', () => {
    const pool = mkPool();
    const s = mkState([
      [0, RICH, 3],
      [1, RICH, 9],
    ]);
    for (const n of [3, 4, 6]) pool.add(mkTx(0, n, 5n), s, 0, 0);
    pool.add(mkTx(1, 10, 5n), s, 0, 0);
    assert.equal(pool.pendingNonce(addr(0), s), 5);
    assert.equal(pool.pendingNonce(addr(1), s), 9);
    assert.equal(pool.pendingNonce(addr(2), s), 0);
  });

  test('options are checked', () => {
    assert.throws(() => mkPool({ maxTxs: 0 }), RangeError);
    assert.throws(() => mkPool({ ttlBlocks: 1.5 }), RangeError);
    assert.throws(() => mkPool({ replaceBumpPercent: -1 }), RangeError);
  });
});

// ---------------------------------------------------------------------------
// property: invariants over random adds and blocks
// ---------------------------------------------------------------------------

type Op =
  | { readonly kind: 'add'; readonly sender: number; readonly base: 'account' | 'pending'; readonly nonceOffset: number; readonly fee: number; readonly amount: number }
  | { readonly kind: 'block'; readonly take: number; readonly now: number }
  | { readonly kind: 'external'; readonly sender: number; readonly amount: number };

const SENDERS = 4;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
      kind: fc.constant('add' as const),
      sender: fc.nat(SENDERS - 1),
      // from the account nonce (replacements, gaps, too low / too high) or the next free one
      base: fc.constantFrom('account' as const, 'pending' as const),
      nonceOffset: fc.integer({ min: -1, max: 4 }),
      fee: fc.integer({ min: 1, max: 12 }),
      amount: fc.integer({ min: 1, max: 40 }),
    }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('block' as const), take: fc.nat(6), now: fc.nat(3000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('external' as const), sender: fc.nat(SENDERS - 1), amount: fc.integer({ min: 1, max: 150 }) }) },
);

/** The expected candidates order, computed naively from the pool's own contents. */
function referenceCandidates(pool: Mempool, state: WorldState): string[] {
  const all = pool.pending({ offset: 0, limit: Number.MAX_SAFE_INTEGER }).items;
  const rank = new Map(all.map((d, i) => [d.id, i]));
  const bySender = new Map<string, DecodedTx[]>();
  for (const d of all) bySender.set(d.tx.from, [...(bySender.get(d.tx.from) ?? []), d]);
  const heads = new Map<string, { txs: DecodedTx[]; next: number }>();
  for (const [from, txs] of bySender) {
    txs.sort((a, b) => a.tx.nonce - b.tx.nonce);
    const nonce = getAccount(state, from).nonce;
    const i = txs.findIndex((d) => d.tx.nonce === nonce);
    if (i >= 0) heads.set(from, { txs, next: i });
  }
  const out: string[] = [];
  for (;;) {
    let best: { from: string; d: DecodedTx } | undefined;
    for (const [from, h] of heads) {
      const d = h.txs[h.next]!;
      if (best === undefined || d.tx.fee > best.d.tx.fee || (d.tx.fee === best.d.tx.fee && rank.get(d.id)! < rank.get(best.d.id)!)) best = { from, d };
    }
    if (best === undefined) return out;
    out.push(best.d.id);
    const h = heads.get(best.from)!;
    const nx = h.txs[h.next + 1];
    if (nx !== undefined && nx.tx.nonce === best.d.tx.nonce + 1) h.next++;
    else heads.delete(best.from);
  }
}

test('property: pool invariants hold over random adds, blocks and outside spending', () => {
  const typical = mkTx(0, 0, 10n, { amount: 10n }).size;
  const opts: MempoolOptions = {
    maxTxs: 7,
    maxBytes: typical * 6,
    maxPerSender: 3,
    nonceWindow: 4,
    ttlBlocks: 3,
    replaceBumpPercent: 10,
    droppedMax: 5,
    droppedTtlMs: 2500,
  };
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }), (ops) => {
      const pool = new Mempool(opts, CTX);
      const state = mkState(Array.from({ length: SENDERS }, (_, i) => [i, 150n] as const));
      let height = 0;
      let now = 0;
      const everDropped = new Set<string>();
      const record = (rs: readonly DroppedRecord[]): void => {
        for (const r of rs) {
          everDropped.add(r.id);
          assert.ok(!pool.has(r.id), 'a dropped tx is not pending');
        }
      };

      for (const op of ops) {
        if (op.kind === 'add') {
          const base = op.base === 'account' ? getAccount(state, addr(op.sender)).nonce : pool.pendingNonce(addr(op.sender), state);
          const nonce = base + (op.base === 'account' ? op.nonceOffset : Math.max(0, op.nonceOffset));
          if (nonce < 0) continue;
          const d = mkTx(op.sender, nonce, BigInt(op.fee), { amount: BigInt(op.amount) });
          let checkCode: string | undefined;
          try {
            pool.check(d, state);
          } catch (e) {
            assert.ok(e instanceof FastposError, String(e));
            checkCode = e.code;
          }
          try {
            const r = pool.add(d, state, height, now);
            assert.equal(checkCode, undefined, 'add succeeds exactly when check does');
            assert.ok(pool.has(d.id));
            record(r.evicted);
            if (r.replaced !== undefined) record([r.replaced]);
          } catch (e) {
            assert.ok(e instanceof FastposError, String(e));
            assert.equal(e.code, checkCode, 'add refuses with the code check gave');
          }
        } else if (op.kind === 'block') {
          const picked: DecodedTx[] = [];
          for (const d of pool.candidates(state)) {
            if (picked.length >= op.take) break;
            picked.push(d);
          }
          const { included, touched } = execute(state, picked);
          height++;
          now += op.now;
          const dropped = pool.update({ height, now, included, touched, state });
          record(dropped);
          for (const id of included) {
            assert.ok(!pool.has(id), 'included txs leave the pool');
            assert.ok(!dropped.some((r) => r.id === id), 'included txs are not dropped');
          }
        } else {
          // Another node's block: the sender pays out, its nonce moves on.
          const nonce = getAccount(state, addr(op.sender)).nonce;
          const outside = mkTx(op.sender, nonce, 1n, { amount: BigInt(op.amount), to: addr((op.sender + 1) % SENDERS) });
          const { included, touched } = execute(state, [outside]);
          height++;
          record(pool.update({ height, now, included, touched, state }));
        }

        // size and bytes match the contents, within limits
        const all = pool.pending({ offset: 0, limit: Number.MAX_SAFE_INTEGER }).items;
        assert.equal(all.length, pool.size);
        assert.equal(new Set(ids(all)).size, all.length);
        assert.equal(
          all.reduce((n, d) => n + d.size, 0),
          pool.bytes,
        );
        assert.ok(pool.size <= opts.maxTxs);
        assert.ok(pool.bytes <= opts.maxBytes);
        for (const d of all) {
          assert.equal(pool.get(d.id), d);
          assert.equal(pool.dropped(d.id), undefined);
          // every account change was reported: no pending tx is below its account nonce
          assert.ok(d.tx.nonce >= getAccount(state, d.tx.from).nonce);
        }
        let perSenderTotal = 0;
        for (let i = 0; i < SENDERS; i++) {
          const mine = pool.pending({ from: addr(i), offset: 0, limit: 100 });
          perSenderTotal += mine.total;
          assert.ok(mine.total <= opts.maxPerSender);
          const nonces = mine.items.map((d) => d.tx.nonce);
          for (let k = 1; k < nonces.length; k++) assert.ok(nonces[k - 1]! < nonces[k]!, 'per-sender nonces strictly increase');
        }
        assert.equal(perSenderTotal, pool.size);

        // candidates: each sender in nonce order from its account nonce, same order as the naive greedy
        const cands = [...pool.candidates(state)];
        const nextNonce = new Map<string, number>();
        for (const d of cands) {
          assert.ok(pool.has(d.id));
          const expected = nextNonce.get(d.tx.from) ?? getAccount(state, d.tx.from).nonce;
          assert.equal(d.tx.nonce, expected, 'per-sender nonce order from the account nonce');
          nextNonce.set(d.tx.from, expected + 1);
        }
        assert.deepEqual(ids(cands), referenceCandidates(pool, state));
        for (let i = 0; i < SENDERS; i++) {
          assert.equal(pool.pendingNonce(addr(i), state), nextNonce.get(addr(i)) ?? getAccount(state, addr(i)).nonce);
        }

        // dropped records are bounded
        assert.ok([...everDropped].filter((id) => pool.dropped(id) !== undefined).length <= opts.droppedMax);
      }
    }),
    { numRuns: 120 },
  );
});

// ---------------------------------------------------------------------------
// property: fair eviction in a small full pool
// ---------------------------------------------------------------------------

type Admission =
  | { readonly kind: 'next'; readonly sender: number; readonly fee: number; readonly digits: number }
  | { readonly kind: 'replace'; readonly sender: number; readonly pick: number; readonly fee: number; readonly digits: number };

const admissionArb: fc.Arbitrary<Admission> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('next' as const), sender: fc.nat(5), fee: fc.integer({ min: 1, max: 30 }), digits: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), sender: fc.nat(5), pick: fc.nat(7), fee: fc.integer({ min: 1, max: 40 }), digits: fc.integer({ min: 1, max: 12 }) }) },
);

test('property: in a full pool, a tx admitted by eviction pays more than all it displaces, and no pending tx is left behind a nonce gap', () => {
  const typical = mkTx(0, 0, 10n, { amount: 10n ** 6n }).size;
  const limits = [
    { maxTxs: 6, maxBytes: 1_000_000 }, // count only: one in, at most one out
    { maxTxs: 100, maxBytes: typical * 5 }, // bytes only: one big tx may need several to go
    { maxTxs: 5, maxBytes: typical * 5 },
  ];
  fc.assert(
    fc.property(fc.constantFrom(...limits.keys()), fc.array(admissionArb, { minLength: 10, maxLength: 80 }), (which, adds) => {
      const limit = limits[which]!;
      const pool = mkPool({ ...limit, maxPerSender: 8, nonceWindow: 8 });
      const s = richState();
      let seq = 0;
      const arrival = new Map<string, number>();
      for (const op of adds) {
        const from = addr(op.sender);
        const mine = pool.pending({ from, offset: 0, limit: 100 }).items;
        let d: DecodedTx;
        if (op.kind === 'next') {
          d = mkTx(op.sender, pool.pendingNonce(from, s), BigInt(op.fee), { amount: 10n ** BigInt(op.digits) });
        } else {
          const old = mine[op.pick % Math.max(1, mine.length)];
          if (old === undefined) continue;
          d = mkTx(op.sender, old.tx.nonce, old.tx.fee * 2n + BigInt(op.fee), { amount: 10n ** BigInt(op.digits) });
        }
        // What the pool held before, to judge what it did.
        const before = pool.pending({ offset: 0, limit: 1e9 }).items;
        const lastOf = new Map<string, DecodedTx>();
        for (const x of before) if ((lastOf.get(x.tx.from)?.tx.nonce ?? -1) < x.tx.nonce) lastOf.set(x.tx.from, x);
        let checkCode: string | undefined;
        try {
          pool.check(d, s);
        } catch (e) {
          assert.ok(e instanceof FastposError, String(e));
          checkCode = e.code;
        }
        let r;
        try {
          r = pool.add(d, s, 0, 0);
        } catch (e) {
          assert.ok(e instanceof FastposError, String(e));
          assert.equal(e.code, checkCode, 'add refuses with the code check gave');
          assert.deepEqual(ids(pool.pending({ offset: 0, limit: 1e9 }).items), ids(before), 'a refused tx changes nothing');
          if (e.code === ErrorCode.MEMPOOL_FULL && limit.maxBytes === 1_000_000 && op.kind === 'next') {
            // count limit: one tx must go; it is refused only if no other sender's last tx is cheaper
            for (const [sender, last] of lastOf) if (sender !== from) assert.ok(last.tx.fee >= d.tx.fee, `refused though ${last.id} pays only ${last.tx.fee}`);
          }
          continue;
        }
        assert.equal(checkCode, undefined, 'add succeeds exactly when check does');
        arrival.set(d.id, seq++);
        const displaced = r.evicted.reduce((sum, x) => sum + x.tx.tx.fee, 0n);
        assert.ok(r.evicted.length === 0 || d.tx.fee > displaced, `fee ${d.tx.fee} evicted txs paying ${displaced} in all`);
        for (const x of r.evicted) {
          assert.equal(x.reason, 'evicted');
          assert.ok(x.tx.tx.fee < d.tx.fee, `fee ${d.tx.fee} evicted a tx paying ${x.tx.tx.fee}`);
          // only a sender's last pending tx goes: nothing is left above it
          const left = pool.pending({ from: x.tx.tx.from, offset: 0, limit: 100 }).items;
          assert.ok(left.every((y) => y.tx.nonce < x.tx.tx.nonce), `evicting nonce ${x.tx.tx.nonce} left a later nonce behind`);
        }
        if (limit.maxBytes === 1_000_000 && r.evicted.length === 1) {
          // count limit: the cheapest other sender's last tx went (newest first on ties)
          const x = r.evicted[0]!;
          for (const [sender, last] of lastOf) {
            if (sender === from) continue;
            const fx = x.tx.tx.fee;
            const fl = last.tx.fee;
            assert.ok(fx < fl || (fx === fl && (arrival.get(x.id) ?? -1) >= (arrival.get(last.id) ?? -1)), `evicted ${x.id} (fee ${fx}) before ${last.id} (fee ${fl})`);
          }
        }
        assert.ok(pool.size <= limit.maxTxs && pool.bytes <= limit.maxBytes);
        // no gaps: every sender's pending nonces run from its account nonce (0) without a hole
        for (let i = 0; i < KEYS.length; i++) {
          const nonces = pool.pending({ from: addr(i), offset: 0, limit: 100 }).items.map((x) => x.tx.nonce);
          assert.deepEqual(nonces, nonces.map((_, k) => k), `sender ${i} has a nonce gap: ${nonces.join(',')}`);
        }
      }
    }),
    { numRuns: 150 },
  );
});
