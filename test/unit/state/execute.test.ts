import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { accountKey } from '../../../src/codec/state.js';
import { BlockExecution, executeBlockTxs, getAccount, txSpend } from '../../../src/state/execute.js';
import { Chain as StakingChain, GOV, OPS, VALS, signTx, spec } from './stakingHarness.js';
import { DEFAULT_PARAMS } from '../../../src/state/genesis.js';
import { WorldState } from '../../../src/state/worldState.js';
import { FastposError } from '../../../src/errors.js';
import type { Account } from '../../../src/types/index.js';
import { CHAIN, acct, transfer } from '../../helpers/fixtures.js';

const FEE_TO = 'f'.repeat(40);
const ctx = { chainId: CHAIN, params: DEFAULT_PARAMS, feeRecipient: FEE_TO, height: 1 };

function world(balances: bigint[]): WorldState {
  return WorldState.fromEntries(balances.map((b, i) => [accountKey(acct(i).address), { balance: b, nonce: 0 } as Account]));
}

function errCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof FastposError) return e.code;
    throw e;
  }
  return undefined;
}

describe('transfer execution', () => {
  it('default: moves the amount, charges the fee to the fee recipient, advances the nonce', () => {
    const ws = world([1000n, 0n]);
    const { changes, results } = executeBlockTxs(ws, [transfer({ from: 0, to: acct(1).address, amount: 100n, fee: 10n, nonce: 0 })], ctx);
    assert.deepEqual(results, [{ success: true }]);
    assert.deepEqual(changes.get(accountKey(acct(0).address)), { balance: 890n, nonce: 1 });
    assert.deepEqual(changes.get(accountKey(acct(1).address)), { balance: 100n, nonce: 0 });
    assert.deepEqual(changes.get(accountKey(FEE_TO)), { balance: 10n, nonce: 0 });
  });

  it('behavior: amount above the balance left after the fee is a failed tx: fee charged, nonce advanced, nothing else', () => {
    const ws = world([100n, 0n]);
    const { changes, results } = executeBlockTxs(ws, [transfer({ from: 0, to: acct(1).address, amount: 95n, fee: 10n, nonce: 0 })], ctx);
    assert.deepEqual(results, [{ success: false, error: 'INSUFFICIENT_FUNDS' }]);
    assert.deepEqual(changes.get(accountKey(acct(0).address)), { balance: 90n, nonce: 1 });
    assert.equal(changes.get(accountKey(acct(1).address)), undefined);
  });

  it('behavior: a self-transfer keeps the balance minus the fee', () => {
    const ws = world([100n]);
    const { changes } = executeBlockTxs(ws, [transfer({ from: 0, to: acct(0).address, amount: 50n, fee: 10n, nonce: 0 })], ctx);
    assert.deepEqual(changes.get(accountKey(acct(0).address)), { balance: 90n, nonce: 1 });
  });

  it('error: a fee the sender cannot pay makes the block invalid', () => {
    const ws = world([5n]);
    assert.equal(errCode(() => executeBlockTxs(ws, [transfer({ from: 0, to: acct(1).address, amount: 1n, fee: 10n, nonce: 0 })], ctx)), 'INVALID_BLOCK');
  });

  it('error: wrong nonce, wrong chain, low fee make the block invalid; the proposer path reports the precise code', () => {
    const ws = world([1000n]);
    const ex = new BlockExecution(ws, ctx);
    assert.equal(errCode(() => ex.apply(transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 1 }))), 'NONCE_TOO_HIGH');
    assert.equal(errCode(() => ex.apply(transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 0, chainId: 'other' }))), 'WRONG_CHAIN_ID');
    assert.equal(errCode(() => ex.apply(transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 0, fee: 0n }))), 'FEE_TOO_LOW');
    ex.apply(transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 0 }));
    assert.equal(errCode(() => ex.apply(transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 0 }))), 'NONCE_TOO_LOW');
    assert.equal(ex.results.length, 1);
  });

  it('behavior: execution is pure: the base state is untouched until a diff is applied', () => {
    const ws = world([1000n, 0n]);
    const root = ws.stateRoot;
    const { changes } = executeBlockTxs(ws, [transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 0 })], ctx);
    assert.equal(ws.stateRoot, root);
    assert.equal(getAccount(ws, acct(0).address).balance, 1000n);
    const d = ws.diff(changes);
    ws.apply(d);
    assert.equal(ws.stateRoot, d.stateRoot);
    assert.notEqual(ws.stateRoot, root);
  });
});

describe('state commitment (LtHash)', () => {
  it('behavior: the root depends only on the resulting state, not on the path', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.bigInt({ min: 0n, max: 10n ** 20n })), { maxLength: 30 }), (writes) => {
        const ws = WorldState.fromEntries([]);
        const final = new Map<string, Account>();
        for (const [i, b] of writes) {
          const k = accountKey(acct(i).address);
          const v = { balance: b, nonce: i };
          ws.apply(ws.diff(new Map([[k, v]])));
          final.set(k, v);
        }
        assert.equal(ws.stateRoot, WorldState.fromEntries(final).stateRoot);
      }),
      { numRuns: 50 },
    );
  });

  it('behavior: supply is conserved and no balance goes negative over random transfer sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ from: fc.integer({ min: 0, max: 3 }), to: fc.integer({ min: 0, max: 3 }), amount: fc.bigInt({ min: 1n, max: 500n }), fee: fc.bigInt({ min: 1n, max: 50n }) }), { maxLength: 25 }),
        (txs) => {
          const ws = world([1000n, 1000n, 1000n, 1000n]);
          const nonces = [0, 0, 0, 0];
          const ex = new BlockExecution(ws, ctx);
          for (const t of txs) {
            try {
              ex.apply(transfer({ from: t.from, to: acct(t.to).address, amount: t.amount, fee: t.fee, nonce: nonces[t.from]! }));
              nonces[t.from]!++;
            } catch (e) {
              assert.ok(e instanceof FastposError && e.code === 'INSUFFICIENT_FUNDS');
            }
          }
          const after = new Map(ws.allEntries());
          for (const [k, v] of ex.changes) if (v !== null) after.set(k, v);
          let total = 0n;
          for (const v of after.values()) {
            const a = v as Account;
            assert.ok(a.balance >= 0n);
            total += a.balance;
          }
          assert.equal(total, 4000n);
        },
      ),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------- block-level API


describe('block execution steps', () => {
  it('default: a proposer runs beginBlock, applies candidates skipping those that may not be in a block, then endBlock', () => {
    const c = new StakingChain();
    c.block([spec(OPS[0]!, 'validator_unbond', { validatorId: VALS[0]!.address, amount: 7n })]); // completes at 11
    c.advanceTo(10);
    const ex = c.execution();
    const good = signTx(spec(GOV, 'transfer', { to: acct(3).address, amount: 1n }), 0);
    const tooHigh = signTx(spec(GOV, 'transfer', { to: acct(3).address, amount: 1n }), 5);
    const included = [good, tooHigh].filter((d) => {
      try {
        ex.apply(d);
        return true;
      } catch (e) {
        assert.ok(e instanceof FastposError && e.code === 'NONCE_TOO_HIGH');
        return false;
      }
    });
    assert.deepEqual(included, [good]);
    ex.endBlock();
    assert.equal(ex.changes.get('unb/11'), null, 'the bucket of height 11 is released and deleted');
    // The same block through executeBlockTxs gives the same changes.
    const again = executeBlockTxs(c.ws, { txs: included, lastCommit: c.lastCommit(), evidence: [] }, c.ctx());
    assert.deepEqual([...again.changes], [...ex.changes]);
  });

  it('error: the steps cannot be reordered', () => {
    const c = new StakingChain();
    const ex = c.execution();
    assert.throws(() => ex.beginBlock({ lastCommit: null, evidence: [] }), /invariant/);
    ex.endBlock();
    assert.throws(() => ex.apply(signTx(spec(GOV, 'transfer', { to: acct(3).address, amount: 1n }), 0)), /invariant/);
    assert.throws(() => ex.endBlock(), /invariant/);
  });

  it('default: txSpend counts the amount of transfers, bonds and delegations, only the fee otherwise', () => {
    const d = (s: Parameters<typeof signTx>[0]) => txSpend(signTx(s, 0));
    assert.equal(d(spec(GOV, 'validator_bond', { pubKey: VALS[4]!.publicKey, amount: 100n })), 110n);
    assert.equal(d(spec(GOV, 'delegation_delegate', { validatorId: VALS[0]!.address, amount: 100n })), 110n);
    assert.equal(d(spec(GOV, 'delegation_undelegate', { validatorId: VALS[0]!.address, amount: 100n })), 10n);
    assert.equal(d(spec(GOV, 'validator_unbond', { validatorId: VALS[0]!.address, amount: 100n })), 10n);
  });
});
