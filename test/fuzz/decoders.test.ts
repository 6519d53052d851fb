/**
 * Every fuzz target (targets.ts) with a fixed seed and a few runs each, so that
 * CI replays the same cases every time. Long campaigns with random seeds:
 * `npm run fuzz` (cli.ts). A target marked with a known issue (a bug in a file
 * the fuzzing does not fix) runs as a todo: its failure is shown, not counted.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { describeFailure, runTarget } from './run.js';
import { TARGETS, removeScratch } from './targets.js';

const SEED = 20_260_101;
const RUNS = 150;

after(removeScratch);

describe('fuzz: every decoder of network and file input (fixed seed)', () => {
  for (const t of TARGETS) {
    it(`${t.name}: ${t.what}`, t.knownIssue === undefined ? {} : { todo: t.knownIssue }, () => {
      const r = runTarget(t, { seed: SEED, runs: RUNS });
      assert.equal(r.failed, false, describeFailure(r));
    });
  }
});
