/**
 * A 3-validator network of real processes: every block carries the
 * precommits of every healthy validator for the block before it (not only the
 * first 2/3 that made the quorum), so no healthy validator is counted as
 * missing; a validator that was down for a few blocks is counted missing for
 * those blocks only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fetchBlocks, getJson, waitForHeight, withNetwork } from '../../helpers/network.js';

describe('validator network: certificates carried in the next block', { timeout: 90_000 }, () => {
  it('3 healthy validators: blocks carry all three precommits of the previous block and no validator records a miss', async () => {
    await withNetwork({ n: 3 }, async (net) => {
      const { nodes } = net;
      await waitForHeight(nodes, 31, 60_000);
      const blocks = await fetchBlocks(nodes[0]!, 2, 31);
      const partial = blocks.filter((b) => (b.lastCommit?.signatures.length ?? 0) < 3).map((b) => `${b.header.height}: ${b.lastCommit?.signatures.length}`);
      // The first few heights may still see a validator start late; after that every certificate is whole.
      assert.ok(partial.length <= 3, `blocks whose previous certificate lacks a healthy validator: ${partial.join(', ')}`);
      const validators = await getJson<{ id: string; missed: number[] }[]>(`${nodes[0]!.url}/validators`);
      const list = Array.isArray(validators) ? validators : (validators as unknown as { validators: { id: string; missed: number[] }[] }).validators;
      const missed = list.reduce((s, v) => s + (v.missed?.length ?? 0), 0);
      assert.ok(missed <= 3, `healthy validators recorded ${missed} misses: ${JSON.stringify(list.map((v) => [v.id.slice(0, 8), v.missed]))}`);
    });
  });
});
