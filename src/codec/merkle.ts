import { sha256 } from '../crypto/hash.js';

// One buffer per hash input and one-shot SHA-256: a block's tree costs about
// 2n hashes, each far cheaper than a Hash object fed three times.
function hashLeaf(data: Buffer): Buffer {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = 0;
  data.copy(input, 1);
  return sha256(input);
}
function hashNode(left: Buffer, right: Buffer): Buffer {
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = 1;
  left.copy(input, 1);
  right.copy(input, 1 + left.length);
  return sha256(input);
}

/**
 * Merkle tree hash of RFC 6962 (§2.1) over the given leaves: leaf = H(0x00 || d),
 * node = H(0x01 || left || right), split at the largest power of two below n.
 * The empty tree hashes to H(""). Domain-separated leaves and nodes rule out the
 * duplicate-leaf ambiguity of Bitcoin-style trees.
 */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
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
