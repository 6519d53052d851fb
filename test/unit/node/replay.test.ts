/**
 * A chain produced by a real node (real store, real signatures) replays from
 * genesis to the same block hashes and state root, on both storage backends;
 * a tampered stored block does not replay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeFinalizedBlock, type WireBlock } from '../../../src/codec/block.js';
import { encodeTx } from '../../../src/codec/tx.js';
import { signTx } from '../../../src/client/sign.js';
import { replayChain } from '../../../src/consensus/replay.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import type { FinalizedBlock } from '../../../src/types/index.js';
import { CHAIN, acct, transfer } from '../../helpers/fixtures.js';
import { startTestNode, type TestNode } from '../../helpers/node.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import { errorCodeOf } from '../../helpers/util.js';

/** Small deterministic PRNG (mulberry32): the workload is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const codeOf = errorCodeOf;

async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FastposError) return e.code;
    throw e;
  }
  return 'OK';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until every id is finalized. */
async function waitFinalized(n: TestNode, ids: readonly string[], timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const missing = ids.filter((id) => n.node.txStatus(id)?.status !== 'finalized');
    if (missing.length === 0) return;
    if (Date.now() > end) {
      throw new Error(`not finalized in ${timeoutMs} ms: ${missing.map((id) => `${id}: ${JSON.stringify(n.node.txStatus(id)?.status)}`).join(', ')}`);
    }
    await sleep(20);
  }
}

interface Workload {
  readonly submitted: string[];
  readonly rejectedAtAdmission: number;
  readonly expectedFailed: Map<string, string>;
}

/**
 * A few dozen transfers in rounds: random ones from dev accounts 1–7 (some for
 * more than the balance, refused at admission); per round one pair from
 * account 8 or 9 submitted higher nonce first, so that both are admitted but
 * the second cannot pay its amount once the first has executed (included as
 * failed); a governance work-weight change (changes the validator set mid-chain)
 * and a work-weight tx from a non-governance account (included as failed).
 */
async function runWorkload(n: TestNode, seed: number): Promise<Workload> {
  const rnd = prng(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const submitted: string[] = [];
  const expectedFailed = new Map<string, string>();
  let rejectedAtAdmission = 0;
  const validatorId = n.node.validatorList()[0]!.id;
  for (let round = 0; round < 4; round++) {
    const roundIds: string[] = [];
    for (let k = 0; k < 10; k++) {
      const from = pick(1, 7);
      // Never to 8 or 9 (the pair senders' balances must stay as read); 10-12 are fresh accounts.
      const toIdx = [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12][pick(0, 10)]!;
      const a = n.node.account(acct(from).address);
      const aboveBalance = rnd() < 0.2;
      const amount = aboveBalance ? a.balance + 1n : BigInt(pick(1, 1_000_000));
      const d = transfer({ from, to: acct(toIdx).address, amount, fee: BigInt(pick(1, 20)), nonce: a.pendingNonce });
      if (aboveBalance) {
        assert.equal(await rejectionCode(n.node.submitTx(encodeTx(d.tx))), ErrorCode.INSUFFICIENT_FUNDS);
        rejectedAtAdmission++;
        continue;
      }
      const st = await n.node.submitTx(encodeTx(d.tx));
      assert.equal(st.id, d.id);
      roundIds.push(d.id);
    }
    // The pair: nonce n+1 first (nothing pending before it: admitted), then nonce n.
    const s = 8 + (round % 2);
    const acc = n.node.account(acct(s).address);
    assert.equal(acc.pendingNonce, acc.nonce, 'no pending tx of the pair sender');
    const half = acc.balance / 2n;
    const second = transfer({ from: s, to: acct(1).address, amount: half + 1000n, fee: 10n, nonce: acc.nonce + 1 });
    const first = transfer({ from: s, to: acct(2).address, amount: half, fee: 10n, nonce: acc.nonce });
    await n.node.submitTx(encodeTx(second.tx));
    await n.node.submitTx(encodeTx(first.tx));
    roundIds.push(second.id, first.id);
    expectedFailed.set(second.id, ErrorCode.INSUFFICIENT_FUNDS);
    if (round === 1) {
      const st = await n.node.setWorkWeight(validatorId, 15_000);
      roundIds.push(st.id);
    }
    if (round === 2) {
      const k = acct(7);
      const { id, tx } = signTx(k.privateKey, {
        chainId: CHAIN, kind: 'validator_set_work_weight', from: k.address, pubKey: k.publicKey,
        nonce: n.node.account(k.address).pendingNonce, fee: 10n, payload: { validatorId, workWeight: 1 },
      });
      await n.node.submitTx(tx);
      roundIds.push(id);
      expectedFailed.set(id, ErrorCode.FORBIDDEN);
    }
    await waitFinalized(n, roundIds);
    submitted.push(...roundIds);
  }
  return { submitted, rejectedAtAdmission, expectedFailed };
}

/** Stored wire JSON of blocks 1..height, with one block changed by `edit`, decoded back. */
/** A stored block as parsed JSON (its txs are plain objects there). */
type ParsedBlock = Omit<WireBlock, 'txs'> & { txs: Record<string, unknown>[] };

function tampered(n: TestNode, height: number, at: number, edit: (b: ParsedBlock) => void): FinalizedBlock[] {
  return n.node.store.getBlocksJson(1, height).map((json, i) => {
    const w = JSON.parse(json) as ParsedBlock;
    if (i + 1 === at) edit(w);
    return decodeFinalizedBlock(w);
  });
}

for (const backend of ['sqlite', 'snapshot'] as const) {
  describe(`replayChain over a node's chain (${backend})`, () => {
    let n: TestNode;
    let work: Workload;
    let height: number;
    let blocks: FinalizedBlock[];

    before(async () => {
      // Short epochs: the work-weight change reaches the validator set at the next boundary, inside this chain.
      const g = defaultDevnetGenesis();
      n = await startTestNode({ config: { stateBackend: backend }, genesis: { ...g, params: { ...g.params, epochLengthBlocks: 3 } } });
      work = await runWorkload(n, backend === 'sqlite' ? 1 : 2);
      // Nothing is finalized from here on: the chain read below is the whole chain.
      await n.node.pause();
      height = n.node.height;
      blocks = n.node.store.getBlocks(1, height);
    });
    after(async () => {
      await n?.dispose();
    });

    it('default: the workload finalized a few dozen txs, some failed, and was refused some at admission', () => {
      assert.equal(n.node.store.backend, backend);
      assert.ok(work.submitted.length >= 30, `${work.submitted.length} txs`);
      assert.ok(work.rejectedAtAdmission >= 1);
      assert.equal(blocks.length, height);
      const results = new Map<string, { success: boolean; error?: string }>();
      for (const fb of blocks) fb.block.txs.forEach((d, i) => results.set(d.id, fb.results[i]!));
      for (const id of work.submitted) assert.ok(results.has(id), `tx ${id} is in a stored block`);
      for (const [id, code] of work.expectedFailed) assert.deepEqual(results.get(id), { success: false, error: code }, id);
      const failed = [...results.values()].filter((r) => !r.success).length;
      assert.equal(failed, work.expectedFailed.size);
    });

    it('default: replay from genesis gives the same block hashes and the node\'s state root', () => {
      const r = replayChain(n.node.genesis, blocks);
      assert.equal(r.height, height);
      assert.deepEqual(r.hashes, blocks.map((b) => b.hash));
      assert.equal(r.stateRoot, n.node.stateRoot);
      assert.equal(r.stateRoot, blocks[height - 1]!.block.header.stateRoot);
      for (let i = 0; i <= 12; i++) {
        const addr = acct(i).address;
        const a = n.node.account(addr);
        const b = r.state.get(`acct/${addr}`) as { balance: bigint; nonce: number } | undefined;
        assert.deepEqual({ balance: b?.balance ?? 0n, nonce: b?.nonce ?? 0 }, { balance: a.balance, nonce: a.nonce }, `account ${i}`);
      }
    });

    it('behavior: the work-weight change moved the validator set hash mid-chain, and replay followed it', () => {
      const hashes = new Set(blocks.map((b) => b.block.header.validatorSetHash));
      assert.equal(hashes.size, 2);
      assert.equal(blocks[height - 1]!.block.header.validatorSetHash, n.node.validatorSet.hash);
      assert.equal(n.node.validatorList()[0]!.workWeight, 15_000);
    });

    it('behavior: a prefix of the chain replays to the state root of its last block', () => {
      const k = Math.max(1, Math.floor(height / 2));
      const r = replayChain(n.node.genesis, blocks.slice(0, k));
      assert.equal(r.height, k);
      assert.equal(r.stateRoot, blocks[k - 1]!.block.header.stateRoot);
      assert.equal(replayChain(n.node.genesis, []).height, 0);
    });

    it('behavior: blocks decoded from the stored wire JSON replay the same', () => {
      const r = replayChain(n.node.genesis, tampered(n, height, 0, () => undefined));
      assert.equal(r.stateRoot, n.node.stateRoot);
    });

    it('error: a tampered stored tx result makes replay throw INVALID_BLOCK', () => {
      const at = blocks.findIndex((b) => b.block.txs.length > 0) + 1;
      assert.ok(at > 0);
      const flipped = tampered(n, height, at, (w) => {
        const r = w.results[0]!;
        w.results[0] = r.success ? { success: false, error: 'INSUFFICIENT_FUNDS' } : { success: true };
      });
      assert.equal(codeOf(() => replayChain(n.node.genesis, flipped)), ErrorCode.INVALID_BLOCK);
      // A failed result with another error code.
      const failedAt = blocks.findIndex((b) => b.results.some((r) => !r.success)) + 1;
      assert.ok(failedAt > 0);
      const recoded = tampered(n, height, failedAt, (w) => {
        const i = w.results.findIndex((r) => !r.success);
        w.results[i] = { success: false, error: w.results[i]!.error === 'FORBIDDEN' ? 'INSUFFICIENT_FUNDS' : 'FORBIDDEN' };
      });
      assert.equal(codeOf(() => replayChain(n.node.genesis, recoded)), ErrorCode.INVALID_BLOCK);
    });

    it('error: a tampered stored tx amount makes replay throw INVALID_BLOCK', () => {
      const at = blocks.findIndex((b) => b.block.txs.some((d) => d.tx.kind === 'transfer')) + 1;
      assert.ok(at > 0);
      const changed = tampered(n, height, at, (w) => {
        const t = w.txs.find((x) => x.kind === 'transfer') as unknown as { payload: { amount: string } };
        t.payload.amount = (BigInt(t.payload.amount) + 1n).toString();
      });
      assert.equal(codeOf(() => replayChain(n.node.genesis, changed)), ErrorCode.INVALID_BLOCK);
    });

    it('error: a validly re-signed tx with another amount does not match the stored header', () => {
      const index = new Map([...Array(13).keys()].map((j) => [acct(j).address, j]));
      const at = blocks.findIndex((b) => b.block.txs.some((d) => d.tx.kind === 'transfer')) + 1;
      assert.ok(at > 0);
      const changed = tampered(n, height, at, (w) => {
        const i = w.txs.findIndex((x) => x.kind === 'transfer');
        const old = w.txs[i] as unknown as { from: string; nonce: number; fee: string; payload: { to: string; amount: string } };
        const re = transfer({ from: index.get(old.from)!, to: old.payload.to, amount: BigInt(old.payload.amount) + 1n, fee: BigInt(old.fee), nonce: old.nonce });
        assert.equal(re.tx.from, old.from);
        w.txs[i] = encodeTx(re.tx);
      });
      assert.equal(codeOf(() => replayChain(n.node.genesis, changed)), ErrorCode.INVALID_BLOCK);
    });

    it('error: a missing or reordered block makes replay throw INVALID_BLOCK', () => {
      assert.ok(height >= 3);
      assert.equal(codeOf(() => replayChain(n.node.genesis, [blocks[0]!, ...blocks.slice(2)])), ErrorCode.INVALID_BLOCK);
      assert.equal(codeOf(() => replayChain(n.node.genesis, [blocks[1]!, blocks[0]!, ...blocks.slice(2)])), ErrorCode.INVALID_BLOCK);
    });

    it('error: a tampered certificate makes replay throw INVALID_COMMIT', () => {
      const bad = tampered(n, height, height, (w) => {
        const s = w.commit.signatures[0]!;
        (w.commit.signatures as { validatorId: string; signature: string }[])[0] = { ...s, signature: (s.signature[0] === 'a' ? 'b' : 'a') + s.signature.slice(1) };
      });
      assert.equal(codeOf(() => replayChain(n.node.genesis, bad)), ErrorCode.INVALID_COMMIT);
    });
  });
}
