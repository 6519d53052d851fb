/** Types of verify.js (the explorer's in-browser checks), for the TypeScript tests that import it. */
export interface Check { readonly name: string; readonly ok: boolean; readonly detail: string }
export interface SignerResult { readonly validatorId: string; readonly power: bigint; readonly ok: boolean; readonly reason: string }
export interface BlockReport {
  readonly ok: boolean;
  readonly height: number | undefined;
  readonly hash: string | undefined;
  readonly checks: readonly Check[];
  readonly signers: readonly SignerResult[];
  readonly signedPower: bigint;
  readonly totalPower: bigint;
  readonly validators: number;
  readonly txIds: readonly string[];
  readonly txIndex: number;
}
export function canonicalJson(value: unknown): string;
export function hexToBytes(hex: string): Uint8Array;
export function bytesToHex(bytes: Uint8Array): string;
export function sha256(data: Uint8Array | string): Promise<Uint8Array>;
export function sha256Hex(data: Uint8Array | string): Promise<string>;
export function blockHash(header: unknown): Promise<string>;
export function txId(tx: Record<string, unknown>): Promise<string>;
export function voteSignBytes(v: { type: 'prevote' | 'precommit'; chainId: string; height: number; round: number; validatorId: string; blockHash: string | null }): Uint8Array;
export function txRoot(ids: readonly string[]): Promise<string>;
export function evidenceListHash(evidence: readonly unknown[]): Promise<string>;
export function validatorSetHash(validators: readonly { id: string; pubKey: string; votingPower: string; proposerWeight: string }[]): Promise<string>;
export function verifyEd25519(pubKeyHex: string, message: Uint8Array, signatureHex: string): Promise<boolean>;
export function verifyBlock(p: { chainId?: string; block: unknown; set: unknown; txId?: string }): Promise<BlockReport>;
export function percent(part: bigint, whole: bigint): string;
export function summarize(report: BlockReport): string;
