// A genesis file read as a stream must give what JSON.parse + decodeGenesis
// gave: the same genesis (hash, accounts, wire text) and, for a document that
// is not a valid genesis, the same message; its accounts are read from the
// file again when the genesis holds more than it keeps in memory.
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extendedGenesis, writeGenesisFile } from '../../../src/bench/genesisAccounts.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { genesisFileCopier, readGenesisFile } from '../../../src/node/genesisFile.js';
import { decodeGenesis, defaultDevnetGenesis, encodeGenesis, genesisEntries, genesisHash, genesisJsonPieces, usesDevKeys } from '../../../src/state/genesis.js';
import type { Genesis } from '../../../src/types/index.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-genesis-file-');

/** What the node did before reading files as a stream: the whole text, JSON.parse, decodeGenesis. */
function readWhole(path: string): Genesis {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FastposError(ErrorCode.INVALID_GENESIS, `genesis file ${path} cannot be read as JSON: ${(e as Error).message}`);
  }
  try {
    return decodeGenesis(json);
  } catch (e) {
    if (e instanceof FastposError) throw new FastposError(e.code, `genesis file ${path}: ${e.message}`);
    throw e;
  }
}

function errorOf(f: () => unknown): FastposError {
  try {
    f();
  } catch (e) {
    if (e instanceof FastposError) return e;
    throw e;
  }
  assert.fail('no error');
}

function writeText(text: string): string {
  const path = join(tmp(), 'genesis.json');
  writeFileSync(path, text);
  return path;
}

const doc = (): Record<string, unknown> => encodeGenesis(defaultDevnetGenesis());

describe('genesis file reader', () => {
  it('default: a small genesis is the genesis JSON.parse gave, its accounts an array', () => {
    const path = writeText(JSON.stringify(doc(), null, 2) + '\n');
    const g = readGenesisFile(path);
    assert.ok(Array.isArray(g.accounts));
    assert.deepEqual(g, readWhole(path));
    assert.equal(genesisHash(g), genesisHash(defaultDevnetGenesis()));
  });

  it('behavior: above keepAccounts the accounts are read from the file: same hash, accounts, entries, wire text both ways', () => {
    const path = join(tmp(), 'genesis.json');
    writeGenesisFile(path, defaultDevnetGenesis(), 9_000);
    const whole = readWhole(path);
    const g = readGenesisFile(path, { keepAccounts: 100 });
    assert.ok(!Array.isArray(g.accounts));
    assert.equal(g.accounts.length, 9_010);
    assert.equal(genesisHash(g), genesisHash(whole));
    assert.equal(genesisHash(g), genesisHash(extendedGenesis(defaultDevnetGenesis(), 9_000)));
    assert.deepEqual([...g.accounts], whole.accounts);
    assert.deepEqual([...g.accounts], whole.accounts, 'a second iteration reads them again');
    assert.deepEqual(genesisEntries(g), genesisEntries(whole));
    assert.equal([...genesisJsonPieces(g)].join(''), JSON.stringify(encodeGenesis(whole)));
    assert.equal([...genesisJsonPieces(g, 2)].join(''), JSON.stringify(encodeGenesis(whole), null, 2));
    assert.equal(readFileSync(path, 'utf8'), JSON.stringify(encodeGenesis(whole)), 'the bench writer writes the wire text');
    assert.equal(usesDevKeys(g), usesDevKeys(whole));
  });

  it('behavior: the wire pieces of an in-memory genesis join to JSON.stringify, with no accounts too', () => {
    for (const g of [defaultDevnetGenesis(), { ...defaultDevnetGenesis(), accounts: [] }, extendedGenesis(defaultDevnetGenesis(), 5_000)]) {
      assert.equal([...genesisJsonPieces(g)].join(''), JSON.stringify(encodeGenesis(g)));
      assert.equal([...genesisJsonPieces(g, 2)].join(''), JSON.stringify(encodeGenesis(g), null, 2));
    }
  });

  it('behavior: a key given twice counts as JSON.parse counts it (the last one), accounts included', () => {
    const d = doc();
    const accounts = JSON.stringify(d.accounts);
    const text = JSON.stringify(d).replace('"accounts":', `"accounts":[{"address":"${'a'.repeat(40)}","balance":"5"}],"chainId":"first","accounts":`);
    const path = writeText(text);
    for (const keep of [100, 0]) {
      const g = readGenesisFile(path, { keepAccounts: keep });
      const whole = readWhole(path);
      assert.equal(genesisHash(g), genesisHash(whole), `keepAccounts ${keep}`);
      assert.deepEqual([...g.accounts], whole.accounts);
    }
    assert.equal(JSON.stringify(encodeGenesis(readWhole(path)).accounts), accounts);
  });

  it('behavior: a genesis copied from its file (a backup) decodes to the same genesis', () => {
    const path = join(tmp(), 'genesis.json');
    writeGenesisFile(path, defaultDevnetGenesis(), 300);
    const g = readGenesisFile(path, { keepAccounts: 10 });
    const copy = genesisFileCopier(g);
    assert.ok(copy !== undefined);
    const dest = join(tmp(), 'copy.json');
    copy(dest);
    assert.equal(genesisHash(readWhole(dest)), genesisHash(g));
    assert.equal(genesisFileCopier(defaultDevnetGenesis()), undefined);
  });

  it('error: a file that changed after it was read is refused when its accounts are read again', () => {
    const path = join(tmp(), 'genesis.json');
    writeGenesisFile(path, defaultDevnetGenesis(), 300);
    const g = readGenesisFile(path, { keepAccounts: 10 });
    const original = readFileSync(path, 'utf8');
    // Same size, one balance changed, modification time put back: only the accounts' digest tells.
    writeFileSync(path, original.replace('"balance":"1000000000000"}]', '"balance":"1000000000001"}]'));
    const { mtime } = { mtime: new Date(Date.now() - 60_000) };
    utimesSync(path, mtime, mtime);
    for (const f of [() => [...g.accounts], () => genesisEntries(g)]) {
      const e = errorOf(f);
      assert.equal(e.code, ErrorCode.INVALID_GENESIS);
      assert.match(e.message, /has changed since the node read it/);
    }
    writeFileSync(path, original + ' ');
    assert.equal(errorOf(() => [...g.accounts]).code, ErrorCode.INVALID_GENESIS);
  });

  it('error: a document that is not a valid genesis gets the message JSON.parse + decodeGenesis gave', () => {
    const d = doc();
    const accounts = d.accounts as { address: string; balance: string }[];
    const dup = accounts[3]!.address;
    const cases: Record<string, unknown>[] = [
      { ...d, accounts: [...accounts, { address: dup, balance: '1' }] },
      { ...d, accounts: [...accounts, { address: 'XYZ', balance: '1' }] },
      { ...d, accounts: [...accounts, { address: accounts[0]!.address.replace(/.$/, 'f'), balance: '-1' }] },
      { ...d, accounts: [...accounts, { address: 'a'.repeat(40), balance: '1', extra: 1 }] },
      { ...d, accounts: [...accounts, 7] },
      { ...d, accounts: { a: 1 } },
      { ...d, accounts: 'none' },
      { ...d, accounts: undefined },
      // Both wrong: the checks run in decodeGenesis's order (chainId before accounts).
      { ...d, chainId: 'bad id!', accounts: [...accounts, 7] },
      { ...d, validators: [...accounts, 7] },
      { ...d, accounts: [...accounts, { address: dup, balance: '1' }], validators: [] },
      { ...d, unknown: 1 },
      { ...d, params: { maxBlockTxs: 0 } },
      { ...d, genesisTime: -1 },
    ];
    for (const [i, c] of cases.entries()) {
      const path = writeText(JSON.stringify(c));
      const want = errorOf(() => readWhole(path));
      for (const keep of [100, 0]) {
        const got = errorOf(() => readGenesisFile(path, { keepAccounts: keep }));
        assert.equal(got.code, ErrorCode.INVALID_GENESIS);
        assert.equal(got.message, want.message, `case ${i}, keepAccounts ${keep}`);
      }
    }
    for (const text of ['[1,2]', '"genesis"', '{"__proto__":{"chainId":"x"}}', 'null']) {
      const path = writeText(text);
      assert.equal(errorOf(() => readGenesisFile(path)).message, errorOf(() => readWhole(path)).message, text);
    }
  });

  it('error: text that is not one JSON value is INVALID_GENESIS "cannot be read as JSON", as before', () => {
    const whole = JSON.stringify(doc());
    const texts = [whole.slice(0, whole.length / 2), whole + 'x', whole + '{}', '', '   ', '{"a":1,}', '\ufeff' + whole, '{"chainId":"a\u0001"}', '{"genesisTime":01}', "{'a':1}"];
    for (const text of texts) {
      const path = writeText(text);
      const want = errorOf(() => readWhole(path));
      assert.match(want.message, /cannot be read as JSON/, `JSON.parse refuses ${JSON.stringify(text.slice(0, 30))}`);
      const got = errorOf(() => readGenesisFile(path));
      assert.equal(got.code, ErrorCode.INVALID_GENESIS);
      assert.match(got.message, new RegExp(`^genesis file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be read as JSON: `), JSON.stringify(text.slice(0, 30)));
    }
    const missing = join(tmp(), 'missing.json');
    assert.equal(errorOf(() => readGenesisFile(missing)).message, errorOf(() => readWhole(missing)).message);
  });
});
