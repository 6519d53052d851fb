// Snapshot backend specifics: the file formats, recovery from a crash in the
// middle of a commit, and damage detection (CORRUPT_DATA naming the file).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeFinalizedBlock } from '../../../src/codec/block.js';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { sha256Hex } from '../../../src/crypto/index.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { SnapshotChainStore } from '../../../src/storage/index.js';
import { buildChain, tempDir } from './fixtures.js';

const BLOCKS = 4;
const fixture = buildChain(BLOCKS + 1, 3);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const stateFile = (dir: string): string => path.join(dir, 'state.json');
const logFile = (dir: string): string => path.join(dir, 'blocks.log');

/** A data dir holding the first `blocks` blocks of the fixture. */
async function storedChain(blocks = BLOCKS): Promise<string> {
  const dir = tempDir('snapshot');
  dirs.push(dir);
  const store = new SnapshotChainStore(dir);
  store.open();
  store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
  for (const c of fixture.commits.slice(0, blocks)) await store.commitBlock(c);
  await store.close();
  return dir;
}

const logLines = (dir: string): string[] => fs.readFileSync(logFile(dir), 'utf8').split('\n').slice(0, -1);

async function assertCorrupt(dir: string, file: string, what?: RegExp): Promise<void> {
  const store = new SnapshotChainStore(dir);
  assert.throws(
    () => store.open(),
    (e: unknown) => {
      assert.ok(e instanceof FastposError, `not a FastposError: ${String(e)}`);
      assert.equal(e.code, ErrorCode.CORRUPT_DATA);
      assert.ok(e.message.includes(file), `message names ${file}: ${e.message}`);
      if (what !== undefined) assert.match(e.message, what);
      return true;
    },
  );
  await store.close();
}

/** Opens with a warning collector; returns the store, what open loaded and the warnings. */
function openCollecting(dir: string) {
  const warnings: string[] = [];
  const store = new SnapshotChainStore(dir, { onWarning: (m) => warnings.push(m) });
  const loaded = store.open();
  return { store, loaded, warnings };
}

describe('SnapshotChainStore', () => {
  describe('file formats', () => {
    it('state.json carries the whole state under a checksum of its canonical JSON', async () => {
      const dir = await storedChain();
      const j = JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as Record<string, unknown>;
      const { checksum, ...rest } = j;
      assert.equal(checksum, sha256Hex(canonicalJson(rest)));
      assert.equal(rest.version, 1);
      assert.equal(rest.genesisHash, fixture.genesisHash);
      assert.equal(rest.height, BLOCKS);
      assert.equal(rest.accumulator, fixture.commits[BLOCKS - 1]!.accumulator.toString('hex'));
      const entries = rest.entries as Record<string, unknown>;
      const model = fixture.stateAt[BLOCKS]!;
      assert.deepEqual(Object.keys(entries).sort(), [...model.keys()].sort());
      for (const [k, v] of model) assert.equal(canonicalJson(entries[k]), v);
    });

    it('blocks.log has one "<sha256> <json>" line per block', async () => {
      const dir = await storedChain();
      const lines = logLines(dir);
      assert.equal(lines.length, BLOCKS);
      lines.forEach((line, i) => {
        const json = line.slice(65);
        assert.equal(line.slice(0, 65), `${sha256Hex(json)} `);
        assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(encodeFinalizedBlock(fixture.commits[i]!.block))));
      });
    });

    it('leaves no temporary file behind and ignores a stale one', async () => {
      const dir = await storedChain();
      assert.deepEqual(fs.readdirSync(dir).sort(), ['blocks.log', 'state.json']);
      fs.writeFileSync(`${stateFile(dir)}.tmp`, '{"half": ');
      const { store, loaded } = openCollecting(dir);
      assert.equal(loaded.height, BLOCKS);
      assert.equal(fs.existsSync(`${stateFile(dir)}.tmp`), false);
      await store.close();
    });
  });

  describe('crash recovery', () => {
    it('a torn last line of blocks.log is cut off: the store is at the previous block', async () => {
      const dir = await storedChain();
      const sizeBefore = fs.statSync(logFile(dir)).size;
      // What a crash in the middle of appending block 5 leaves: part of its line, no newline.
      const line = `${sha256Hex('x')} ${JSON.stringify(encodeFinalizedBlock(fixture.commits[BLOCKS]!.block))}`;
      fs.appendFileSync(logFile(dir), line.slice(0, 200));
      const { store, loaded, warnings } = openCollecting(dir);
      assert.equal(loaded.height, BLOCKS);
      assert.equal(loaded.latest!.hash, fixture.commits[BLOCKS - 1]!.block.hash);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /torn/);
      assert.match(warnings[0]!, /blocks\.log/);
      assert.deepEqual(store.warnings, warnings);
      assert.equal(fs.statSync(logFile(dir)).size, sizeBefore);
      // The chain goes on from there.
      await store.commitBlock(fixture.commits[BLOCKS]!);
      await store.close();
      const again = new SnapshotChainStore(dir);
      assert.equal(again.open().height, BLOCKS + 1);
      assert.equal(again.warnings.length, 0);
      assert.equal(again.getBlock(BLOCKS + 1)!.hash, fixture.commits[BLOCKS]!.block.hash);
      await again.close();
    });

    it('a block appended to the log whose state.json was never replaced is dropped', async () => {
      const dir = await storedChain();
      const oldState = fs.readFileSync(stateFile(dir));
      const oldLogSize = fs.statSync(logFile(dir)).size;
      const store = new SnapshotChainStore(dir);
      store.open();
      await store.commitBlock(fixture.commits[BLOCKS]!);
      await store.close();
      // Crash between the two writes: the log has block 5, state.json is still at 4.
      fs.writeFileSync(stateFile(dir), oldState);
      const { store: reopened, loaded, warnings } = openCollecting(dir);
      assert.equal(loaded.height, BLOCKS);
      assert.equal(loaded.latest!.hash, fixture.commits[BLOCKS - 1]!.block.hash);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /not committed/);
      assert.equal(fs.statSync(logFile(dir)).size, oldLogSize);
      assert.equal(reopened.getBlock(BLOCKS + 1), undefined);
      assert.equal(reopened.getTx(fixture.txs.at(-1)!.id), undefined);
      await reopened.commitBlock(fixture.commits[BLOCKS]!);
      await reopened.close();
      const again = new SnapshotChainStore(dir);
      assert.equal(again.open().height, BLOCKS + 1);
      await again.close();
    });

    it('an uncommitted extra line is dropped even when it is damaged', async () => {
      const dir = await storedChain();
      fs.appendFileSync(logFile(dir), `${'0'.repeat(64)} {"half":\n`);
      const { store, loaded, warnings } = openCollecting(dir);
      assert.equal(loaded.height, BLOCKS);
      assert.equal(warnings.length, 1);
      await store.close();
    });

    it('a torn line after an uncommitted block: both are dropped', async () => {
      const dir = await storedChain(BLOCKS - 1);
      const oldState = fs.readFileSync(stateFile(dir));
      const store = new SnapshotChainStore(dir);
      store.open();
      await store.commitBlock(fixture.commits[BLOCKS - 1]!);
      await store.close();
      fs.writeFileSync(stateFile(dir), oldState);
      fs.appendFileSync(logFile(dir), 'abc');
      const { store: reopened, loaded, warnings } = openCollecting(dir);
      assert.equal(loaded.height, BLOCKS - 1);
      assert.equal(warnings.length, 2);
      assert.equal(logLines(dir).length, BLOCKS - 1);
      await reopened.close();
    });
  });

  describe('damage on open is CORRUPT_DATA naming the file', () => {
    it('state.json of garbage bytes', async () => {
      const dir = await storedChain();
      fs.writeFileSync(stateFile(dir), Buffer.from([0xff, 0x00, 0x13, 0x37, 0x42]));
      await assertCorrupt(dir, 'state.json');
    });

    it('truncated state.json', async () => {
      const dir = await storedChain();
      const text = fs.readFileSync(stateFile(dir), 'utf8');
      fs.writeFileSync(stateFile(dir), text.slice(0, Math.floor(text.length / 2)));
      await assertCorrupt(dir, 'state.json', /not valid JSON/);
    });

    it('state.json edited (valid JSON, checksum no longer matches)', async () => {
      const dir = await storedChain();
      const j = JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as { entries: Record<string, { balance?: string }> };
      const key = Object.keys(j.entries).find((k) => k.startsWith('acct/'))!;
      j.entries[key]!.balance = '999999999999';
      fs.writeFileSync(stateFile(dir), JSON.stringify(j));
      await assertCorrupt(dir, 'state.json', /checksum/);
    });

    it('a flipped byte in a blocks.log line', async () => {
      const dir = await storedChain();
      const buf = fs.readFileSync(logFile(dir));
      const line2 = buf.indexOf(0x0a) + 1;
      const pos = line2 + 65 + 40; // inside the JSON of line 2
      buf[pos] = buf[pos]! ^ 0x01;
      fs.writeFileSync(logFile(dir), buf);
      await assertCorrupt(dir, 'blocks.log', /line 2\b/);
    });

    it('lines out of order', async () => {
      const dir = await storedChain();
      const lines = logLines(dir);
      [lines[1], lines[2]] = [lines[2]!, lines[1]!];
      fs.writeFileSync(logFile(dir), lines.map((l) => l + '\n').join(''));
      await assertCorrupt(dir, 'blocks.log', /line 2\b/);
    });

    it('blocks.log shorter than the state height', async () => {
      const dir = await storedChain();
      fs.writeFileSync(logFile(dir), logLines(dir).slice(0, -1).map((l) => l + '\n').join(''));
      await assertCorrupt(dir, 'blocks.log', /height 4/);
    });

    it('a committed last line that is torn', async () => {
      const dir = await storedChain();
      const buf = fs.readFileSync(logFile(dir));
      fs.writeFileSync(logFile(dir), buf.subarray(0, buf.length - 10));
      await assertCorrupt(dir, 'blocks.log');
    });

    it('more than one block beyond the state height', async () => {
      const dir = await storedChain(BLOCKS - 2);
      const full = await storedChain(BLOCKS);
      fs.copyFileSync(logFile(full), logFile(dir));
      await assertCorrupt(dir, 'blocks.log', /at most one/);
    });

    it('blocks.log missing', async () => {
      const dir = await storedChain();
      fs.rmSync(logFile(dir));
      await assertCorrupt(dir, 'blocks.log', /missing/);
    });

    it('state.json missing next to a block log', async () => {
      const dir = await storedChain();
      fs.rmSync(stateFile(dir));
      await assertCorrupt(dir, 'blocks.log', /state\.json/);
    });
  });

  it('a line damaged after open is reported when it is read', async () => {
    const dir = await storedChain();
    const store = new SnapshotChainStore(dir);
    store.open();
    const buf = fs.readFileSync(logFile(dir));
    const pos = buf.indexOf(0x0a) + 100; // inside line 2
    const fd = fs.openSync(logFile(dir), 'r+');
    fs.writeSync(fd, Buffer.from([buf[pos]! ^ 0x01]), 0, 1, pos);
    fs.closeSync(fd);
    assert.equal(store.getBlock(1)!.hash, fixture.commits[0]!.block.hash);
    assert.throws(
      () => store.getBlock(2),
      (e: unknown) => e instanceof FastposError && e.code === ErrorCode.CORRUPT_DATA && /blocks\.log.*line 2/.test(e.message),
    );
    await store.close();
  });
});
