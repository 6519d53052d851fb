import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FastposError } from '../../../src/errors.js';
import { moduleAddress } from '../../../src/crypto/keys.js';
import { DEFAULT_PARAMS, TREASURY_ADDRESS, decodeGenesis, defaultDevnetGenesis, encodeGenesis } from '../../../src/state/genesis.js';

const base = () => encodeGenesis(defaultDevnetGenesis()) as Record<string, any>;

function genesisError(params: Record<string, unknown>): string {
  const g = base();
  g.params = { ...g.params, ...params };
  try {
    decodeGenesis(g);
  } catch (e) {
    assert.ok(e instanceof FastposError && e.code === 'INVALID_GENESIS');
    return e.message;
  }
  return 'OK';
}

describe('staking chain parameters in genesis', () => {
  it('default: absent parameters take the defaults; encodeGenesis writes them all; round-trips', () => {
    const g = base();
    const p = g.params as Record<string, unknown>;
    for (const k of ['epochLengthBlocks', 'maxValidators', 'unbondingPeriodBlocks', 'minSelfBond', 'slashDoubleSignBps', 'slashDowntimeBps', 'jailDoubleSignBlocks', 'jailDowntimeBlocks', 'downtimeWindowBlocks', 'downtimeMaxMissed', 'evidenceMaxAgeBlocks']) {
      assert.ok(k in p, k);
      delete p[k];
    }
    const decoded = decodeGenesis(g);
    assert.deepEqual(decoded.params, { ...DEFAULT_PARAMS, governance: decoded.params.governance });
    assert.equal(decoded.params.minSelfBond, 1n);
    assert.equal(encodeGenesis(decoded).params && (encodeGenesis(decoded).params as Record<string, unknown>).minSelfBond, '1');
    assert.deepEqual(decodeGenesis(encodeGenesis(decoded)), decoded);
  });

  it('behavior: values are taken as given', () => {
    const g = base();
    g.params = { ...g.params, epochLengthBlocks: 7, minSelfBond: '5000', slashDoubleSignBps: 10_000, downtimeMaxMissed: 0 };
    const p = decodeGenesis(g).params;
    assert.deepEqual([p.epochLengthBlocks, p.minSelfBond, p.slashDoubleSignBps, p.downtimeMaxMissed], [7, 5000n, 10_000, 0]);
  });

  const cases: [Record<string, unknown>, RegExp][] = [
    [{ epochLengthBlocks: 0 }, /params\.epochLengthBlocks must be an integer from 1/],
    [{ maxValidators: 0 }, /params\.maxValidators/],
    [{ unbondingPeriodBlocks: 1.5 }, /params\.unbondingPeriodBlocks/],
    [{ unbondingPeriodBlocks: 3_000_001 }, /params\.unbondingPeriodBlocks must be an integer from 1 to 3000000/],
    [{ minSelfBond: 1 }, /params\.minSelfBond must be a decimal string/],
    [{ minSelfBond: '-1' }, /params\.minSelfBond/],
    [{ slashDoubleSignBps: 10_001 }, /params\.slashDoubleSignBps must be an integer from 0 to 10000/],
    [{ slashDowntimeBps: -1 }, /params\.slashDowntimeBps/],
    [{ jailDoubleSignBlocks: 0 }, /params\.jailDoubleSignBlocks/],
    [{ jailDowntimeBlocks: '5' }, /params\.jailDowntimeBlocks/],
    [{ downtimeWindowBlocks: 0 }, /params\.downtimeWindowBlocks/],
    [{ downtimeMaxMissed: -1 }, /params\.downtimeMaxMissed/],
    [{ evidenceMaxAgeBlocks: 0 }, /params\.evidenceMaxAgeBlocks/],
    [{ unbondingPeriodBlocks: 50, evidenceMaxAgeBlocks: 51 }, /params\.evidenceMaxAgeBlocks \(51\) must not exceed params\.unbondingPeriodBlocks \(50\)/],
    [{ unbondingPeriodBlocks: 50 }, /params\.evidenceMaxAgeBlocks \(1000\) must not exceed/],
    [{ unknownParam: 1 }, /unknown key "unknownParam"/],
  ];
  for (const [params, re] of cases) it(`error: ${JSON.stringify(params)}`, () => assert.match(genesisError(params), re));
});

describe('genesis validators and minSelfBond', () => {
  it('error: a genesis validator below minSelfBond is refused', () => {
    const g = base();
    g.params = { ...g.params, minSelfBond: '2000000' };
    assert.throws(() => decodeGenesis(g), (e: unknown) => e instanceof FastposError && /validators\[0\]\.stake 1000000 is below params\.minSelfBond 2000000/.test(e.message));
  });
});

describe('the protocol-owned treasury', () => {
  it('default: a genesis without a treasury gets the module account hex(sha256("fastpos/module/treasury"))[0:40]; a named one is kept', () => {
    assert.equal(TREASURY_ADDRESS, 'dbf9bd0823da90d2a55e62f33be33817a7154060');
    assert.equal(moduleAddress('treasury'), TREASURY_ADDRESS);
    const g = base();
    delete g.treasury;
    assert.equal(decodeGenesis(g).treasury, TREASURY_ADDRESS);
    const named = { ...base(), treasury: 'ab'.repeat(20) };
    assert.equal(decodeGenesis(named).treasury, 'ab'.repeat(20));
    assert.throws(() => decodeGenesis({ ...base(), treasury: 'AB'.repeat(20) }), /treasury must be an address/);
  });
});
