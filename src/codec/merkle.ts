import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

function hashLeaf(data: Buffer): Buffer {
  return createHash('sha256').update(LEAF).update(data).digest();
}
function hashNode(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/**
 * Merkle tree hash of RFC 6962 (§2.1) over the given leaves: leaf = H(0x00 || d),
 * node = H(0x01 || left || right), split at the largest power of two below n.
 * The empty tree hashes to H(""). Domain-separated leaves and nodes rule out the
 * duplicate-leaf ambiguity of Bitcoin-style trees.
 */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  let level = leaves.map(hashLeaf);
  // Bottom-up evaluation gives the same root as RFC 6962's recursive split:
  // an odd node at the end of a level is carried up unchanged.
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashNode(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** txRoot: Merkle root of the tx ids (hex) of a block. */
export function txRoot(ids: readonly string[]): string {
  return merkleRoot(ids.map((id) => Buffer.from(id, 'hex'))).toString('hex');
}
