/**
 * An outsider cannot take a validator out of consensus through its public
 * port: 1,000 sockets that send a request's headers and then trickle its
 * body are kept open against one validator of a 4-validator testnet (every
 * one the node closes is opened again) for a whole downtime window, while the
 * validators talk on their own listeners (`--p2p-port`). The network keeps
 * finalizing and the attacked validator is not jailed. Bounded in sockets,
 * reconnections and time.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { devAccount } from '../../../src/crypto/keys.js';
import { DEFAULT_PARAMS } from '../../../src/state/genesis.js';
import type { Genesis } from '../../../src/types/index.js';
import { CHAIN_ID, DEV_BALANCE, getJson, heightOf, startNetwork, waitUntil, type Network, type WireBlock } from '../../helpers/network.js';

const SOCKETS = 1000;
const MAX_OPENS = 30_000;
const WINDOW = 20;
/** Half the window, as the default parameters (50 of 100). */
const MAX_MISSED = 10;

describe('1,000 slow sockets against one validator\'s public port', () => {
  let net: Network;
  before(async () => {
    net = await startNetwork({
      n: 4,
      p2pPorts: true,
      // The attacked node's public port: a small budget, filled many times over.
      nodeArgs: (i) => (i === 0 ? ['--max-connections', '256', '--request-timeout-ms', '10000'] : []),
      genesis: (keys): Genesis => ({
        chainId: CHAIN_ID,
        genesisTime: 1_767_225_600_000,
        treasury: 'ab'.repeat(20),
        params: { ...DEFAULT_PARAMS, governance: [devAccount(0).address], downtimeWindowBlocks: WINDOW, downtimeMaxMissed: MAX_MISSED },
        accounts: Array.from({ length: 4 }, (_, i) => ({ address: devAccount(i).address, balance: DEV_BALANCE })),
        validators: keys.map((k) => ({ pubKey: k.publicKey, stake: 1_000_000n, workWeight: 10_000 })),
      }),
    });
  });
  after(async () => {
    await net?.stop();
  });

  it('behavior: the network finalizes a whole downtime window and the attacked validator is not jailed', async (t) => {
    const [target, observer] = [net.nodes[0]!, net.nodes[1]!];
    const port = target.port;
    let opens = 0;
    let stopping = false;
    const sockets = new Set<Socket>();
    const openOne = (): void => {
      if (stopping || opens >= MAX_OPENS) return;
      opens++;
      const s = connect({ host: '127.0.0.1', port });
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('connect', () => s.write('POST /tx HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{'));
      s.once('close', () => {
        sockets.delete(s);
        // Opened again a little later (not in a tight loop): the attack keeps 1,000 sockets at the node.
        setTimeout(openOne, 1000);
      });
    };
    const drip = setInterval(() => {
      for (const s of sockets) if (s.writable) s.write(' ');
    }, 2000);
    const h0 = await heightOf(observer);
    for (let i = 0; i < SOCKETS; i++) openOne();
    try {
      // A whole downtime window (and more) finalized under attack.
      await waitUntil(async () => (await heightOf(observer)) >= h0 + WINDOW + 5, 120_000, `height ${h0 + WINDOW + 5} under attack`);
      const validators = await getJson<Array<{ id: string; status: string }>>(`${observer.url}/validators`);
      const attacked = validators.find((v) => v.id === target.validatorId);
      assert.equal(attacked?.status, 'active', JSON.stringify(attacked));
      // Its precommits are in the certificates the chain records (each block's lastCommit): it kept voting.
      const blocks = await getJson<WireBlock[]>(`${observer.url}/blocks?from=${h0 + 3}&limit=${WINDOW}`);
      const missed = blocks.filter((b) => !(b.lastCommit?.signatures ?? []).some((s) => s.validatorId === target.validatorId)).length;
      t.diagnostic(`${opens} sockets opened; the attacked validator is missing from ${missed} of ${blocks.length} certificates`);
      assert.ok(missed < MAX_MISSED, `the attacked validator missed ${missed} of ${blocks.length} certificates`);
      assert.ok(opens >= SOCKETS, `only ${opens} sockets were opened`);
    } finally {
      stopping = true;
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
  });
});
