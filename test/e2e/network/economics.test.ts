/**
 * Validator lifecycle across real processes: a validator bonds on a running
 * network and signs from the next epoch on; another unbonds and leaves the set
 * at the boundary; a validator that double-votes (a test-only entry script,
 * test/helpers/byzantineNode.ts) is slashed and jailed by the evidence the
 * honest nodes put in their blocks, and finality goes on throughout.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { signTx } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { DEFAULT_PARAMS } from '../../../src/state/genesis.js';
import type { Genesis } from '../../../src/types/index.js';
import {
  CHAIN_ID,
  DEV_BALANCE,
  checkAgreement,
  fetchBlocks,
  getJson,
  heightOf,
  postJson,
  startNetwork,
  waitForHeight,
  waitUntil,
  type Network,
} from '../../helpers/network.js';

const EPOCH = 10;
const STAKE = 1_000_000n;
const BYZANTINE = 3;
const LEAVING = 2;
const JOINING = 4;
const byzantineEntry = ['--import', 'tsx', fileURLToPath(new URL('../../helpers/byzantineNode.ts', import.meta.url))];

interface ValidatorView {
  id: string;
  status: string;
  stake: string;
  votingPower: string;
}

async function validators(url: string): Promise<ValidatorView[]> {
  const r = await getJson<ValidatorView[] | { validators: ValidatorView[] }>(`${url}/validators`);
  return Array.isArray(r) ? r : r.validators;
}

async function submit(url: string, account: number, nonce: number, kind: string, payload: Record<string, unknown>): Promise<string> {
  const k = devAccount(account);
  const { id, tx } = signTx(k.privateKey, { chainId: CHAIN_ID, kind, from: k.address, pubKey: k.publicKey, nonce, fee: 10n, payload } as never);
  const r = await postJson(`${url}/tx`, tx);
  assert.equal(r.status, 202, `POST /tx ${kind}: ${JSON.stringify(r.body)}`);
  return id;
}

async function finalizedAt(url: string, id: string): Promise<number> {
  const st = await waitUntil(
    async () => {
      const r = await getJson<{ status: string; height?: number; success?: boolean; error?: string }>(`${url}/tx?id=${id}`).catch(() => undefined);
      return r !== undefined && r.status === 'finalized' ? r : undefined;
    },
    60_000,
    `tx ${id} finalized`,
  );
  assert.equal(st.success, true, `tx ${id} failed: ${st.error}`);
  return st.height!;
}

describe('validator economics across processes', { timeout: 240_000 }, () => {
  let net: Network;

  before(async () => {
    net = await startNetwork({
      n: 5,
      dontStart: [JOINING],
      entry: (i) => (i === BYZANTINE ? byzantineEntry : undefined),
      genesis: (keys): Genesis => ({
        chainId: CHAIN_ID,
        genesisTime: 1_767_225_600_000,
        treasury: 'ab'.repeat(20),
        params: {
          ...DEFAULT_PARAMS,
          governance: [devAccount(0).address],
          epochLengthBlocks: EPOCH,
          unbondingPeriodBlocks: 30,
          evidenceMaxAgeBlocks: 30,
          // Slow starts and restarts must not jail anyone for downtime here.
          downtimeWindowBlocks: 1000,
          downtimeMaxMissed: 1000,
        },
        accounts: Array.from({ length: 10 }, (_, i) => ({ address: devAccount(i).address, balance: DEV_BALANCE })),
        // Validator i is operated by dev account i (its reward address), except the one that joins later.
        validators: keys.slice(0, 4).map((k, i) => ({ pubKey: k.publicKey, stake: STAKE, workWeight: 10_000, rewardAddress: devAccount(i).address })),
      }),
    });
  });

  after(async () => {
    await net?.stop();
  });

  it('behavior: bond, unbond and double-sign slashing change the set at epoch boundaries while finality continues', async () => {
    const [n0, n1, n2, n3, n4] = net.nodes as [typeof net.nodes[0], typeof net.nodes[0], typeof net.nodes[0], typeof net.nodes[0], typeof net.nodes[0]];
    const byzId = n3.validatorId;
    try {
      // 1. The double-voting validator is caught: slashed (5% by default) and jailed by evidence in a block.
      const jailed = await waitUntil(
        async () => (await validators(n0.url)).find((v) => v.id === byzId && v.status === 'jailed'),
        120_000,
        'the double-voting validator jailed',
        250,
      );
      // It double-votes at every height until it leaves the set, yet the spell is punished once:
      // one slash of slashDoubleSignBps (the rest of its evidence is covered until it unjails).
      type ValidatorRecord = {
        stake: string;
        slashes: { height: number; reason: string; fractionBps: number; infractionHeight: number }[];
        doubleSignPunishment: { punishedAt: number; infractionHeight: number; unjailedAt: number | null } | null;
      };
      const record = await getJson<ValidatorRecord>(`${n0.url}/validators/${byzId}`);
      assert.equal(record.slashes.length, 1, JSON.stringify(record.slashes));
      const { height: punishedAt, infractionHeight } = record.slashes[0]!;
      assert.deepEqual(record.doubleSignPunishment, { punishedAt, infractionHeight, unjailedAt: null });
      assert.equal(record.slashes[0]!.reason, 'double_sign');
      assert.equal(record.slashes[0]!.fractionBps, 500);
      assert.equal(jailed.status, 'jailed');
      assert.equal(BigInt(record.stake), (STAKE * 9_500n) / 10_000n, 'slashed by slashDoubleSignBps of its self stake, once');
      const ev = await getJson<unknown[]>(`${n0.url}/p2p/evidence`);
      assert.ok(ev.length > 0, 'the evidence is exposed by the honest node');
      assert.equal((await getJson<unknown[]>(`${n0.url}/p2p/evidence?limit=1`)).length, 1);

      // 2. A new validator bonds (operator: dev account 4) and validator 2 unbonds all of its stake.
      const bondId = await submit(n0.url, JOINING, 0, 'validator_bond', { pubKey: n4.key.publicKey, amount: STAKE.toString() });
      const unbondId = await submit(n1.url, LEAVING, 0, 'validator_unbond', { validatorId: n2.validatorId, amount: STAKE.toString() });
      const h = Math.max(await finalizedAt(n0.url, bondId), await finalizedAt(n0.url, unbondId));
      await n4.start();
      // The set snapshot at the end of the epoch's last block includes both changes.
      const boundary = Math.ceil(h / EPOCH) * EPOCH;
      const firstNew = boundary + 1;
      // The new validator's node syncs first, then signs: wait (bounded) for a certificate that carries its signature.
      const signedAt = await waitUntil(
        async () => {
          const top = await heightOf(n0);
          if (top < firstNew) return undefined;
          const blocks = await fetchBlocks(n0, firstNew, top);
          const b = blocks.find((x) => x.commit.signatures.some((sg) => sg.validatorId === n4.validatorId));
          return b?.header.height;
        },
        150_000,
        'a certificate signed by the new validator',
        500,
      );
      const upTo = Math.max(signedAt, firstNew + EPOCH);
      await waitForHeight([n0, n1], upTo, 60_000);

      const blocks = await fetchBlocks(n0, 1, upTo);
      const signers = (height: number): Set<string> => new Set(blocks[height - 1]!.commit.signatures.map((s) => s.validatorId));
      for (let height = 1; height <= boundary; height++) {
        assert.ok(!signers(height).has(n4.validatorId), `the joining validator signs nothing before its epoch (height ${height})`);
      }
      for (let height = firstNew; height <= upTo; height++) {
        const s = signers(height);
        assert.ok(!s.has(n2.validatorId), `the unbonded validator no longer signs (height ${height})`);
        assert.ok(!s.has(byzId), `the jailed validator no longer signs (height ${height})`);
      }
      const setAfter = await getJson<{ validators: { id: string }[] }>(`${n0.url}/validators?epoch=${Math.floor((firstNew - 1) / EPOCH)}`).catch(() => null);
      if (setAfter !== null) {
        assert.deepEqual(new Set(setAfter.validators.map((v) => v.id)), new Set([n0.validatorId, n1.validatorId, n4.validatorId]));
      }

      // 3. Finality continues and every node that follows the chain agrees block by block.
      const later = (await heightOf(n0)) + 3;
      await waitForHeight([n0, n1, n2, n4], later, 60_000);
      await checkAgreement([n0, n1, n2, n4], later);
      // Its double votes of the heights after its punishment (it signed until the epoch ended) took nothing more.
      assert.equal((await getJson<ValidatorRecord>(`${n0.url}/validators/${byzId}`)).slashes.length, 1);
    } catch (e) {
      process.stderr.write(net.logTail(60) + '\n');
      throw e;
    }
  });
});
