import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../functions/core/config.ts';
import { type Received, startReceiver } from '../support/receiver.ts';
import { settle, startTestRelay } from '../support/relay.ts';

/**
 * Subscriptions that fit real receivers, end to end through the real local relay: content
 * filters, custom headers, basic / bearer / OAuth2 auth checked by real local servers, and XML
 * bodies verified by both reference verifiers.
 */

type Relay = Awaited<ReturnType<typeof startTestRelay>>;
let relay: Relay['relay'];
let api: Relay['api'];

beforeAll(async () => {
  ({ relay, api } = await startTestRelay([0.05, 0.05]));
});
afterAll(() => relay.close());

const deliveriesOf = async (eventId: string) => {
  await settle(relay);
  return (await api.get(`/v1/events/${eventId}`)).body.deliveries as Array<{
    subscriptionId: string;
    status: string;
    attempts: Array<{ status: number }>;
  }>;
};

/** The headers a receiver got, as the verifiers take them. */
const headersOf = (r: Received) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

describe('content filters', () => {
  it('delivers only the events whose data match the filter, and makes no delivery for the others', async () => {
    const receiver = await startReceiver();
    const nl = await api.subscribe(`${receiver.url}/nl`, ['order.*'], {
      filter: { data: { country: ['NL'], total: [{ numeric: ['>=', 100] }] } },
    });
    const all = await api.subscribe(`${receiver.url}/all`, ['order.*']);
    const big = await api.send('order.created', { country: 'NL', total: 250 });
    const small = await api.send('order.created', { country: 'NL', total: 20 });
    const us = await api.send('order.created', { country: 'US', total: 900 });

    expect((await deliveriesOf(big)).map((d) => d.subscriptionId).sort()).toEqual([nl.id, all.id].sort());
    expect((await deliveriesOf(small)).map((d) => d.subscriptionId)).toEqual([all.id]);
    expect((await deliveriesOf(us)).map((d) => d.subscriptionId)).toEqual([all.id]);
    expect(receiver.received.filter((r) => r.path === '/nl').map((r) => r.headers['webhook-id'])).toEqual([
      big,
    ]);
    await Promise.all([api.del(`/v1/subscriptions/${nl.id}`), api.del(`/v1/subscriptions/${all.id}`)]);
    await receiver.close();
  });

  it('refuses a filter that is not an event pattern with a 400 naming the bad path', async () => {
    const res = await api.post('/v1/subscriptions', {
      url: 'http://127.0.0.1:9/x',
      eventTypes: ['order.*'],
      filter: { data: { total: [{ numeric: ['>', 'ten'] }] } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toMatch(/^filter\.data\.total/);
  });

  it('changes and removes a filter with PATCH', async () => {
    const receiver = await startReceiver();
    const sub = await api.subscribe(receiver.url, ['stock.changed'], { filter: { data: { sku: ['A'] } } });
    const patched = await api.patch(`/v1/subscriptions/${sub.id}`, { filter: { data: { sku: ['B'] } } });
    expect(patched.body.filter).toEqual({ data: { sku: ['B'] } });
    const a = await api.send('stock.changed', { sku: 'A' });
    expect(await deliveriesOf(a)).toEqual([]);
    const removed = await api.patch(`/v1/subscriptions/${sub.id}`, { filter: null });
    expect(removed.body).not.toHaveProperty('filter');
    const again = await api.send('stock.changed', { sku: 'A' });
    expect((await deliveriesOf(again)).map((d) => d.status)).toEqual(['succeeded']);
    await api.del(`/v1/subscriptions/${sub.id}`);
    await receiver.close();
  });
});

describe('custom headers', () => {
  it('sends the subscription headers with every webhook, beside the signature headers', async () => {
    const receiver = await startReceiver((_n, r) => (r.headers['x-api-key'] === 'gw-key-1' ? 204 : 403));
    const sub = await api.subscribe(receiver.url, ['route.updated'], {
      headers: { 'X-Api-Key': 'gw-key-1', 'X-Tenant-Route': 'eu-west' },
    });
    const id = await api.send('route.updated', { route: 7 });
    expect((await deliveriesOf(id)).map((d) => d.status)).toEqual(['succeeded']);
    const [got] = receiver.withId(id);
    expect(got?.headers['x-tenant-route']).toBe('eu-west');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(new StandardWebhook(sub.secret).verify(got?.body ?? '', headersOf(got as Received))).toMatchObject(
      {
        type: 'route.updated',
      },
    );
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body.headers).toEqual({
      'x-api-key': 'gw-key-1',
      'x-tenant-route': 'eu-west',
    });
    await api.del(`/v1/subscriptions/${sub.id}`);
    await receiver.close();
  });

  it('refuses a signature header, content-type, host and an authorization header beside auth', async () => {
    for (const [headers, path] of [
      [{ 'webhook-signature': 'v1,forged' }, 'headers.webhook-signature'],
      [{ 'Content-Type': 'text/plain' }, 'headers.Content-Type'],
      [{ host: 'evil.example' }, 'headers.host'],
    ] as const) {
      const res = await api.post('/v1/subscriptions', {
        url: 'http://127.0.0.1:9/',
        eventTypes: ['*'],
        headers,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].path).toBe(path);
    }
    const both = await api.post('/v1/subscriptions', {
      url: 'http://127.0.0.1:9/',
      eventTypes: ['*'],
      headers: { authorization: 'Bearer x' },
      auth: { type: 'bearer', token: 'y' },
    });
    expect(both.status).toBe(400);
    expect(both.body.error.details[0].path).toBe('headers.authorization');
  });
});

describe('endpoint auth', () => {
  it('authenticates with basic auth, shows the credentials once at create and never in listings', async () => {
    const expected = `Basic ${Buffer.from('relay:pa:ss w0rd').toString('base64')}`;
    const receiver = await startReceiver((_n, r) => (r.headers.authorization === expected ? 200 : 401));
    const created = await api.post('/v1/subscriptions', {
      url: receiver.url,
      eventTypes: ['invoice.paid'],
      auth: { type: 'basic', username: 'relay', password: 'pa:ss w0rd' },
    });
    expect(created.status).toBe(201);
    expect(created.body.auth).toEqual({ type: 'basic', username: 'relay', password: 'pa:ss w0rd' });
    const id = await api.send('invoice.paid', { invoice: 1 });
    expect((await deliveriesOf(id)).map((d) => d.status)).toEqual(['succeeded']);
    const shown = [
      (await api.get(`/v1/subscriptions/${created.body.id}`)).body,
      (await api.get('/v1/subscriptions')).body,
    ];
    for (const body of shown) expect(JSON.stringify(body)).not.toContain('pa:ss w0rd');
    expect(shown[0].auth).toEqual({ type: 'basic', username: 'relay' });
    await api.del(`/v1/subscriptions/${created.body.id}`);
    await receiver.close();
  });

  it('authenticates with a bearer token, and a wrong one is a failed attempt the log shows', async () => {
    const receiver = await startReceiver((_n, r) =>
      r.headers.authorization === 'Bearer tok-right' ? 200 : 401,
    );
    const good = await api.subscribe(`${receiver.url}/good`, ['invoice.sent'], {
      auth: { type: 'bearer', token: 'tok-right' },
    });
    const bad = await api.subscribe(`${receiver.url}/bad`, ['invoice.sent'], {
      auth: { type: 'bearer', token: 'tok-wrong' },
    });
    const id = await api.send('invoice.sent', {});
    const byId = new Map((await deliveriesOf(id)).map((d) => [d.subscriptionId, d]));
    expect(byId.get(good.id)?.status).toBe('succeeded');
    expect(byId.get(bad.id)?.attempts.map((a) => a.status)).toContain(401);
    await Promise.all([api.del(`/v1/subscriptions/${good.id}`), api.del(`/v1/subscriptions/${bad.id}`)]);
    await receiver.close();
  });

  it('gets an OAuth2 token by client credentials, reuses it, and fetches a new one once when the receiver answers 401', async () => {
    const tokens = await startTokenServer();
    const receiver = await startReceiver((_n, r) =>
      r.headers.authorization === `Bearer ${tokens.current()}` ? 200 : 401,
    );
    const sub = await api.subscribe(receiver.url, ['parcel.scanned'], {
      auth: {
        type: 'oauth2',
        tokenUrl: `${tokens.url}/oauth/token`,
        clientId: 'relay-client',
        clientSecret: 'cs-secret',
        scope: 'webhooks:write',
      },
    });
    const first = await Promise.all([1, 2, 3].map((n) => api.send('parcel.scanned', { n })));
    for (const id of first) expect((await deliveriesOf(id)).map((d) => d.status)).toEqual(['succeeded']);
    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0]).toMatchObject({
      authorization: `Basic ${Buffer.from('relay-client:cs-secret').toString('base64')}`,
      body: 'grant_type=client_credentials&scope=webhooks%3Awrite',
    });
    // The authorization server revokes the token early: the next webhook's first POST gets a
    // 401, the relay fetches a fresh token and the same attempt succeeds.
    tokens.revoke();
    const after = await api.send('parcel.scanned', { n: 4 });
    const [d] = await deliveriesOf(after);
    expect(d?.status).toBe('succeeded');
    expect(d?.attempts).toHaveLength(1);
    expect(tokens.requests).toHaveLength(2);
    const listed = (await api.get(`/v1/subscriptions/${sub.id}`)).body;
    expect(listed.auth).toEqual({
      type: 'oauth2',
      tokenUrl: `${tokens.url}/oauth/token`,
      clientId: 'relay-client',
      scope: 'webhooks:write',
    });
    expect(JSON.stringify(listed)).not.toContain('cs-secret');
    await api.del(`/v1/subscriptions/${sub.id}`);
    await Promise.all([receiver.close(), tokens.close()]);
  });

  it('refuses a token URL the SSRF defence refuses, naming auth.tokenUrl', async () => {
    const strict = await startTestRelay([0.05], {
      config: { ...configFromEnv({}), allowPrivateTargets: false },
    });
    try {
      const res = await strict.api.post('/v1/subscriptions', {
        url: 'https://hooks.example.com/x',
        eventTypes: ['*'],
        auth: { type: 'oauth2', tokenUrl: 'http://169.254.169.254/token', clientId: 'a', clientSecret: 'b' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].path).toBe('auth.tokenUrl');
    } finally {
      await strict.relay.close();
    }
  });
});

describe('XML payloads', () => {
  it('sends application/xml signed over the exact bytes, verified by standardwebhooks and svix', async () => {
    const receiver = await startReceiver();
    const sub = await api.subscribe(receiver.url, ['shipment.delivered'], { format: 'xml' });
    expect((await api.get(`/v1/subscriptions/${sub.id}`)).body.format).toBe('xml');
    const data = {
      shipment: 'S-1',
      pieces: [1, 2],
      signedBy: null,
      note: '<fragile> & "dry"',
      'pod url': 'x',
    };
    const id = await api.send('shipment.delivered', data);
    expect((await deliveriesOf(id)).map((d) => d.status)).toEqual(['succeeded']);
    const [got] = receiver.withId(id);
    if (!got) throw new Error('no webhook arrived');
    expect(got.headers['content-type']).toBe('application/xml');
    expect(XMLValidator.validate(got.body)).toBe(true);
    // Both verifiers check the signature over the raw body first and then JSON.parse it: on an
    // XML body they pass the signature and stop at the parse (a SyntaxError), while a tampered
    // body fails the signature. Their `sign` makes exactly the signature the relay sent.
    for (const wh of [new StandardWebhook(sub.secret), new SvixWebhook(sub.secret)]) {
      expect(() => wh.verify(got.body, headersOf(got))).toThrow(SyntaxError);
      expect(() => wh.verify(got.body.replace('S-1', 'S-2'), headersOf(got))).toThrow(/signature/i);
    }
    const ts = new Date(Number(got.headers['webhook-timestamp']) * 1000);
    const expected = new StandardWebhook(sub.secret).sign(id, ts, got.body);
    expect(String(got.headers['webhook-signature']).split(' ')).toContain(expected);
    const tree = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(got.body);
    expect(tree.webhook.type).toBe('shipment.delivered');
    expect(tree.webhook.data.shipment).toBe('S-1');
    expect(tree.webhook.data.note).toBe('<fragile> & "dry"');
    expect(tree.webhook.data.signedBy['@nil']).toBe('true');
    expect(tree.webhook.data.entry['@key']).toBe('pod url');
    await api.del(`/v1/subscriptions/${sub.id}`);
    await receiver.close();
  });
});

describe('the body of a request', () => {
  it('must be sent as application/json: anything else is a 415 naming the expected type, nothing is accepted', async () => {
    const res = await api.call('POST', '/v1/events', '{"type":"a.b","data":{}}', {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'unsupported_media_type' });
    expect(res.body.error.message).toContain('application/json');
    const sub = await api.call(
      'POST',
      '/v1/subscriptions',
      '{"url":"http://127.0.0.1:9","eventTypes":["*"]}',
      {
        'content-type': 'application/x-www-form-urlencoded',
      },
    );
    expect(sub.status).toBe(415);
    const urls = (await api.get('/v1/subscriptions')).body.subscriptions.map((s: { url: string }) => s.url);
    expect(urls).not.toContain('http://127.0.0.1:9');
  });
});

/** A real OAuth2 authorization server on loopback: client credentials, Basic client auth. */
async function startTokenServer() {
  const requests: Array<{ authorization?: string; body: string; contentType?: string }> = [];
  let serial = 0;
  let token = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body,
        ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
      });
      const ok =
        req.url === '/oauth/token' &&
        req.headers.authorization === `Basic ${Buffer.from('relay-client:cs-secret').toString('base64')}` &&
        req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
        new URLSearchParams(body).get('grant_type') === 'client_credentials';
      if (!ok) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":"invalid_client"}');
        return;
      }
      token = `at-${++serial}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    current: () => token,
    /** Revokes the issued token: the receiver stops taking it. */
    revoke: () => {
      token = 'revoked';
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
