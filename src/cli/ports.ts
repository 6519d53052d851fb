/**
 * Free TCP ports on loopback for nodes started as separate processes (the
 * benchmark, the smoke script, tests). Asking the OS for port 0 returns a
 * port of the ephemeral range (32768–60999 on Linux), the range outgoing
 * connections also take their local ports from, so between the check and the
 * node's own bind some connection may take it. These ports are drawn below
 * that range instead, from a random start, each checked by binding it.
 * @module
 */
import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;

function tryListen(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, host, () => resolve(s));
  });
}

/** `n` distinct ports that were free on `host` (held together while found, then released). */
export async function freeLoopbackPorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    const start = randomInt(LOW, HIGH);
    for (let i = 0; i < HIGH - LOW && ports.length < n; i++) {
      const port = LOW + ((start - LOW + i) % (HIGH - LOW));
      const s = await tryListen(port, host);
      if (s === null) continue;
      held.push(s);
      ports.push(port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(() => r(null)))));
  }
  if (ports.length < n) throw new Error(`found only ${ports.length} free ports of ${n} on ${host}`);
  return ports;
}
