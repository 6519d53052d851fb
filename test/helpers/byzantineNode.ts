/**
 * A validator that equivocates on purpose, for tests only: `node --import tsx
 * test/helpers/byzantineNode.ts start <the usual start flags>`. It runs the
 * real node and, for every prevote it sends, also signs and sends a second,
 * conflicting prevote for the same (height, round) — a double vote that honest
 * validators keep as evidence. Production code has no such switch: this file
 * wraps the node's transport through `runNode`'s embedding option.
 * @module
 */
import { join } from 'node:path';
import { envelopeSignBytes, type Envelope, type UnsignedEnvelope } from '../../src/codec/envelope.js';
import { loadConfig } from '../../src/config/index.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { addressFromPubKey } from '../../src/crypto/keys.js';
import { loadKeyFile } from '../../src/node/keyFile.js';
import { runNode } from '../../src/node/run.js';

const [command, ...args] = process.argv.slice(2);
if (command !== 'start') {
  process.stderr.write('usage: byzantineNode.ts start [flags]\n');
  process.exit(2);
}
const { config } = loadConfig({ argv: args, env: process.env });
const key = loadKeyFile(config.validatorKeyFile ?? join(config.dataDir, 'validator_key.json'));
const signer = createSigner(key.privateKey);
const id = addressFromPubKey(signer.publicKey);

/** The second prevote: nil where the first named a block, and a made-up block where the first was nil. */
function conflicting(e: Envelope): Envelope {
  const other = e.payload.blockHash === null ? sha256Hex(`conflicting/${e.height}/${e.round}`) : null;
  const u: UnsignedEnvelope = { type: e.type, chainId: e.chainId, height: e.height, round: e.round, validatorId: e.validatorId, payload: { blockHash: other } };
  return { ...u, signature: signer.sign(envelopeSignBytes(u)) };
}

await runNode(config, {
  handleSignals: true,
  wrapTransport: (t) => ({
    hasPeers: () => t.hasPeers(),
    broadcast(e: Envelope) {
      t.broadcast(e);
      if (e.type === 'prevote' && e.validatorId === id) t.broadcast(conflicting(e));
    },
  }),
});
