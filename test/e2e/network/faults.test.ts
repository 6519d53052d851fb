/**
 * Validator networks of real processes under faults: an offline validator, crashes
 * below and at the 2/3 threshold, repeated kill -9 under load, and a node that
 * is stopped for many blocks and catches up. After each: the nodes agree at
 * every height, and no validator signed two different precommits for one
 * (height, round) in any certificate or guard record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signTransfer } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import {
  CHAIN_ID,
  assertNoDoubleSign,
  checkAgreement,
  commonHeight,
  evidenceOf,
  getJson,
  heightOf,
  heights,
  postJson,
  proposerOf,
  readGuard,
  rng,
  sleep,
  startNetwork,
  status,
  waitForHeight,
  withNetwork,
  type NetNode,
  type Network,
} from '../../helpers/network.js';

describe('validator network: faults', { timeout: 200_000 }, () => {
  it('(a) 5 validators, one never started: finality continues; its round-0 heights are decided in round >= 1', async (t) => {
    await withNetwork({ n: 5, dontStart: [4] }, async (net) => {
      const live = net.nodes.slice(0, 4);
      const offline = net.nodes[4]!.validatorId;
      // The first height >= 12 by which the offline validator led round 0 at least twice (bounded).
      let target = 12;
      const offlineHeights = (upTo: number): number[] => Array.from({ length: upTo }, (_, i) => i + 1).filter((h) => proposerOf(net.set, h, 0) === offline);
      while (offlineHeights(target).length < 2 && target < 40) target++;
      assert.ok(offlineHeights(target).length >= 1, 'the offline validator never leads round 0 in the first 40 heights');

      await waitForHeight(live, target, 60_000);
      const chains = await checkAgreement(live, target);
      const blocks = chains[0]!;
      const slow = offlineHeights(target);
      const rounds = blocks.map((b) => ({ h: b.header.height, round: b.header.round, commitRound: b.commit.round, proposer: b.header.proposer }));
      t.diagnostic(`offline proposer at heights ${slow.join(',')}; rounds: ${rounds.map((r) => `${r.h}:${r.round}`).join(' ')}`);
      for (const r of rounds) assert.notEqual(r.proposer, offline, `height ${r.h} was proposed by the offline validator`);
      for (const h of slow) {
        const r = rounds[h - 1]!;
        assert.ok(r.round >= 1 && r.commitRound >= 1, `height ${h} (offline round-0 proposer) was decided in round ${r.round}`);
      }
      const others = rounds.filter((r) => !slow.includes(r.h));
      const inRound0 = others.filter((r) => r.round === 0).length;
      assert.ok(inRound0 >= Math.ceil(others.length * 0.7), `only ${inRound0} of ${others.length} heights with an online round-0 proposer were decided in round 0`);
      await assertNoDoubleSign(net, live, target);
      assert.deepEqual(await evidenceOf(live), []);
    });
  });

  it('(b) 3 equal validators: one down keeps finality (2/3), two down stops it, restarting both resumes it without a fork', async () => {
    await withNetwork({ n: 3 }, async (net) => {
      const [a, b, c] = net.nodes as [NetNode, NetNode, NetNode];
      await waitForHeight(net.nodes, 3, 20_000);

      await c.kill('SIGKILL');
      const h0 = Math.max(...(await heights([a, b])));
      await waitForHeight([a, b], h0 + 3, 20_000);

      await b.kill('SIGKILL');
      await sleep(800); // a block being committed when b died may still land
      const h1 = await heightOf(a);
      await sleep(3000);
      const h2 = await heightOf(a);
      assert.ok(h1 >= h0 + 3, `a answers /status (height ${h1})`);
      assert.equal(h2, h1, `a finalized heights ${h1 + 1}..${h2} alone with 1/3 of the power`);

      await Promise.all([b.restart(), c.restart()]);
      await waitForHeight(net.nodes, h2 + 3, 40_000);
      const h = await commonHeight(net.nodes);
      await checkAgreement(net.nodes, h);
      await assertNoDoubleSign(net, net.nodes, h);
      assert.deepEqual(await evidenceOf(net.nodes), []);
    });
  });

  describe('(c) repeated kill -9 of a random validator of 4 under load', () => {
    let net: Network;
    const observed = new Map<number, Set<string>>();
    let runInfo = '';
    let stallMs = 0;

    before(async () => {
      net = await startNetwork({ n: 4 });
      const nodes = net.nodes;
      try {
        await waitForHeight(nodes, 2, 20_000);
        const rand = rng(20_240_601);
        let stop = false;
        let best = 0;
        let bestAt = Date.now();
        let longestStall = 0;
        /** Every (height -> hash) any node reports as its latest block while the faults go on. */
        const observe = async (): Promise<void> => {
          for (let i = 0; i < 2000 && !stop; i++) {
            await Promise.all(
              nodes.filter((n) => n.running).map(async (n) => {
                try {
                  const s = await status(n);
                  if (s.latestHeight > 0) (observed.get(s.latestHeight) ?? observed.set(s.latestHeight, new Set()).get(s.latestHeight)!).add(s.latestHash);
                  if (s.latestHeight > best) {
                    best = s.latestHeight;
                    bestAt = Date.now();
                  }
                } catch {
                  /* killed meanwhile */
                }
              }),
            );
            longestStall = Math.max(longestStall, Date.now() - bestAt);
            await sleep(100);
          }
        };
        let accepted = 0;
        let refused = 0;
        const load = async (): Promise<void> => {
          for (let i = 0; i < 400 && !stop; i++) {
            const up = nodes.filter((n) => n.running);
            const node = up[i % Math.max(1, up.length)];
            if (node !== undefined) {
              const from = 1 + (i % 8);
              try {
                const { pendingNonce } = await getJson(`${node.url}/accounts/${devAccount(from).address}`, 1000);
                const { tx } = signTransfer(devAccount(from).privateKey, { chainId: CHAIN_ID, nonce: pendingNonce, to: devAccount(9).address, amount: 1n, fee: 1n });
                const r = await postJson(`${node.url}/tx`, tx);
                if (r.status === 202) accepted++;
                else refused++;
              } catch {
                refused++; // the node was killed under us
              }
            }
            await sleep(40);
          }
        };
        const background = Promise.all([observe(), load()]);
        const schedule: string[] = [];
        try {
          for (let cycle = 0; cycle < 6; cycle++) {
            const victim = nodes[Math.floor(rand() * nodes.length)]!;
            const downMs = 1000 + Math.floor(rand() * 1000);
            schedule.push(`kill node${victim.index} at height ${await heightOf(nodes[(victim.index + 1) % nodes.length]!)} for ${downMs} ms`);
            await victim.kill('SIGKILL');
            await sleep(downMs);
            await victim.restart();
            await sleep(300 + Math.floor(rand() * 500));
          }
        } finally {
          stop = true;
          await background;
        }
        stallMs = longestStall;
        runInfo = `schedule: ${schedule.join('; ')}; txs accepted ${accepted}, refused ${refused}; longest time without a new height ${longestStall} ms; heights after: ${(await heights(nodes)).join(',')}`;
      } catch (e) {
        await net.stop();
        throw e;
      }
    });

    after(async () => {
      await net?.stop();
    });

    it('safety: the nodes agree at every height they all have, one block per height ever reported, no double signature', async (t) => {
      t.diagnostic(runInfo);
      const nodes = net.nodes;
      try {
        const h = await commonHeight(nodes);
        const chains = await checkAgreement(nodes, h);
        for (const [height, hashes] of observed) {
          assert.equal(hashes.size, 1, `two different blocks reported at height ${height}: ${[...hashes].join(' ')}`);
          if (height <= h) assert.equal([...hashes][0], chains[0]![height - 1]!.hash, `height ${height} reported a block that is not in the final chain`);
        }
        // Heights some node has and another not yet: the same block wherever it exists.
        const top = Math.max(...(await heights(nodes)));
        for (let height = h + 1; height <= top; height++) {
          const hashes = new Set<string>();
          for (const n of nodes) if ((await heightOf(n)) >= height) hashes.add((await getJson(`${n.url}/blocks/${height}`)).hash);
          assert.ok(hashes.size <= 1, `two different blocks at height ${height}`);
        }
        const txs = chains[0]!.reduce((s, b) => s + b.txs.length, 0);
        assert.ok(txs > 0, 'no tx was finalized during the run');
        const report = await assertNoDoubleSign(net, nodes, top);
        t.diagnostic(`common height ${h}, ${txs} txs, ${report.certificates} certificates, ${report.precommits} distinct precommits checked`);
        assert.deepEqual(await evidenceOf(nodes), []);
      } catch (e) {
        if (e instanceof Error) e.message += `\n${runInfo}\n\nnode logs (tail):\n${net.logTail(25)}`;
        throw e;
      }
    });

    it('liveness: with at most 1 of 4 validators down at a time, finality never stops for more than 30 s, and resumes on all once every validator is back', async (t) => {
      const nodes = net.nodes;
      t.diagnostic(runInfo);
      const top = Math.max(...(await heights(nodes)));
      try {
        await waitForHeight(nodes, top + 2, 25_000);
      } catch (e) {
        const guards = nodes.map((n) => `node${n.index} ${n.validatorId.slice(0, 8)}: ${JSON.stringify(readGuard(n.dir)?.last[n.validatorId] ?? null)}`);
        if (e instanceof Error) e.message += `\nheights ${(await heights(nodes)).join(',')}\nguard records:\n${guards.join('\n')}\n\nnode logs (tail):\n${net.logTail(12)}`;
        throw e;
      }
      const h = await commonHeight(nodes);
      await checkAgreement(nodes, h);
      t.diagnostic(`resumed: common height ${h}`);
      assert.ok(stallMs <= 30_000, `no new height for ${stallMs} ms while at most one validator of four was down`);
    });
  });

  it('(d) a validator stopped for 20+ heights rejoins, catches up and agrees', async () => {
    await withNetwork({ n: 3 }, async (net) => {
      const [a, b, c] = net.nodes as [NetNode, NetNode, NetNode];
      await waitForHeight(net.nodes, 2, 20_000);
      const how = await c.kill('SIGTERM');
      assert.deepEqual(how, { code: 0, signal: null }, 'graceful stop on SIGTERM');
      const stoppedAt = Math.max(...(await heights([a, b])));
      await waitForHeight([a, b], stoppedAt + 22, 40_000);
      await c.restart();
      const target = Math.max(...(await heights([a, b])));
      await waitForHeight([c], target, 20_000);
      await waitForHeight(net.nodes, target + 2, 20_000);
      // The line comes once the sync round has asked every peer, which may be after the node reached the height.
      const caughtUp = (): boolean => c.logs.some((l) => l.includes('caught up from peers'));
      for (const until = Date.now() + 20_000; !caughtUp() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
      assert.ok(caughtUp(), 'the node caught up through /sync/blocks');
      const h = await commonHeight(net.nodes);
      await checkAgreement(net.nodes, h);
      await assertNoDoubleSign(net, net.nodes, h);
    });
  });
});
