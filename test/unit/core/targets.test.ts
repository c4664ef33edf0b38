import { describe, expect, it } from 'vitest';
import { parseCidr, REFUSED_RANGES, TargetPolicy } from '../../../functions/core/targets.ts';

const strict = new TargetPolicy({ allowPrivate: false, allowCidrs: [] });
/** The check a subscription URL gets: WHATWG parsing first, as every caller does. */
const urlRefusal = (url: string, policy = strict) => policy.refusalForUrl(new URL(url));

describe('SSRF defence: which addresses a delivery may reach (no connection is made here)', () => {
  it.each([
    ['0.0.0.0', '"this network"'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'cloud metadata'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', '6to4'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', '(reserved|broadcast)'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'cloud metadata'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['100::1', 'discard'],
    ['2001:db8::1', 'documentation'],
    ['2002:7f00:1::', '6to4'],
    ['fc00::1', 'unique local'],
    ['fd00:ec2::254', 'EC2 metadata'],
    ['fe80::1', 'link-local'],
    ['::7f00:1', 'IPv4-compatible'],
    ['::ffff:0:a9fe:a9fe', 'SIIT'],
    ['64:ff9b:1::a9fe:a9fe', 'local-use NAT64'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (address, why) => {
    expect(strict.refusal(address)).toMatch(
      new RegExp(`^target address .+ is in a refused range \\(.*${why}`),
    );
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.169.0.0',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
  ])('lets %s through (public)', (address) => {
    expect(strict.refusal(address)).toBeUndefined();
  });

  it.each([
    ['decimal', 'http://2130706433/'],
    ['hex', 'http://0x7f000001/'],
    ['dotted hex', 'http://0x7f.0x0.0x0.0x1/'],
    ['octal', 'http://0177.0.0.1/'],
    ['short form', 'http://127.1/'],
    ['short hex', 'http://0x7f.1/'],
    ['trailing dot', 'http://127.0.0.1./'],
    ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]/'],
    ['IPv4-mapped IPv6, hex', 'http://[::ffff:7f00:1]/'],
    ['IPv6 loopback', 'http://[::1]:8080/'],
    ['all-zero', 'http://0/'],
    ['metadata, decimal', 'http://2852039166/latest/meta-data/'],
    ['metadata, IPv6 EC2', 'http://[fd00:ec2::254]/'],
    ['https too', 'https://10.0.0.1/'],
  ])('refuses a literal private target in every spelling: %s (%s)', (_name, url) => {
    expect(urlRefusal(url)).toMatch(/refused range/);
  });

  it('refuses schemes other than http and https', () => {
    expect(urlRefusal('ftp://example.com/')).toBe('unsupported URL scheme ftp:');
    expect(urlRefusal('file:///etc/passwd')).toBe('unsupported URL scheme file:');
  });

  it('leaves host names to the resolve-time check (DNS decides what they are)', () => {
    expect(urlRefusal('https://hooks.example.com/x')).toBeUndefined();
    expect(urlRefusal('http://localhost:3000/')).toBeUndefined();
  });

  it('opens exceptions only for the allow-listed CIDRs', () => {
    const policy = new TargetPolicy({
      allowPrivate: false,
      allowCidrs: [parseCidr('10.1.0.0/16'), parseCidr('fd12::/16'), parseCidr('127.0.0.1')],
    });
    expect(policy.refusal('10.1.2.3')).toBeUndefined();
    expect(policy.refusal('10.2.0.1')).toMatch(/refused range/);
    expect(policy.refusal('fd12::5')).toBeUndefined();
    expect(policy.refusal('fd13::5')).toMatch(/refused range/);
    expect(policy.refusal('127.0.0.1')).toBeUndefined();
    expect(policy.refusal('::ffff:127.0.0.1')).toBeUndefined();
    expect(policy.refusal('127.0.0.2')).toMatch(/refused range/);
    expect(policy.refusal('169.254.169.254')).toMatch(/cloud metadata/);
  });

  it('never lets an IPv6 allow-list entry open IPv4 addresses through their mapped form', () => {
    const wide = new TargetPolicy({ allowPrivate: false, allowCidrs: [parseCidr('::/0')] });
    expect(wide.refusal('::ffff:169.254.169.254')).toMatch(/cloud metadata/);
    expect(wide.refusal('::ffff:a9fe:a9fe')).toMatch(/cloud metadata/);
    expect(wide.refusal('fd00::1')).toBeUndefined();
    const v4 = new TargetPolicy({ allowPrivate: false, allowCidrs: [parseCidr('10.0.0.0/8')] });
    expect(v4.refusal('::ffff:10.1.2.3')).toBeUndefined();
  });

  it('allows everything when private targets are allowed (local mode)', () => {
    const open = new TargetPolicy({ allowPrivate: true, allowCidrs: [] });
    for (const { cidr } of REFUSED_RANGES) expect(open.refusal(parseCidr(cidr).address)).toBeUndefined();
  });

  it('says so when given something that is not an address', () => {
    expect(strict.refusal('example.com')).toBe('"example.com" is not an IP address');
  });

  it.each(['10.0.0.0/33', 'fd00::/129', '10.0.0/8', 'example.com/8', '10.0.0.0/8/1', '10.0.0.0/x'])(
    'rejects the malformed CIDR %s',
    (text) => {
      expect(() => parseCidr(text)).toThrow(`"${text}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
    },
  );
});
