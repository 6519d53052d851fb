/**
 * The peer handshake (docs/api.md, "Validator network routes"): a node proves
 * which chain it follows and which node key it holds by signing the asker's
 * fresh nonce. Discovery takes a URL into the peer book only after its hello
 * checks, and the node key (not the URL) tells a peer from this node itself,
 * whatever alias (`[::1]`, `0.0.0.0`, `localhost.`, another port) points back here.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { decodeHello, helloSignBytes, type Hello } from '../codec/hello.js';
import { createSigner, verifySignature } from '../crypto/ed25519.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { FastposError } from '../errors.js';

/** What this node answers to `GET /p2p/hello`. */
export interface HelloResponder {
  readonly nodeId: string;
  readonly pubKey: string;
  answer(nonce: string): Hello;
}

export function createHelloResponder(params: { readonly privateKey: string; readonly chainId: string; readonly genesisHash: string }): HelloResponder {
  const signer = createSigner(params.privateKey);
  const pubKey = signer.publicKey;
  const nodeId = addressFromPubKey(pubKey);
  return {
    nodeId,
    pubKey,
    answer: (nonce) => {
      const unsigned = { chainId: params.chainId, genesisHash: params.genesisHash, nodeId, pubKey, nonce };
      return { ...unsigned, signature: signer.sign(helloSignBytes(unsigned)) };
    },
  };
}

/** A fresh challenge: 16 random bytes, hex. */
export function newHelloNonce(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Why a hello was refused: `self` (it was signed with this node's own key),
 * `wrongChain` (another chain id or genesis), `badAnswer` (not a hello, a
 * nonce other than the one sent, a node id that is not its key's address, or
 * a signature that does not check).
 */
export type HelloRefusal = 'self' | 'wrongChain' | 'badAnswer';

export type HelloCheck =
  | { readonly ok: true; readonly nodeId: string }
  | { readonly ok: false; readonly refusal: HelloRefusal; readonly reason: string };

export interface HelloExpectation {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly nonce: string;
  /** This node's own node id. */
  readonly selfNodeId: string;
}

/** Checks a peer's answer to the hello we asked with `expect.nonce`. */
export function checkHello(answer: unknown, expect: HelloExpectation): HelloCheck {
  let h: Hello;
  try {
    h = decodeHello(answer);
  } catch (e) {
    if (!(e instanceof FastposError)) throw e;
    return { ok: false, refusal: 'badAnswer', reason: e.message };
  }
  if (h.nonce !== expect.nonce) return { ok: false, refusal: 'badAnswer', reason: 'the hello echoes another nonce than the one sent' };
  if (h.nodeId !== addressFromPubKey(h.pubKey)) return { ok: false, refusal: 'badAnswer', reason: 'the hello nodeId is not the address of its pubKey' };
  if (!verifySignature(h.pubKey, helloSignBytes(h), h.signature)) return { ok: false, refusal: 'badAnswer', reason: 'the hello signature does not check' };
  if (h.chainId !== expect.chainId) return { ok: false, refusal: 'wrongChain', reason: `the peer follows chain ${JSON.stringify(h.chainId)}, not ${JSON.stringify(expect.chainId)}` };
  if (h.genesisHash !== expect.genesisHash) return { ok: false, refusal: 'wrongChain', reason: `the peer's genesis is ${h.genesisHash.slice(0, 16)}…, not ${expect.genesisHash.slice(0, 16)}…` };
  if (h.nodeId === expect.selfNodeId) return { ok: false, refusal: 'self', reason: 'the URL leads back to this node (its hello is signed with this node key)' };
  return { ok: true, nodeId: h.nodeId };
}
