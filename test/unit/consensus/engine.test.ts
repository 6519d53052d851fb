/**
 * The Tendermint engine, rule by rule (numbers as in docs/consensus.md, "The rules, numbered"),
 * driven through `stepEvent` with hand-built events. The engine does not check
 * signatures (the driver does), so votes carry placeholder signatures; the
 * validator set is a real one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsensusEngine, DEFAULT_TIMEOUTS, type EngineAction, type EngineEvent, type LockState, type VoteType } from '../../../src/consensus/engine.js';
import { buildValidatorSet } from '../../../src/consensus/validatorSet.js';
import { sha256Hex } from '../../../src/crypto/hash.js';
import { newValidator } from '../../../src/state/staking.js';
import type { Block, ValidatorSet } from '../../../src/types/index.js';
import { CHAIN, val } from '../../helpers/fixtures.js';

const H = 7;

/** Four validators of equal power: a quorum is any three, a skip set any two. */
const set4: ValidatorSet = buildValidatorSet([0, 1, 2, 3].map((i) => newValidator({ pubKey: val(i).publicKey, stake: 10n, workWeight: 10_000 })));
/** Validator ids in set order; ids[0] is the local validator of the engines below. */
const ids = set4.validators.map((v) => v.id);

interface TestBlock {
  readonly block: Block;
  readonly hash: string;
}

/** A block for height H (the engine never looks inside; the driver checks validity). */
function testBlock(tag: string, round = 0): TestBlock {
  return testBlockWithHash(sha256Hex(`block:${tag}`), round);
}

function testBlockWithHash(hash: string, round = 0): TestBlock {
  const zero = '00'.repeat(32);
  const block: Block = {
    header: { version: 1, chainId: CHAIN, height: H, round, timestamp: 1_000 + round, prevHash: zero, proposer: ids[1]!, txRoot: zero, txCount: 0, stateRoot: zero, validatorSetHash: set4.hash, lastCommitHash: zero, evidenceHash: zero },
    txs: [],
    lastCommit: null,
    evidence: [],
  };
  return { block, hash };
}

const A = testBlock('A');
const B = testBlock('B');

/** Round r is proposed by ids[proposerIndex(r)]: by default round 0 by ids[1], round 1 by ids[2], round 2 by ids[3], round 3 by ids[0]. */
function rotation(first = 1): (round: number) => string {
  return (round) => ids[(first + round) % ids.length]!;
}

class Harness {
  readonly engine: ConsensusEngine;
  readonly log: EngineAction[] = [];
  constructor(
    readonly proposerOf: (round: number) => string = rotation(),
    local: readonly string[] = [ids[0]!],
  ) {
    this.engine = new ConsensusEngine(new Set(local));
  }
  step(e: EngineEvent): EngineAction[] {
    const out = this.engine.stepEvent(e);
    this.log.push(...out);
    return out;
  }
  start(opts: { lock?: LockState | null; round?: number; height?: number } = {}): EngineAction[] {
    return this.step({ kind: 'start', height: opts.height ?? H, set: set4, proposerOf: this.proposerOf, lock: opts.lock ?? null, ...(opts.round !== undefined ? { round: opts.round } : {}) });
  }
  propose(round: number, b: TestBlock, opts: { validRound?: number; valid?: boolean; proposer?: string } = {}): EngineAction[] {
    return this.step({
      kind: 'proposal',
      proposal: { height: H, round, validRound: opts.validRound ?? -1, proposer: opts.proposer ?? this.proposerOf(round), block: b.block, blockHash: b.hash, signature: `proposal-sig/${round}/${b.hash}` },
      valid: opts.valid ?? true,
    });
  }
  vote(type: VoteType, round: number, who: number, hash: string | null): EngineAction[] {
    return this.step({ kind: 'vote', vote: { type, height: H, round, validatorId: ids[who]!, blockHash: hash, signature: sigOf(type, round, who, hash) } });
  }
  prevotes(round: number, who: readonly number[], hash: string | null): EngineAction[] {
    return who.flatMap((i) => this.vote('prevote', round, i, hash));
  }
  precommits(round: number, who: readonly number[], hash: string | null): EngineAction[] {
    return who.flatMap((i) => this.vote('precommit', round, i, hash));
  }
  timeout(round: number, step: 'propose' | 'prevote' | 'precommit'): EngineAction[] {
    return this.step({ kind: 'timeout', height: H, round, step });
  }
}

function sigOf(type: VoteType, round: number, who: number, hash: string | null): string {
  return `sig/${type}/${round}/${who}/${hash ?? 'nil'}`;
}

const votesIn = (out: readonly EngineAction[]) => out.filter((a): a is Extract<EngineAction, { kind: 'vote' }> => a.kind === 'vote');
const schedulesIn = (out: readonly EngineAction[]) => out.filter((a): a is Extract<EngineAction, { kind: 'schedule' }> => a.kind === 'schedule');
const decisionsIn = (out: readonly EngineAction[]) => out.filter((a): a is Extract<EngineAction, { kind: 'decide' }> => a.kind === 'decide');
const locksIn = (out: readonly EngineAction[]) => out.filter((a): a is Extract<EngineAction, { kind: 'lock' }> => a.kind === 'lock');
const proposesIn = (out: readonly EngineAction[]) => out.filter((a): a is Extract<EngineAction, { kind: 'propose' }> => a.kind === 'propose');
const evidenceIn = (out: readonly EngineAction[]) => out.filter((a): a is Extract<EngineAction, { kind: 'evidence' }> => a.kind === 'evidence');

/** The one vote action in `out`, as [type, round, hash]. */
function onlyVote(out: readonly EngineAction[]): [VoteType, number, string | null] {
  const v = votesIn(out);
  assert.equal(v.length, 1, `expected one vote action, got ${JSON.stringify(v)}`);
  return [v[0]!.type, v[0]!.round, v[0]!.blockHash];
}

const T = DEFAULT_TIMEOUTS;

describe('consensus engine: rule 1 (start of a round)', () => {
  it('rule 1: the proposer of round 0 without a valid value asks for a new block', () => {
    const h = new Harness(rotation(0));
    const out = h.start();
    assert.deepEqual(proposesIn(out), [{ kind: 'propose', height: H, round: 0, block: null, blockHash: null, validRound: -1 }]);
    assert.equal(h.engine.round, 0);
    assert.equal(h.engine.step, 'propose');
  });

  it('rule 1: a validator that is not the proposer schedules timeoutPropose(r), growing with the round', () => {
    const h = new Harness();
    const out = h.start();
    assert.equal(proposesIn(out).length, 0);
    assert.deepEqual(schedulesIn(out), [{ kind: 'schedule', height: H, round: 0, step: 'propose', ms: T.proposeMs }]);
    const later = new Harness().start({ round: 2 });
    assert.deepEqual(schedulesIn(later), [{ kind: 'schedule', height: H, round: 2, step: 'propose', ms: T.proposeMs + 2 * T.proposeDeltaMs }]);
  });

  it('rule 1: the proposer of a later round proposes its valid value with its validRound', () => {
    // Round 0 by ids[1], round 1 by ids[0] (local).
    const h = new Harness((r) => ids[r === 1 ? 0 : 1]!);
    h.start();
    h.propose(0, A);
    h.prevotes(0, [1, 2, 3], A.hash);
    assert.equal(h.engine.lock?.blockHash, A.hash);
    const out = h.timeout(0, 'precommit');
    assert.equal(h.engine.round, 1);
    assert.deepEqual(proposesIn(out), [{ kind: 'propose', height: H, round: 1, block: A.block, blockHash: A.hash, validRound: 0 }]);
  });
});

describe('consensus engine: rule 2 (a new proposal, validRound = -1)', () => {
  it('rule 2: a valid proposal from the round proposer is prevoted when not locked', () => {
    const h = new Harness();
    h.start();
    assert.deepEqual(onlyVote(h.propose(0, A)), ['prevote', 0, A.hash]);
    assert.equal(h.engine.step, 'prevote');
  });

  it('rule 2: an invalid proposal is prevoted nil', () => {
    const h = new Harness();
    h.start();
    assert.deepEqual(onlyVote(h.propose(0, A, { valid: false })), ['prevote', 0, null]);
  });

  it('rule 2: a proposal from a validator that is not the round proposer is ignored', () => {
    const h = new Harness();
    h.start();
    assert.deepEqual(h.propose(0, A, { proposer: ids[2]! }), []);
    assert.equal(h.engine.step, 'propose');
  });

  it('rule 2: locked on another block, a new proposal is prevoted nil (the lock condition)', () => {
    const h = new Harness();
    h.start({ lock: { round: 0, blockHash: B.hash, block: B.block }, round: 1 });
    assert.deepEqual(onlyVote(h.propose(1, A)), ['prevote', 1, null]);
  });

  it('rule 2: locked on the proposed block, it is prevoted', () => {
    const h = new Harness();
    h.start({ lock: { round: 0, blockHash: A.hash, block: A.block }, round: 1 });
    assert.deepEqual(onlyVote(h.propose(1, A)), ['prevote', 1, A.hash]);
  });

  it('rule 2: only while in step propose (a proposal after timeoutPropose changes no vote)', () => {
    const h = new Harness();
    h.start();
    assert.deepEqual(onlyVote(h.timeout(0, 'propose')), ['prevote', 0, null]);
    assert.equal(votesIn(h.propose(0, A)).length, 0);
  });
});

describe('consensus engine: rule 3 (a re-proposal with validRound)', () => {
  it('rule 3: a re-proposal with a quorum of prevotes at validRound is prevoted although locked earlier on another block', () => {
    const h = new Harness();
    h.start({ lock: { round: 0, blockHash: B.hash, block: B.block }, round: 2 });
    h.prevotes(1, [1, 2, 3], A.hash);
    assert.deepEqual(onlyVote(h.propose(2, A, { validRound: 1 })), ['prevote', 2, A.hash]);
  });

  it('rule 3: without a quorum of prevotes at validRound it waits, and prevotes once the quorum arrives', () => {
    const h = new Harness();
    h.start({ round: 2 });
    assert.equal(votesIn(h.propose(2, A, { validRound: 1 })).length, 0);
    assert.equal(h.engine.step, 'propose');
    h.prevotes(1, [1, 2], A.hash);
    assert.equal(h.engine.step, 'propose');
    assert.deepEqual(onlyVote(h.vote('prevote', 1, 3, A.hash)), ['prevote', 2, A.hash]);
  });

  it('rule 3: locked after validRound on another block, the re-proposal is prevoted nil', () => {
    const h = new Harness();
    h.start({ lock: { round: 2, blockHash: B.hash, block: B.block }, round: 3 });
    h.prevotes(1, [1, 2, 3], A.hash);
    assert.deepEqual(onlyVote(h.propose(3, A, { validRound: 1, proposer: h.proposerOf(3) })), ['prevote', 3, null]);
  });

  it('rule 3: locked after validRound on the same block, the re-proposal is prevoted', () => {
    const h = new Harness();
    h.start({ lock: { round: 2, blockHash: A.hash, block: A.block }, round: 3 });
    h.prevotes(1, [1, 2, 3], A.hash);
    assert.deepEqual(onlyVote(h.propose(3, A, { validRound: 1 })), ['prevote', 3, A.hash]);
  });

  it('rule 3: an invalid re-proposal is prevoted nil', () => {
    const h = new Harness();
    h.start({ round: 2 });
    h.prevotes(1, [1, 2, 3], A.hash);
    assert.deepEqual(onlyVote(h.propose(2, A, { validRound: 1, valid: false })), ['prevote', 2, null]);
  });
});

describe('consensus engine: rule 4 (2/3 of any prevotes)', () => {
  it('rule 4: a quorum of prevotes of any kind schedules timeoutPrevote(r) once', () => {
    const h = new Harness();
    h.start();
    h.timeout(0, 'propose');
    assert.equal(schedulesIn([...h.vote('prevote', 0, 1, A.hash), ...h.vote('prevote', 0, 2, null)]).length, 0);
    assert.deepEqual(schedulesIn(h.vote('prevote', 0, 3, B.hash)), [{ kind: 'schedule', height: H, round: 0, step: 'prevote', ms: T.prevoteMs }]);
    assert.equal(schedulesIn(h.vote('prevote', 0, 0, null)).length, 0);
  });

  it('rule 4: only from step prevote: prevotes seen in step propose schedule it when the step is reached', () => {
    const h = new Harness();
    h.start();
    h.prevotes(0, [1, 2], A.hash);
    assert.equal(schedulesIn(h.vote('prevote', 0, 3, null)).length, 0);
    const out = h.timeout(0, 'propose');
    assert.deepEqual(schedulesIn(out).map((s) => s.step), ['prevote']);
  });
});

describe('consensus engine: rule 5 (a proposal and 2/3 prevotes for it)', () => {
  it('rule 5: in step prevote it locks, precommits the block and makes it the valid value', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.prevotes(0, [1, 2], A.hash);
    const out = h.vote('prevote', 0, 3, A.hash);
    assert.deepEqual(locksIn(out).map(({ polka: _, ...rest }) => rest), [{ kind: 'lock', height: H, round: 0, blockHash: A.hash, block: A.block }]);
    assert.equal(locksIn(out)[0]!.polka.length >= 3, true, 'the lock carries the prevotes that formed its polka');
    assert.deepEqual(onlyVote(out), ['precommit', 0, A.hash]);
    assert.ok(out.indexOf(locksIn(out)[0]!) < out.indexOf(votesIn(out)[0]!), 'the lock comes before the precommit it justifies');
    assert.equal(h.engine.step, 'precommit');
    assert.deepEqual(h.engine.lock, { round: 0, blockHash: A.hash });
  });

  it('rule 5: prevotes that arrive before the proposal count when it arrives', () => {
    const h = new Harness();
    h.start();
    h.prevotes(0, [1, 2, 3], A.hash);
    const out = h.propose(0, A);
    assert.deepEqual(votesIn(out).map((v) => [v.type, v.blockHash]), [['prevote', A.hash], ['precommit', A.hash]]);
    assert.equal(locksIn(out).length, 1);
  });

  it('rule 5: in step precommit it only updates the valid value (no lock, no vote)', () => {
    const h = new Harness((r) => ids[r === 1 ? 0 : 1]!);
    h.start();
    h.timeout(0, 'propose');
    h.timeout(0, 'prevote');
    assert.equal(h.engine.step, 'precommit');
    h.propose(0, A);
    const out = h.prevotes(0, [1, 2, 3], A.hash);
    assert.equal(locksIn(out).length, 0);
    assert.equal(votesIn(out).length, 0);
    assert.equal(h.engine.lock, null);
    // The valid value is proposed again in the next round we propose.
    assert.deepEqual(proposesIn(h.timeout(0, 'precommit')), [{ kind: 'propose', height: H, round: 1, block: A.block, blockHash: A.hash, validRound: 0 }]);
  });

  it('rule 5: an invalid proposal never locks', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A, { valid: false });
    const out = h.prevotes(0, [1, 2, 3], A.hash);
    assert.equal(locksIn(out).length, 0);
    assert.equal(h.engine.lock, null);
  });

  it('rule 5: only the first time in a round (one lock, one precommit)', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.prevotes(0, [1, 2, 3], A.hash);
    const out = h.vote('prevote', 0, 0, A.hash);
    assert.equal(locksIn(out).length + votesIn(out).length, 0);
  });
});

describe('consensus engine: rule 6 (2/3 nil prevotes)', () => {
  it('rule 6: a quorum of nil prevotes in step prevote: precommit nil', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.prevotes(0, [1, 2], null);
    assert.deepEqual(onlyVote(h.vote('prevote', 0, 3, null)), ['precommit', 0, null]);
    assert.equal(h.engine.step, 'precommit');
  });

  it('rule 6: not in step propose (the nil quorum acts once the step is prevote)', () => {
    const h = new Harness();
    h.start();
    assert.equal(votesIn(h.prevotes(0, [1, 2, 3], null)).length, 0);
    const out = h.timeout(0, 'propose');
    assert.deepEqual(votesIn(out).map((v) => [v.type, v.blockHash]), [['prevote', null], ['precommit', null]]);
  });
});

describe('consensus engine: rule 7 (2/3 of any precommits)', () => {
  it('rule 7: a quorum of precommits of any kind schedules timeoutPrecommit(r) once', () => {
    const h = new Harness();
    h.start();
    assert.equal(schedulesIn([...h.vote('precommit', 0, 1, A.hash), ...h.vote('precommit', 0, 2, null)]).length, 0);
    assert.deepEqual(schedulesIn(h.vote('precommit', 0, 3, B.hash)), [{ kind: 'schedule', height: H, round: 0, step: 'precommit', ms: T.precommitMs }]);
    assert.equal(schedulesIn(h.vote('precommit', 0, 0, null)).length, 0);
  });
});

describe('consensus engine: rule 8 (decide)', () => {
  it('rule 8: the proposal and a quorum of precommits for it decide, those precommits are the certificate', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.precommits(0, [3, 1], A.hash);
    const out = h.vote('precommit', 0, 2, A.hash);
    const [d] = decisionsIn(out);
    assert.ok(d !== undefined);
    assert.equal(d.blockHash, A.hash);
    assert.equal(d.block, A.block);
    const signers = [1, 2, 3].map((i) => ({ validatorId: ids[i]!, signature: sigOf('precommit', 0, i, A.hash) })).sort((a, b) => (a.validatorId < b.validatorId ? -1 : 1));
    assert.deepEqual(d.commit, { height: H, round: 0, blockHash: A.hash, signatures: signers });
    assert.ok(h.engine.isDecided);
    // Nothing more happens at this height.
    assert.deepEqual(h.timeout(0, 'propose'), []);
  });

  it('rule 8: precommits of an earlier round decide while the engine is in a later round', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.timeout(0, 'precommit');
    assert.equal(h.engine.round, 1);
    const out = h.precommits(0, [1, 2, 3], A.hash);
    assert.deepEqual(decisionsIn(out).map((d) => [d.blockHash, d.commit.round]), [[A.hash, 0]]);
  });

  it('rule 8: precommits arriving before the proposal decide when it arrives', () => {
    const h = new Harness();
    h.start();
    h.precommits(0, [1, 2, 3], A.hash);
    assert.equal(h.engine.isDecided, false);
    assert.equal(decisionsIn(h.propose(0, A)).length, 1);
  });

  it('rule 8: no decision for an invalid proposal, nor for precommits of another block', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A, { valid: false });
    assert.equal(decisionsIn(h.precommits(0, [1, 2, 3], A.hash)).length, 0);
    const g = new Harness();
    g.start();
    g.propose(0, A);
    assert.equal(decisionsIn(g.precommits(0, [1, 2, 3], B.hash)).length, 0);
  });
});

describe('consensus engine: rule 9 (round skip)', () => {
  it('rule 9: messages of a higher round from 1/3 of the power move the engine to that round', () => {
    const h = new Harness();
    h.start();
    assert.equal(h.vote('prevote', 3, 1, A.hash).length, 0);
    const out = h.vote('prevote', 3, 2, null);
    assert.equal(h.engine.round, 3);
    assert.equal(h.engine.step, 'propose');
    assert.deepEqual(schedulesIn(out), [{ kind: 'schedule', height: H, round: 3, step: 'propose', ms: T.proposeMs + 3 * T.proposeDeltaMs }]);
  });

  it('rule 9: prevotes and precommits together make the skip set, each validator once', () => {
    const h = new Harness();
    h.start();
    h.vote('prevote', 2, 1, A.hash);
    h.vote('precommit', 2, 1, A.hash);
    assert.equal(h.engine.round, 0, 'one validator is not 1/3 of the power');
    h.vote('precommit', 2, 2, null);
    assert.equal(h.engine.round, 2);
  });

  it('rule 9: messages of the current or an earlier round never skip', () => {
    const h = new Harness();
    h.start({ round: 2 });
    h.prevotes(1, [1, 2, 3], A.hash);
    h.precommits(0, [1, 2, 3], null);
    assert.equal(h.engine.round, 2);
  });
});

describe('consensus engine: rule 10 (timeouts)', () => {
  it('rule 10a: timeoutPropose in step propose prevotes nil', () => {
    const h = new Harness();
    h.start();
    assert.deepEqual(onlyVote(h.timeout(0, 'propose')), ['prevote', 0, null]);
    assert.equal(h.engine.step, 'prevote');
  });

  it('rule 10a: a timeout of another round or a later step is ignored', () => {
    const h = new Harness();
    h.start({ round: 1 });
    assert.deepEqual(h.timeout(0, 'propose'), []);
    h.propose(1, A);
    assert.deepEqual(h.timeout(1, 'propose'), []);
  });

  it('rule 10b: timeoutPrevote in step prevote precommits nil', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    assert.deepEqual(onlyVote(h.timeout(0, 'prevote')), ['precommit', 0, null]);
    assert.equal(h.engine.step, 'precommit');
    assert.deepEqual(h.timeout(0, 'prevote'), []);
  });

  it('rule 10c: timeoutPrecommit starts the next round', () => {
    const h = new Harness();
    h.start();
    const out = h.timeout(0, 'precommit');
    assert.equal(h.engine.round, 1);
    assert.equal(h.engine.step, 'propose');
    assert.deepEqual(schedulesIn(out), [{ kind: 'schedule', height: H, round: 1, step: 'propose', ms: T.proposeMs + T.proposeDeltaMs }]);
    assert.deepEqual(h.timeout(0, 'precommit'), [], 'a stale timeoutPrecommit is ignored');
  });
});

describe('consensus engine: certified blocks and restarts', () => {
  it('certified: a block with a verified certificate for the height decides it', () => {
    const h = new Harness();
    h.start();
    const commit = { height: H, round: 4, blockHash: A.hash, signatures: [] };
    assert.deepEqual(decisionsIn(h.step({ kind: 'certified', block: A.block, blockHash: A.hash, commit })), [{ kind: 'decide', height: H, block: A.block, blockHash: A.hash, commit }]);
    assert.deepEqual(h.step({ kind: 'certified', block: A.block, blockHash: A.hash, commit }), [], 'decided once');
  });

  it('certified: a certificate for another height is ignored', () => {
    const h = new Harness();
    h.start();
    assert.deepEqual(h.step({ kind: 'certified', block: A.block, blockHash: A.hash, commit: { height: H + 1, round: 0, blockHash: A.hash, signatures: [] } }), []);
    assert.equal(h.engine.isDecided, false);
  });

  it('restart: a saved lock and round are kept; the locked block is the valid value', () => {
    // Local is the proposer of round 3.
    const h = new Harness();
    const out = h.start({ lock: { round: 1, blockHash: A.hash, block: A.block }, round: 3 });
    assert.equal(h.engine.round, 3);
    assert.deepEqual(h.engine.lock, { round: 1, blockHash: A.hash });
    assert.deepEqual(proposesIn(out), [{ kind: 'propose', height: H, round: 3, block: A.block, blockHash: A.hash, validRound: 1 }]);
  });

  it('restart: a saved lock without its block keeps the lock but has no valid value', () => {
    const h = new Harness();
    const out = h.start({ lock: { round: 1, blockHash: A.hash }, round: 3 });
    assert.deepEqual(proposesIn(out), [{ kind: 'propose', height: H, round: 3, block: null, blockHash: null, validRound: -1 }]);
    // The lock still applies to other proposals.
    const g = new Harness();
    g.start({ lock: { round: 1, blockHash: A.hash }, round: 2 });
    assert.deepEqual(onlyVote(g.propose(2, B)), ['prevote', 2, null]);
  });

  it('restart: a new height starts from a blank state', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.prevotes(0, [1, 2, 3], A.hash);
    assert.ok(h.engine.lock !== null);
    h.precommits(0, [1, 2, 3], A.hash);
    assert.ok(h.engine.isDecided);
    h.step({ kind: 'start', height: H + 1, set: set4, proposerOf: rotation() });
    assert.equal(h.engine.lock, null);
    assert.equal(h.engine.isDecided, false);
    assert.equal(h.engine.round, 0);
    assert.deepEqual(h.engine.tallySize, { values: 0, entries: 0 });
  });
});

describe('consensus engine: counting votes', () => {
  it('counting: two votes of one validator for the same value count once', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.vote('prevote', 0, 1, A.hash);
    const again = h.vote('prevote', 0, 1, A.hash);
    assert.deepEqual(again, [], 'a duplicate is neither counted nor evidence');
    assert.equal(locksIn(h.vote('prevote', 0, 2, A.hash)).length, 0);
    assert.equal(locksIn(h.vote('prevote', 0, 3, A.hash)).length, 1);
  });

  it("counting: an equivocator's second vote is evidence and counts for its own value, so a quorum can include it", () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.vote('prevote', 0, 3, null);
    h.prevotes(0, [1, 2], A.hash);
    const out = h.vote('prevote', 0, 3, A.hash);
    assert.equal(evidenceIn(out).length, 1);
    assert.equal(evidenceIn(out)[0]!.first.signature, sigOf('prevote', 0, 3, null));
    assert.equal(evidenceIn(out)[0]!.second.signature, sigOf('prevote', 0, 3, A.hash));
    assert.equal(locksIn(out).length, 1);
    assert.deepEqual(votesIn(out).map((v) => [v.type, v.blockHash]), [['precommit', A.hash]]);
  });

  it("counting: a quorum of precommits including an equivocator's second precommit decides, and that precommit is in the certificate", () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.vote('precommit', 0, 3, null);
    h.precommits(0, [1, 2], A.hash);
    const [d] = decisionsIn(h.vote('precommit', 0, 3, A.hash));
    assert.ok(d !== undefined);
    assert.ok(d.commit.signatures.some((s) => s.validatorId === ids[3] && s.signature === sigOf('precommit', 0, 3, A.hash)));
    assert.equal(d.commit.signatures.length, 3);
  });

  it("counting: the quorum does not depend on the order of an equivocator's votes", () => {
    for (const order of [
      [null, A.hash],
      [A.hash, null],
    ]) {
      const h = new Harness();
      h.start();
      h.propose(0, A);
      for (const hash of order) h.vote('prevote', 0, 3, hash);
      h.prevotes(0, [1, 2], A.hash);
      assert.deepEqual(h.engine.lock, { round: 0, blockHash: A.hash }, `order ${JSON.stringify(order)}`);
    }
  });

  it("counting: an equivocator's nil second vote counts toward a nil quorum (rule 6)", () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.vote('prevote', 0, 3, A.hash);
    h.prevotes(0, [1, 2], null);
    assert.deepEqual(votesIn(h.vote('prevote', 0, 3, null)).map((v) => [v.type, v.blockHash]), [['precommit', null]]);
  });

  it("counting: an equivocator's second vote never counts in rule 4's any-value total", () => {
    const h = new Harness();
    h.start();
    h.timeout(0, 'propose');
    h.vote('prevote', 0, 1, A.hash);
    h.vote('prevote', 0, 1, null);
    h.vote('prevote', 0, 1, B.hash);
    assert.equal(schedulesIn(h.vote('prevote', 0, 2, A.hash)).length, 0, 'two validators are not 2/3');
    assert.equal(schedulesIn(h.vote('prevote', 0, 3, B.hash)).length, 1);
  });

  it("counting: an equivocator's second vote never counts in rule 7's any-value total", () => {
    const h = new Harness();
    h.start();
    h.vote('precommit', 0, 1, A.hash);
    h.vote('precommit', 0, 1, null);
    assert.equal(schedulesIn(h.vote('precommit', 0, 2, B.hash)).length, 0, 'two validators are not 2/3');
    assert.equal(schedulesIn(h.vote('precommit', 0, 3, null)).length, 1);
  });

  it("counting: an equivocator's second vote never counts in rule 9's skip set", () => {
    const h = new Harness();
    h.start();
    h.vote('prevote', 2, 1, A.hash);
    h.vote('prevote', 2, 1, null);
    h.vote('precommit', 2, 1, B.hash);
    h.vote('precommit', 2, 1, null);
    assert.equal(h.engine.round, 0);
    h.vote('prevote', 2, 2, B.hash);
    assert.equal(h.engine.round, 2);
  });
});

/** `n` distinct block hashes nobody proposed. */
function junk(n: number, tag = 'junk'): string[] {
  return Array.from({ length: n }, (_, i) => sha256Hex(`${tag}:${i}`));
}

describe('consensus engine: what one validator can make it hold', () => {
  it('bound: a validator sending 10,000 distinct prevotes keeps the tallies bounded, is reported once, and an honest quorum still decides', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.vote('prevote', 0, 3, null);
    const flood = junk(10_000);
    let evidence = 0;
    for (const hash of flood.slice(0, 10)) evidence += evidenceIn(h.vote('prevote', 0, 3, hash)).length;
    const early = h.engine.tallySize;
    for (const hash of flood.slice(10)) evidence += evidenceIn(h.vote('prevote', 0, 3, hash)).length;
    const after = h.engine.tallySize;
    assert.deepEqual(after, early, 'the tallies do not grow with the number of votes one validator sends');
    assert.ok(after.values <= 4 && after.entries <= 8, `tallies hold ${JSON.stringify(after)}`);
    assert.equal(evidence, 1, 'the equivocation is reported once');
    // The honest validators (the local one included, its own vote fed back) still reach a quorum and decide.
    h.vote('prevote', 0, 0, A.hash);
    h.prevotes(0, [1, 2], A.hash);
    assert.deepEqual(h.engine.lock, { round: 0, blockHash: A.hash });
    const out = h.precommits(0, [0, 1, 2], A.hash);
    assert.deepEqual(decisionsIn(out).map((d) => d.blockHash), [A.hash]);
  });

  it('bound: a validator sending 10,000 distinct precommits keeps the tallies bounded and the honest quorum decides', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.vote('precommit', 0, 3, A.hash);
    let evidence = 0;
    for (const hash of junk(10_000)) evidence += evidenceIn(h.vote('precommit', 0, 3, hash)).length;
    assert.equal(evidence, 1);
    const size = h.engine.tallySize;
    assert.ok(size.values <= 4 && size.entries <= 8, `tallies hold ${JSON.stringify(size)}`);
    const [d] = decisionsIn(h.precommits(0, [1, 2], A.hash));
    assert.ok(d !== undefined);
    assert.equal(d.commit.signatures.length, 3);
  });

  it('bound: flooding every round of the window keeps memory proportional to validators times rounds', () => {
    const h = new Harness();
    h.start();
    const perRound = 50;
    for (let r = 0; r <= 100; r++) {
      for (const type of ['prevote', 'precommit'] as const) {
        for (const hash of junk(perRound, `r${r}${type}`)) h.vote(type, r, 3, hash);
      }
    }
    assert.equal(h.engine.round, 0, 'one validator is not a skip set');
    const size = h.engine.tallySize;
    // Per round and type: one first vote plus at most a couple of held-back ones.
    assert.ok(size.entries <= 101 * 2 * 4, `tallies hold ${JSON.stringify(size)} after ${101 * 2 * perRound} votes`);
  });

  it("bound: an equivocator's vote for the proposal that arrives before the proposal counts once the proposal arrives (classic liveness case)", () => {
    const h = new Harness();
    h.start();
    h.vote('prevote', 0, 3, null);
    h.vote('prevote', 0, 3, A.hash);
    h.vote('precommit', 0, 3, null);
    h.vote('precommit', 0, 3, A.hash);
    h.propose(0, A);
    h.prevotes(0, [1, 2], A.hash);
    assert.deepEqual(h.engine.lock, { round: 0, blockHash: A.hash });
    const [d] = decisionsIn(h.precommits(0, [1, 2], A.hash));
    assert.ok(d !== undefined);
    assert.ok(d.commit.signatures.some((s) => s.validatorId === ids[3]));
  });

  it("bound: after a flood, the flooder's vote for the round's proposal still counts", () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    h.vote('prevote', 0, 3, null);
    for (const hash of junk(1_000)) h.vote('prevote', 0, 3, hash);
    h.vote('prevote', 0, 3, A.hash);
    h.prevotes(0, [1, 2], A.hash);
    assert.deepEqual(h.engine.lock, { round: 0, blockHash: A.hash });
  });

  it("bound: after a flood, the flooder's vote for a value a later proposal claims with validRound still counts (rule 3)", () => {
    const h = new Harness();
    h.start({ round: 2 });
    assert.equal(votesIn(h.propose(2, A, { validRound: 1 })).length, 0);
    h.vote('prevote', 1, 3, null);
    for (const hash of junk(1_000)) h.vote('prevote', 1, 3, hash);
    h.vote('prevote', 1, 3, A.hash);
    h.vote('prevote', 1, 1, A.hash);
    assert.deepEqual(onlyVote(h.vote('prevote', 1, 2, A.hash)), ['prevote', 2, A.hash]);
  });

  it("bound: a held-back vote counts once a third of the power has voted for its value", () => {
    // No proposal at this node: the value is shown by the others' votes.
    const h = new Harness();
    h.start();
    h.vote('precommit', 0, 3, null);
    h.vote('precommit', 0, 3, A.hash);
    h.precommits(0, [1, 2], A.hash);
    const [d] = decisionsIn(h.propose(0, A));
    assert.ok(d !== undefined);
    assert.equal(d.commit.signatures.length, 3);
  });

  it('bound: beyond the first held-back votes, votes for values nobody else supports are dropped', () => {
    const flood = junk(100);
    const run = (target: string): boolean => {
      const h = new Harness();
      h.start();
      h.vote('prevote', 0, 3, null);
      for (const hash of flood) h.vote('prevote', 0, 3, hash);
      h.propose(0, testBlockWithHash(target));
      h.vote('prevote', 0, 1, target);
      h.vote('prevote', 0, 2, target);
      return h.engine.lock !== null;
    };
    assert.equal(run(flood[0]!), true, 'the first extra vote is held back and counts when its value is proposed');
    assert.equal(run(flood[50]!), false, 'a later one was dropped');
  });

  it('bound: holdsVote tells a counted or held-back vote from a dropped one, which counts when it arrives again once its value is endorsed', () => {
    const h = new Harness();
    h.start();
    const vote = (hash: string | null) => ({ type: 'prevote' as const, height: H, round: 0, validatorId: ids[3]!, blockHash: hash, signature: sigOf('prevote', 0, 3, hash) });
    const flood = junk(10);
    h.vote('prevote', 0, 3, null);
    for (const hash of flood) h.vote('prevote', 0, 3, hash);
    assert.equal(h.engine.holdsVote(vote(null)), true, 'first vote');
    assert.equal(h.engine.holdsVote(vote(flood[0]!)), true, 'held back');
    assert.equal(h.engine.holdsVote(vote(flood[5]!)), false, 'dropped');
    assert.equal(h.engine.holdsVote({ ...vote(null), signature: 'other' }), false, 'another signature');
    // Once its value is proposed, the dropped vote counts when it is sent again.
    const target = testBlockWithHash(flood[5]!);
    h.propose(0, target);
    h.vote('prevote', 0, 3, flood[5]!);
    assert.equal(h.engine.holdsVote(vote(flood[5]!)), true);
    h.prevotes(0, [1, 2], flood[5]!);
    assert.deepEqual(h.engine.lock, { round: 0, blockHash: flood[5]! });
  });
  it('bound: evidence is reported once per validator, round and type', () => {
    const h = new Harness();
    h.start();
    h.vote('prevote', 0, 1, A.hash);
    assert.equal(evidenceIn(h.vote('prevote', 0, 1, null)).length, 1);
    assert.equal(evidenceIn(h.vote('prevote', 0, 1, B.hash)).length, 0);
    h.vote('precommit', 0, 1, A.hash);
    assert.equal(evidenceIn(h.vote('precommit', 0, 1, null)).length, 1);
    h.vote('prevote', 1, 1, A.hash);
    assert.equal(evidenceIn(h.vote('prevote', 1, 1, null)).length, 1);
  });

  it('bound: a conflicting proposal is reported once per round and never replaces the first', () => {
    const h = new Harness();
    h.start();
    h.propose(0, A);
    assert.equal(evidenceIn(h.propose(0, B)).length, 1);
    let more = 0;
    for (const hash of junk(100)) more += evidenceIn(h.propose(0, testBlockWithHash(hash))).length;
    assert.equal(more, 0);
    assert.equal(locksIn(h.prevotes(0, [1, 2, 3], A.hash)).length, 1);
  });
});
