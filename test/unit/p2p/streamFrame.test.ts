/** Peer-stream frames: built by joining canonical JSON as it is; their shape checked on arrival. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FRAME_ENVELOPES, MAX_FRAME_TXS, decodeFrame, envelopeItem, frameText, txBatchItem } from '../../../src/p2p/streamFrame.js';

describe('peer streams: frames', () => {
  it('default: a frame joins the texts it is given, without encoding them again', () => {
    assert.equal(frameText(['{"b":1,"a":2}'], []), '{"envelopes":[{"b":1,"a":2}]}');
    assert.equal(frameText([], ['{"t":1}', '{"t":2}']), '{"txs":[{"t":1},{"t":2}]}');
    assert.equal(frameText(['{}'], ['{"t":1}']), '{"envelopes":[{}],"txs":[{"t":1}]}');
    const tx = txBatchItem(['{"x":"é"}', '{}']);
    assert.deepEqual([tx.kind, tx.count, tx.bytes, tx.text], ['txs', 2, Buffer.byteLength('{"x":"é"},{}'), '{"x":"é"},{}']);
    assert.deepEqual(envelopeItem('proposal', '{}'), { kind: 'proposal', text: '{}', count: 1, bytes: 2 });
  });

  it('behavior: a frame with either list, both or neither decodes', () => {
    assert.deepEqual(decodeFrame({}), { envelopes: [], txs: [] });
    assert.deepEqual(decodeFrame({ envelopes: [{ a: 1 }] }), { envelopes: [{ a: 1 }], txs: [] });
    assert.deepEqual(decodeFrame({ txs: [{}], envelopes: [] }), { envelopes: [], txs: [{}] });
  });

  it('error: other shapes are refused with a reason', () => {
    for (const bad of [null, [], 'x', 1, { blocks: [] }, { envelopes: {} }, { txs: 'a' }, { envelopes: [1] }, { txs: [null] }, { txs: [[]] },
      { envelopes: Array.from({ length: MAX_FRAME_ENVELOPES + 1 }, () => ({})) }, { txs: Array.from({ length: MAX_FRAME_TXS + 1 }, () => ({})) }]) {
      const r = decodeFrame(bad);
      assert.equal(typeof r, 'string', `refused: ${JSON.stringify(bad)?.slice(0, 60)}`);
    }
  });
});
