/**
 * The peer handshake's answer (`GET /p2p/hello?nonce=`, docs/api.md):
 * `{chainId, genesisHash, nodeId, pubKey, nonce, signature}`, signed with the
 * node key over "fastpos/p2p-hello/v1\n" + canonicalJSON(answer without
 * signature). `nodeId` is the address of `pubKey` (protocol §2); `nonce` is the
 * asker's fresh random challenge, echoed, so an answer cannot be replayed.
 * @module
 */
import { ErrorCode, FastposError } from '../errors.js';
import { canonicalJson } from './canonical.js';

export const HELLO_DOMAIN = 'fastpos/p2p-hello/v1\n';

/** A nonce: 16 random bytes as 32 lowercase hex characters. */
export const HELLO_NONCE_PATTERN = /^[0-9a-f]{32}$/;

export interface Hello {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly nodeId: string;
  readonly pubKey: string;
  readonly nonce: string;
  readonly signature: string;
}

export type UnsignedHello = Omit<Hello, 'signature'>;

const HELLO_FIELDS = ['chainId', 'genesisHash', 'nodeId', 'pubKey', 'nonce', 'signature'];

/** Signing bytes of a hello answer: the domain tag, then the canonical JSON of its five other fields. */
export function helloSignBytes(h: UnsignedHello): Buffer {
  const { chainId, genesisHash, nodeId, pubKey, nonce } = h;
  return Buffer.from(HELLO_DOMAIN + canonicalJson({ chainId, genesisHash, nodeId, pubKey, nonce }), 'utf8');
}

function bad(message: string): never {
  throw new FastposError(ErrorCode.INVALID_MESSAGE, message);
}

/** Checks a hello answer's shape (exactly its six fields, each of its form); not its signature nor its values. */
export function decodeHello(j: unknown): Hello {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) bad('hello must be a JSON object');
  for (const k of Object.keys(j)) if (!HELLO_FIELDS.includes(k)) bad(`unknown hello field "${k.slice(0, 40)}"`);
  const { chainId, genesisHash, nodeId, pubKey, nonce, signature } = j as Record<string, unknown>;
  if (typeof chainId !== 'string' || !/^[a-zA-Z0-9._-]{1,64}$/.test(chainId)) bad('hello chainId must be 1-64 characters of [a-zA-Z0-9._-]');
  if (typeof genesisHash !== 'string' || !/^[0-9a-f]{64}$/.test(genesisHash)) bad('hello genesisHash must be 64 lowercase hex characters');
  if (typeof nodeId !== 'string' || !/^[0-9a-f]{40}$/.test(nodeId)) bad('hello nodeId must be 40 lowercase hex characters');
  if (typeof pubKey !== 'string' || !/^[0-9a-f]{64}$/.test(pubKey)) bad('hello pubKey must be 64 lowercase hex characters');
  if (typeof nonce !== 'string' || !HELLO_NONCE_PATTERN.test(nonce)) bad('hello nonce must be 32 lowercase hex characters');
  if (typeof signature !== 'string' || !/^[0-9a-f]{128}$/.test(signature)) bad('hello signature must be 128 lowercase hex characters');
  return { chainId, genesisHash, nodeId, pubKey, nonce, signature };
}
