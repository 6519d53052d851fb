/**
 * A lean HTTP/1.1 load client for the benchmark: keep-alive sockets that write
 * pre-built request bytes and read back only the status line, the
 * Content-Length and the body. On a 2-core machine the load generator shares
 * the CPU with the node it measures, so the generator must cost as little as
 * possible; a general-purpose client spends more CPU per request than the
 * node's own handling of it.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

interface Waiter {
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
}

/** One keep-alive connection; requests on it are answered in order. */
export class RawConnection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: Waiter[] = [];
  private closed = false;
  readonly ready: Promise<void>;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.drain();
    });
    const fail = (e: Error): void => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  private drain(): void {
    for (;;) {
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.buf.toString('latin1', 0, headEnd);
      const status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      const len = m === null ? 0 : Number(m[1]);
      const total = headEnd + 4 + len;
      if (this.buf.length < total) return;
      const body = this.buf.toString('utf8', headEnd + 4, total);
      this.buf = this.buf.subarray(total);
      this.waiting.shift()?.resolve({ status, body });
    }
  }

  /** Sends one request (complete HTTP bytes) and resolves with its response. */
  send(request: Buffer): Promise<RawResponse> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(request);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** HTTP/1.1 request bytes with a JSON body. */
export function jsonRequest(method: string, path: string, host: string, body?: string): Buffer {
  const b = body === undefined ? '' : body;
  const head =
    `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n` +
    (body === undefined ? '' : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n`) +
    '\r\n';
  return Buffer.from(head + b);
}

/** One request of the load: the txs it carries (`from/nonce` keys) and its bytes. */
export interface Submission {
  readonly keys: readonly string[];
  readonly request: Buffer;
  /** A `POST /txs` batch (answered per tx), or one `POST /tx`. */
  readonly batch: boolean;
}

/**
 * The requests that carry `list` (pre-signed txs as JSON text, in order): one
 * `POST /tx` per tx when `batch` is 1, else `POST /txs` requests of `batch`
 * txs (the last one may hold fewer).
 */
export function txSubmissions(list: readonly { key: string; json: string }[], batch: number, host: string): Submission[] {
  if (batch <= 1) return list.map((b) => ({ keys: [b.key], request: jsonRequest('POST', '/tx', host, b.json), batch: false }));
  const out: Submission[] = [];
  for (let i = 0; i < list.length; i += batch) {
    const part = list.slice(i, i + batch);
    out.push({ keys: part.map((b) => b.key), request: jsonRequest('POST', '/txs', host, `{"txs":[${part.map((b) => b.json).join(',')}]}`), batch: true });
  }
  return out;
}

/** What the node answered for each tx of a submission, in order: null when it was admitted, else the error code. */
export function submissionOutcomes(s: Submission, r: RawResponse): (string | null)[] {
  const refusedAll = (): string[] => {
    let code = String(r.status);
    try {
      code = (JSON.parse(r.body) as { error?: { code?: string } }).error?.code ?? code;
    } catch {
      /* not JSON: the status stands for the code */
    }
    return s.keys.map(() => code);
  };
  if (!s.batch) return r.status === 202 ? [null] : refusedAll();
  if (r.status !== 200) return refusedAll();
  const { results } = JSON.parse(r.body) as { results: { status?: string; known?: boolean; error?: { code: string } }[] };
  return s.keys.map((_, i) => {
    const e = results[i];
    if (e?.status === 'pending' && e.known !== true) return null;
    return e?.error?.code ?? 'UNEXPECTED_ANSWER';
  });
}
