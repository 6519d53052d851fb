// A node whose genesis file holds more accounts than it keeps in memory reads
// them from the file again at its first start: on both backends its genesis
// hash and genesis state root are those of the same genesis held in memory,
// and the development-key check sees the accounts of the file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extendedGenesis } from '../../../src/bench/genesisAccounts.js';
import { KEEP_GENESIS_ACCOUNTS } from '../../../src/node/genesisFile.js';
import { sha256Hex } from '../../../src/crypto/hash.js';
import { NEUTRAL_WORK_WEIGHT, defaultDevnetGenesis, genesisEntries, genesisHash } from '../../../src/state/genesis.js';
import { WorldState } from '../../../src/state/worldState.js';
import { startTestNode } from '../../helpers/node.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-genesis-file-node-');

/**
 * Not a devnet, and a validator key nobody holds: no block moves the state
 * past height 0. Its accounts (those of the devnet first) fund development
 * keys: only the accounts, read from the file, tell.
 */
const genesis = {
  ...extendedGenesis(defaultDevnetGenesis(), KEEP_GENESIS_ACCOUNTS + 2_000),
  chainId: 'genesis-file-test',
  validators: [{ pubKey: sha256Hex('genesis-file-test validator'), stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
};

describe('a node on a genesis read from its file', () => {
  for (const stateBackend of ['sqlite', 'snapshot'] as const) {
    it(`default: ${stateBackend}: the genesis hash and state root of the in-memory genesis, at the first start and the next`, async () => {
      const dir = tmp();
      const n = await startTestNode({ dir, genesis, config: { stateBackend, allowDevKeys: true } });
      try {
        assert.ok(!Array.isArray(n.node.genesis.accounts), 'the accounts are read from the file');
        assert.equal(n.node.height, 0);
        assert.equal(n.node.genesisHash, genesisHash(genesis));
        assert.equal(n.node.stateRoot, WorldState.fromEntries(genesisEntries(genesis)).stateRoot);
      } finally {
        await n.close();
      }
      const again = await startTestNode({ dir, config: { stateBackend, allowDevKeys: true } });
      try {
        assert.equal(again.node.stateRoot, WorldState.fromEntries(genesisEntries(genesis)).stateRoot);
      } finally {
        await again.close();
      }
    });
  }

  it('error: a chain that is not a devnet but funds a development account in its file is refused without allowDevKeys', async () => {
    await assert.rejects(startTestNode({ dir: tmp(), genesis }), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'INVALID_GENESIS' && /public development keys/.test(e.message));
  });
});
