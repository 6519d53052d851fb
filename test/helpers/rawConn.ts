/** Raw TCP connections to a node, for tests of what happens below HTTP (slow senders, held sockets, deadlines). */
import { connect, type Socket } from 'node:net';

export interface RawConn {
  readonly s: Socket;
  /** Everything received so far (latin1). */
  received(): string;
  /** When the connection was made (Date.now()). */
  readonly connectedAt: number;
  /** Resolves with Date.now() when the other end (or anything) closed it. */
  readonly closedAt: Promise<number>;
  isClosed(): boolean;
}

/** Opens a connection to 127.0.0.1:`port`, resolved once connected; later socket errors are kept quiet. */
export function openRaw(port: number): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    let data = '';
    let closed = false;
    const s = connect({ host: '127.0.0.1', port });
    const closedAt = new Promise<number>((r) =>
      s.once('close', () => {
        closed = true;
        r(Date.now());
      }),
    );
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('error', () => undefined);
    s.once('connect', () => resolve({ s, received: () => data, connectedAt: Date.now(), closedAt, isClosed: () => closed }));
    s.once('error', reject);
  });
}
