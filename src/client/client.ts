export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface TxStatusView {
  id: string;
  status: 'pending' | 'finalized' | 'dropped';
  height?: number;
  index?: number;
  blockHash?: string;
  success?: boolean;
  error?: string;
  message?: string;
  tx: Record<string, unknown>;
}

export interface AccountView {
  address: string;
  balance: string;
  nonce: number;
  pendingNonce: number;
}

export interface StatusView {
  chainId: string;
  nodeId: string;
  genesisHash: string;
  latestHeight: number;
  latestHash: string;
  [k: string]: unknown;
}

/** Minimal typed client of the fastpos HTTP API (protocol §5). */
export class FastposClient {
  readonly baseUrl: string;
  constructor(baseUrl: string, private readonly opts: { adminToken?: string; timeoutMs?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown, admin = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (admin && this.opts.adminToken !== undefined) headers.authorization = `Bearer ${this.opts.adminToken}`;
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(res.status, 'INVALID_RESPONSE', `not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (json as ApiErrorBody | undefined)?.error;
      throw new ApiError(res.status, e?.code ?? 'HTTP_' + res.status, e?.message ?? text.slice(0, 200));
    }
    return json as T;
  }

  status(): Promise<StatusView> {
    return this.call('GET', '/status');
  }
  account(address: string): Promise<AccountView> {
    return this.call('GET', `/accounts/${address}`);
  }
  submitTx(tx: Record<string, unknown>, opts: { idempotent?: boolean } = {}): Promise<{ id: string; status: string }> {
    return this.call('POST', opts.idempotent ? '/tx?idempotent=true' : '/tx', tx);
  }
  getTx(id: string): Promise<TxStatusView> {
    return this.call('GET', `/tx?id=${id}`);
  }
  block(height: number | 'latest'): Promise<Record<string, unknown>> {
    return this.call('GET', `/blocks/${height}`);
  }
  admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.call(method, `/admin${path}`, body ?? (method === 'POST' ? {} : undefined), true);
  }

  /** Polls until the tx is finalized or dropped, or the time runs out. */
  async waitForTx(id: string, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<TxStatusView> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      const st = await this.getTx(id).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      });
      if (st !== undefined && st.status !== 'pending') return st;
      if (Date.now() > deadline) throw new Error(`tx ${id} not finalized within ${opts.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }
}
