/**
 * Which hosts a discovered peer URL may name (config keys `peerAllowLoopback`,
 * `peerAllowPrivate`, `peerAllowDns`). A URL a peer lists is only a claim: the
 * node asks it for its hello before anything else, and this policy decides
 * whether it is asked at all. Loopback and private addresses are the operator's
 * own machine and network; a DNS name may point anywhere, so its addresses are
 * checked again when a connection is made (`createPolicyLookup`), which also
 * holds against a name that changes its answer between two lookups.
 *
 * Never allowed: unspecified (`0.0.0.0/8`, `::`), multicast, the reserved
 * `240.0.0.0/4` (with the broadcast address) and the deprecated IPv4-compatible
 * IPv6 form. Peers from the config or the admin API are not subject to the
 * policy: their operator chose them.
 * @module
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface HostPolicy {
  /** 127.0.0.0/8, ::1 and `localhost` names. */
  readonly loopback: boolean;
  /** 10/8, 172.16/12, 192.168/16, 100.64/10 (shared), 169.254/16 and fe80::/10 (link-local), fc00::/7 (unique local). */
  readonly private: boolean;
  /** Host names rather than IP literals (their addresses are held to the two rules above). */
  readonly dns: boolean;
}

/** What an address is, for the policy. */
export type AddressKind = 'loopback' | 'private' | 'public' | 'forbidden';

function blockList(v4: readonly [string, number][], v6: readonly [string, number][]): BlockList {
  const b = new BlockList();
  for (const [net, prefix] of v4) b.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of v6) b.addSubnet(net, prefix, 'ipv6');
  return b;
}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches the IPv4 rules of a BlockList.
const LOOPBACK = blockList([['127.0.0.0', 8]], [['::1', 128]]);
const FORBIDDEN = blockList(
  [['0.0.0.0', 8], ['224.0.0.0', 4], ['240.0.0.0', 4]],
  [['::', 96], ['ff00::', 8]],
);
const PRIVATE = blockList(
  [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['169.254.0.0', 16]],
  [['fc00::', 7], ['fe80::', 10], ['fec0::', 10]],
);

/** Classifies an IP address (without brackets); anything that is not an IP address is `forbidden`. */
export function classifyAddress(address: string): AddressKind {
  const family = isIP(address);
  if (family === 0) return 'forbidden';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK.check(address, type)) return 'loopback';
  if (FORBIDDEN.check(address, type)) return 'forbidden';
  if (PRIVATE.check(address, type)) return 'private';
  return 'public';
}

/** Why the policy refuses an address, or null when it allows it. */
export function refuseAddress(address: string, policy: HostPolicy): string | null {
  const kind = classifyAddress(address);
  if (kind === 'forbidden') return `${address} is not a unicast address a peer can have`;
  if (kind === 'loopback' && !policy.loopback) return `${address} is a loopback address (peerAllowLoopback is off)`;
  if (kind === 'private' && !policy.private) return `${address} is a private or link-local address (peerAllowPrivate is off)`;
  return null;
}

const isLocalhostName = (name: string): boolean => name === 'localhost' || name.endsWith('.localhost');

/**
 * Why the policy refuses a peer URL's host, or null when it may be asked.
 * `url` is a normalized peer URL (see `normalizePeerUrl`).
 */
export function refusePeerUrl(url: string, policy: HostPolicy): string | null {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return 'not a URL';
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (isIP(host) !== 0) return refuseAddress(host, policy);
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  // RFC 6761: localhost names are this machine, whatever a resolver says.
  if (isLocalhostName(name)) return policy.loopback ? null : `${host} names this machine (peerAllowLoopback is off)`;
  if (!policy.dns) return `${host} is a host name, not an IP address (peerAllowDns is off)`;
  return null;
}

/**
 * A `lookup` for connections to discovered peers: resolves as usual and keeps
 * only the addresses the policy allows, failing when none is left.
 */
export function createPolicyLookup(policy: HostPolicy): LookupFunction {
  return (hostname, options: LookupOptions, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err, '', 0);
        return;
      }
      const allowed = addresses.filter((a) => refuseAddress(a.address, policy) === null);
      const first = allowed[0];
      if (first === undefined) {
        const why = addresses.map((a) => refuseAddress(a.address, policy)).find((r) => r !== null) ?? 'no address';
        const e: NodeJS.ErrnoException = Object.assign(new Error(`${hostname}: the peer host policy refuses its addresses (${why})`), { code: 'EPEERHOSTPOLICY' });
        callback(e, '', 0);
        return;
      }
      if (options.all === true) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };
}
