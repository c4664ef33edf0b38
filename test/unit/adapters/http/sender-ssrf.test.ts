import type { LookupAddress } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeHttpSender, type Resolver } from '../../../../functions/adapters/http/sender.ts';
import { parseCidr, TargetPolicy } from '../../../../functions/core/targets.ts';
import { startReceiver } from '../../../support/receiver.ts';

const strict = new TargetPolicy({ allowPrivate: false, allowCidrs: [] });
const loopbackAllowed = new TargetPolicy({
  allowPrivate: false,
  allowCidrs: [parseCidr('127.0.0.0/8'), parseCidr('::1/128')],
});

/** A resolver that answers from a table, so no test ever asks real DNS (or reaches a real host). */
function fakeDns(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = ((hostname, _family, callback) => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      return;
    }
    callback(
      null,
      addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  }) as Resolver & { asked: string[] };
  resolve.asked = asked;
  return resolve;
}

describe('NodeHttpSender with the SSRF defence (against a listener on loopback only)', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });
  const listener = async () => {
    const rx = await startReceiver();
    closers.push(rx.close);
    return { rx, port: new URL(rx.url).port };
  };
  const sender = (policy: TargetPolicy, resolve?: Resolver) => {
    const s = new NodeHttpSender(policy, resolve ? { resolve } : {});
    closers.push(async () => s.close());
    return s;
  };

  it.each([
    ['dotted', (p: string) => `http://127.0.0.1:${p}/`],
    ['decimal', (p: string) => `http://2130706433:${p}/`],
    ['short hex', (p: string) => `http://0x7f.1:${p}/`],
    ['octal', (p: string) => `http://0177.0.0.1:${p}/`],
    ['IPv4-mapped IPv6', (p: string) => `http://[::ffff:127.0.0.1]:${p}/`],
  ])('refuses loopback spelled %s before connecting: the listener gets nothing', async (_name, url) => {
    const { rx, port } = await listener();
    await expect(sender(strict).post(url(port), {}, '{}', 2000)).rejects.toMatchObject({
      name: 'DeliveryFailure',
      retryable: false,
      reason: expect.stringMatching(
        /^target address (127\.0\.0\.1|::ffff:7f00:1) is in a refused range \(loopback\)/,
      ),
    });
    expect(rx.received).toHaveLength(0);
  });

  it.each([
    ['dotted', (p: string) => `http://127.0.0.1:${p}/hook`],
    ['decimal', (p: string) => `http://2130706433:${p}/hook`],
    ['short hex', (p: string) => `http://0x7f.1:${p}/hook`],
    ['IPv4-mapped IPv6', (p: string) => `http://[::ffff:127.0.0.1]:${p}/hook`],
  ])('delivers to loopback spelled %s once an operator allow-lists 127.0.0.0/8', async (_name, url) => {
    const { rx, port } = await listener();
    const res = await sender(loopbackAllowed).post(url(port), {}, '{"ok":true}', 2000);
    expect(res.status).toBe(200);
    expect(rx.received.map((r) => r.body)).toEqual(['{"ok":true}']);
  });

  it('refuses a host name that resolves to a private address, naming the host and the range, not the address', async () => {
    const { rx, port } = await listener();
    const dns = fakeDns({ 'hooks.customer.test': ['127.0.0.1'] });
    await expect(
      sender(strict, dns).post(`http://hooks.customer.test:${port}/`, {}, '{}', 2000),
    ).rejects.toMatchObject({
      retryable: false,
      reason: 'hooks.customer.test resolves to a refused address (loopback)',
    });
    expect(rx.received).toHaveLength(0);
  });

  it('refuses a host whose answers mix a public and a private address (DNS rebinding)', async () => {
    const { rx, port } = await listener();
    const dns = fakeDns({ 'rebind.test': ['93.184.216.34', '169.254.169.254'] });
    await expect(
      sender(strict, dns).post(`http://rebind.test:${port}/`, {}, '{}', 2000),
    ).rejects.toMatchObject({
      retryable: false,
      reason: 'rebind.test resolves to a refused address (link-local, cloud metadata)',
    });
    expect(rx.received).toHaveLength(0);
  });

  it('connects to the very address it checked: one lookup, no second one by the socket', async () => {
    const { rx, port } = await listener();
    // Only the fake resolver knows this name; a second lookup by anyone else would fail.
    const dns = fakeDns({ 'allowed.customer.test': ['127.0.0.1'] });
    const res = await sender(loopbackAllowed, dns).post(
      `http://allowed.customer.test:${port}/x`,
      {},
      '{}',
      2000,
    );
    expect(res.status).toBe(200);
    expect(dns.asked).toEqual(['allowed.customer.test']);
    expect(rx.received[0]?.headers.host).toBe(`allowed.customer.test:${port}`);
  });

  it('reports a name that does not resolve as a retryable network failure', async () => {
    const dns = fakeDns({});
    await expect(sender(strict, dns).post('http://nowhere.test/', {}, '{}', 2000)).rejects.toMatchObject({
      retryable: true,
      reason: expect.stringContaining('DNS lookup failed'),
    });
  });
});
