import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may be sent: the SSRF defence. A relay POSTs to URLs strangers type in, so
 * it must never reach the private network it runs in (cloud metadata at 169.254.169.254 above
 * all). Every address a host resolves to is checked, literals in every spelling included (the
 * WHATWG URL parser canonicalises `2130706433`, `0x7f.1`, `0177.0.0.1` and `127.1` to
 * `127.0.0.1`), and the sender connects to the checked address itself, so a second DNS answer
 * cannot swap it (DNS rebinding). An operator allow-list (CIDRs) opens exceptions.
 */

/** The ranges refused, with why (IANA special-purpose registries; RFC numbers in the names). */
export const REFUSED_RANGES: ReadonlyArray<{ cidr: string; what: string }> = [
  { cidr: '0.0.0.0/8', what: '"this network"' },
  { cidr: '10.0.0.0/8', what: 'private network (RFC 1918)' },
  { cidr: '100.64.0.0/10', what: 'carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local, cloud metadata' },
  { cidr: '172.16.0.0/12', what: 'private network (RFC 1918)' },
  { cidr: '192.0.0.0/24', what: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', what: 'documentation (TEST-NET-1)' },
  { cidr: '192.88.99.0/24', what: '6to4 relay anycast' },
  { cidr: '192.168.0.0/16', what: 'private network (RFC 1918)' },
  { cidr: '198.18.0.0/15', what: 'benchmarking' },
  { cidr: '198.51.100.0/24', what: 'documentation (TEST-NET-2)' },
  { cidr: '203.0.113.0/24', what: 'documentation (TEST-NET-3)' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved' },
  { cidr: '255.255.255.255/32', what: 'broadcast' },
  { cidr: '::/128', what: 'unspecified' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: '::/96', what: 'IPv4-compatible (deprecated)' },
  { cidr: '::ffff:0:0:0/96', what: 'IPv4-translated (SIIT)' },
  { cidr: '64:ff9b:1::/48', what: 'local-use NAT64' },
  { cidr: '2001::/32', what: 'Teredo (embeds an IPv4 address)' },
  { cidr: 'fec0::/10', what: 'site-local (deprecated)' },
  { cidr: '64:ff9b::/96', what: 'NAT64 (embeds an IPv4 address)' },
  { cidr: '100::/64', what: 'discard-only' },
  { cidr: '2001:db8::/32', what: 'documentation' },
  { cidr: '2002::/16', what: '6to4 (embeds an IPv4 address)' },
  { cidr: 'fc00::/7', what: 'unique local, incl. the EC2 metadata address fd00:ec2::254' },
  { cidr: 'fe80::/10', what: 'link-local' },
  { cidr: 'ff00::/8', what: 'multicast' },
];

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8` or `fd00::/8` (or a bare address); throws a message naming the entry. */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (version === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`"${text}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A comma-separated list of CIDRs (RELAY_ALLOWED_TARGET_CIDRS); empty or unset is none. */
export function parseCidrList(text: string | undefined): Cidr[] {
  if (!text?.trim()) return [];
  return text.split(',').map(parseCidr);
}

export interface TargetPolicyOptions {
  /** Local mode's switch: allow every address (a receiver on localhost works). */
  allowPrivate: boolean;
  /** Exceptions to the refused ranges. */
  allowCidrs: readonly Cidr[];
}

export class TargetPolicy {
  private readonly refused: Array<{ list: BlockList; what: string }>;
  private readonly allowedV4 = new BlockList();
  private readonly allowedV6 = new BlockList();

  constructor(readonly opts: TargetPolicyOptions) {
    this.refused = REFUSED_RANGES.map(({ cidr, what }) => {
      const c = parseCidr(cidr);
      const list = new BlockList();
      list.addSubnet(c.address, c.prefix, c.family);
      return { list, what };
    });
    for (const c of opts.allowCidrs) {
      (c.family === 'ipv4' ? this.allowedV4 : this.allowedV6).addSubnet(c.address, c.prefix, c.family);
    }
  }

  /**
   * Why a delivery must not connect to this IP address, or undefined when it may. IPv4-mapped
   * IPv6 addresses (::ffff:a.b.c.d) are checked as the IPv4 address they carry.
   */
  refusal(address: string): string | undefined {
    const bare = address.startsWith('[') ? address.slice(1, -1) : address;
    if (!this.opts.allowPrivate && isIP(bare) === 0) return `"${address}" is not an IP address`;
    const range = this.refusedRange(bare);
    return range
      ? `target address ${bare} is in a refused range (${range}); an operator can allow-list it`
      : undefined;
  }

  /** The refused range an IP address falls in (its description), or undefined when it may be reached. */
  refusedRange(address: string): string | undefined {
    if (this.opts.allowPrivate) return undefined;
    const bare = address.startsWith('[') ? address.slice(1, -1) : address;
    const version = isIP(bare);
    if (version === 0) return 'not an IP address';
    const family = version === 4 ? 'ipv4' : 'ipv6';
    // An IPv4-mapped address is the IPv4 address: only IPv4 entries may allow it (an IPv6 entry
    // such as ::/0 would otherwise open every IPv4 address, metadata included).
    const v4 = version === 4 ? bare : mappedIPv4(bare);
    const allowed = v4 ? this.allowedV4.check(v4, 'ipv4') : this.allowedV6.check(bare, 'ipv6');
    if (allowed) return undefined;
    return this.refused.find((r) => r.list.check(bare, family))?.what;
  }

  /**
   * The check a URL can get without DNS: its scheme, and its host when that is an IP literal.
   * `url` must come from the WHATWG parser, which canonicalises every IPv4 spelling.
   */
  refusalForUrl(url: URL): string | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return `unsupported URL scheme ${url.protocol}`;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return isIP(host) ? this.refusal(host) : undefined;
  }
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), if it is one. */
function mappedIPv4(ipv6: string): string | undefined {
  let host: string;
  try {
    host = new URL(`http://[${ipv6}]/`).hostname;
  } catch {
    return undefined;
  }
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (!m) return undefined;
  const hi = Number.parseInt(m[1] as string, 16);
  const lo = Number.parseInt(m[2] as string, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Every address allowed: local mode with RELAY_ALLOW_PRIVATE_TARGETS, and unit tests. */
export const ALLOW_ALL_TARGETS = new TargetPolicy({ allowPrivate: true, allowCidrs: [] });
