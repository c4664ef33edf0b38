import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { type client, settle, startTestRelay } from '../support/relay.ts';

describe('HTTP contract of the local relay', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  let rx: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    ({ relay, api } = await startTestRelay([0.05]));
    rx = await startReceiver();
  });
  afterAll(async () => {
    await relay.close();
    await rx.close();
  });

  it('answers /health without a key', async () => {
    const res = await fetch(`${relay.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('refuses every /v1 route without a valid bearer key, with a JSON 401', async () => {
    for (const [method, path] of [
      ['POST', '/v1/events'],
      ['POST', '/v1/events/batch'],
      ['GET', '/v1/subscriptions'],
      ['GET', '/v1/dlq'],
      ['POST', '/v1/dlq/redrive'],
      ['GET', '/v1/nothing-here'],
    ] as const) {
      for (const authorization of ['', 'Bearer wrong', 'Basic dGVzdC1rZXk6', 'test-key']) {
        const res = await api.call(method, path, method === 'GET' ? undefined : { type: 'a.b', data: {} }, {
          authorization,
        });
        expect(res.status, `${method} ${path} with "${authorization}"`).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
      }
    }
  });

  it('creates a subscription with a generated whsec_ secret and never lists the secret', async () => {
    const created = await api.post('/v1/subscriptions', {
      url: `${rx.url}/a`,
      eventTypes: ['order.*'],
      description: 'orders',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: `${rx.url}/a`,
      eventTypes: ['order.*'],
      enabled: true,
      description: 'orders',
    });
    expect(created.body.id).toMatch(/^sub_/);
    expect(Buffer.from(created.body.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    expect(created.body.secret).toMatch(/^whsec_/);

    const list = await api.get('/v1/subscriptions');
    const listed = list.body.subscriptions.find((s: { id: string }) => s.id === created.body.id);
    expect(listed).toBeDefined();
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    const one = await api.get(`/v1/subscriptions/${created.body.id}`);
    expect(one.body.secret).toBeUndefined();
    expect((await api.get(`/v1/subscriptions/${created.body.id}/secret`)).body).toEqual({
      secret: created.body.secret,
    });
  });

  it('keeps a secret given at creation', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const created = await api.post('/v1/subscriptions', { url: rx.url, eventTypes: ['*'], secret });
    expect(created.body.secret).toBe(secret);
  });

  it('updates, and deletes a subscription, and 404s an unknown id', async () => {
    const { id } = await api.subscribe(rx.url, ['a.b']);
    const patched = await api.patch(`/v1/subscriptions/${id}`, {
      eventTypes: ['c.*'],
      description: 'changed',
      enabled: false,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ eventTypes: ['c.*'], description: 'changed', enabled: false });
    expect((await api.get(`/v1/subscriptions/${id}`)).body.enabled).toBe(false);
    expect((await api.del(`/v1/subscriptions/${id}`)).status).toBe(204);
    for (const res of [
      await api.get(`/v1/subscriptions/${id}`),
      await api.patch(`/v1/subscriptions/${id}`, { enabled: true }),
      await api.del(`/v1/subscriptions/${id}`),
      await api.get(`/v1/subscriptions/${id}/secret`),
      await api.post(`/v1/subscriptions/${id}/test`),
      await api.get(`/v1/subscriptions/${id}/deliveries`),
      await api.get('/v1/events/evt_unknown'),
      await api.get('/v1/deliveries/dlv_unknown'),
      await api.post('/v1/deliveries/dlv_unknown/retry'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('refuses a test event to a disabled subscription with 409', async () => {
    const { id } = await api.subscribe(rx.url, ['*'], { enabled: false });
    const res = await api.post(`/v1/subscriptions/${id}/test`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('disabled');
  });

  it('accepts a producer-chosen event id and timestamp, and shows the event with its deliveries', async () => {
    const rx = await startReceiver();
    onTestFinished(() => rx.close());
    const sub = await api.subscribe(rx.url, ['trip.*']);
    const res = await api.post('/v1/events', {
      id: 'trip-42_a',
      type: 'trip.started',
      timestamp: '2026-11-23T10:00:00+01:00',
      data: { driver: 'D7' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: 'trip-42_a' });
    await waitFor('delivery', () => rx.withId('trip-42_a').length === 1);
    await settle(relay);
    expect(JSON.parse(rx.withId('trip-42_a')[0]?.body ?? '{}').timestamp).toBe('2026-11-23T09:00:00.000Z');
    const event = await api.get('/v1/events/trip-42_a');
    expect(event.status).toBe(200);
    expect(event.body).toMatchObject({ id: 'trip-42_a', type: 'trip.started', data: { driver: 'D7' } });
    // Earlier tests left `*` subscriptions behind: the event went to each of them too.
    const mine = event.body.deliveries.filter((d: { subscriptionId: string }) => d.subscriptionId === sub.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ status: 'succeeded', eventId: 'trip-42_a', url: rx.url });
    expect(mine[0].attempts[0]).toMatchObject({ attempt: 1, status: 200, trigger: 'scheduled' });
  });

  it("lists a subscription's deliveries newest first, page by page", async () => {
    const rx = await startReceiver();
    onTestFinished(() => rx.close());
    const sub = await api.subscribe(rx.url, ['page.*']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await api.send('page.event', { i }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor('five deliveries', () => ids.every((id) => rx.withId(id).length === 1));
    await settle(relay);
    const first = await api.get(`/v1/subscriptions/${sub.id}/deliveries?limit=3`);
    expect(first.body.deliveries).toHaveLength(3);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await api.get(`/v1/subscriptions/${sub.id}/deliveries?limit=3&cursor=${first.body.next}`);
    const seen = [...first.body.deliveries, ...second.body.deliveries].map(
      (d: { eventId: string }) => d.eventId,
    );
    expect(seen).toEqual([...ids].reverse());
  });

  it('answers malformed requests with a 4xx JSON error that names the problem, never a 5xx', async () => {
    const { id } = await api.subscribe(rx.url, ['*']);
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/v1/events', '', 400, /empty/],
      ['POST', '/v1/events', '{"type":', 400, /not valid JSON/],
      ['POST', '/v1/events', '[]', 400, /expected object/],
      ['POST', '/v1/events', 'null', 400, /invalid/],
      ['POST', '/v1/events', { data: {} }, 400, /type/],
      ['POST', '/v1/events', { type: 'bad type!', data: {} }, 400, /type: must be dotted segments/],
      ['POST', '/v1/events', { type: 'a..b', data: {} }, 400, /type/],
      ['POST', '/v1/events', { type: 'a.b' }, 400, /data/],
      ['POST', '/v1/events', { type: 'a.b', data: 'x' }, 400, /data: must be a JSON object/],
      ['POST', '/v1/events', { type: 'a.b', data: [1] }, 400, /data/],
      ['POST', '/v1/events', { type: 'a.b', data: {}, id: 'has.dot' }, 400, /id/],
      ['POST', '/v1/events', { type: 'a.b', data: {}, timestamp: 'yesterday' }, 400, /timestamp/],
      ['POST', '/v1/events', { type: 'a.b', data: {}, extra: 1 }, 400, /extra/],
      ['POST', '/v1/events', { type: 'a.b', data: { big: 'x'.repeat(300_000) } }, 413, /larger than/],
      ['POST', '/v1/events/batch', { events: [] }, 400, /at least one/],
      [
        'POST',
        '/v1/events/batch',
        { events: Array.from({ length: 101 }, () => ({ type: 'a.b', data: {} })) },
        400,
        /at most 100/,
      ],
      [
        'POST',
        '/v1/events/batch',
        { events: [{ type: 'a.b', data: {} }, { type: 'a.b' }] },
        400,
        /events\.1\.data/,
      ],
      ['POST', '/v1/subscriptions', {}, 400, /url/],
      [
        'POST',
        '/v1/subscriptions',
        { url: 'ftp://x', eventTypes: ['a'] },
        400,
        /url: must be an absolute http/,
      ],
      ['POST', '/v1/subscriptions', { url: 'not a url', eventTypes: ['a'] }, 400, /url/],
      [
        'POST',
        '/v1/subscriptions',
        { url: rx.url, eventTypes: [] },
        400,
        /eventTypes: must list at least one/,
      ],
      ['POST', '/v1/subscriptions', { url: rx.url, eventTypes: ['a.*.b'] }, 400, /eventTypes\.0/],
      ['POST', '/v1/subscriptions', { url: rx.url, eventTypes: ['a'], secret: 'plain' }, 400, /secret/],
      [
        'POST',
        '/v1/subscriptions',
        { url: rx.url, eventTypes: ['a'], secret: 'whsec_c2hvcnQ=' },
        400,
        /24 to 64/,
      ],
      ['POST', '/v1/subscriptions', { url: rx.url, eventTypes: ['a'], enabled: 'yes' }, 400, /enabled/],
      ['PATCH', `/v1/subscriptions/${id}`, {}, 400, /at least one/],
      ['PATCH', `/v1/subscriptions/${id}`, { secret: 'whsec_x' }, 400, /secret/],
      ['PATCH', `/v1/subscriptions/${id}`, { url: 'javascript:alert(1)' }, 400, /url/],
      ['GET', `/v1/subscriptions/${id}/deliveries?limit=0`, undefined, 400, /limit/],
      ['GET', `/v1/subscriptions/${id}/deliveries?limit=abc`, undefined, 400, /limit/],
      ['GET', `/v1/subscriptions/${id}/deliveries?cursor=garbage`, undefined, 400, /cursor/],
      [
        'GET',
        `/v1/subscriptions/${id}/deliveries?cursor=${Buffer.from('{"pk":"x"}').toString('base64url')}`,
        undefined,
        400,
        /cursor/,
      ],
      ['GET', '/v1/dlq?limit=1000', undefined, 400, /limit/],
      ['PUT', '/v1/events', undefined, 405, /use (POST, GET|GET, POST)/],
      ['DELETE', '/v1/dlq', undefined, 405, /GET/],
      ['PUT', `/v1/subscriptions/${id}`, { url: rx.url }, 405, /PATCH/],
      ['POST', '/v1/events', { type: `a.${'b'.repeat(127)}`, data: {} }, 400, /at most 128/],
      ['GET', `/v1/subscriptions/${'s'.repeat(1100)}`, undefined, 404, /no route/],
      ['GET', `/v1/events/${'e'.repeat(2100)}`, undefined, 404, /no route/],
      ['POST', `/v1/deliveries/${'d'.repeat(2100)}/retry`, undefined, 404, /no route/],
      ['GET', '/v1/subscriptions/%ZZ', undefined, 404, /no route/],
      [
        'GET',
        `/v1/dlq?cursor=${Buffer.from('{"pk":1e400,"sk":"DLV"}').toString('base64url')}`,
        undefined,
        400,
        /cursor/,
      ],
      ['GET', '/v1/unknown', undefined, 404, /no route/],
      ['GET', '/', undefined, 404, /no route/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await api.call(method, path, body);
      const label = `${method} ${path.slice(0, 60)} ${JSON.stringify(body)?.slice(0, 80)}`;
      expect(res.status, label).toBe(status);
      expect(res.contentType, label).toBe('application/json');
      expect(res.body.error.code, label).toEqual(expect.any(String));
      expect(res.body.error.message, label).toMatch(message);
    }
  });

  it('reports an empty DLQ and a completed no-op redrive', async () => {
    const dlq = await api.get('/v1/dlq');
    expect(dlq.status).toBe(200);
    expect(dlq.body).toMatchObject({ count: 0, deliveries: [] });
    const redrive = await api.admin.post('/v1/dlq/redrive');
    expect(redrive.status).toBe(202);
    expect(redrive.body).toEqual({ status: 'COMPLETED', moved: 0, total: 0 });
  });

  it('refuses with 413 an event whose body fits the API but whose event would not fit the bus', async () => {
    // 262,000 bytes of data: under the 256 KiB body limit, over 256 KiB once id, tenant and times are added.
    const res = await api.post('/v1/events', { type: 'big.one', data: { blob: 'x'.repeat(262_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'event_too_large', details: [{ path: 'data' }] });
    expect(res.body.error.message).toMatch(
      /^the event is \d+ bytes as stored and routed, over the 262144-byte limit/,
    );
  });

  it('accepts a producer-chosen event id once: a repeat gets 200 with the same id and is not delivered again', async () => {
    const rx = await startReceiver();
    onTestFinished(() => rx.close());
    const sub = await api.subscribe(rx.url, ['idem.*']);
    const first = await api.post('/v1/events', {
      id: 'order-42-created',
      type: 'idem.created',
      data: { n: 1 },
    });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ id: 'order-42-created' });
    const again = await api.post('/v1/events', {
      id: 'order-42-created',
      type: 'idem.created',
      data: { n: 1 },
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id: 'order-42-created', duplicate: true });
    await settle(relay);
    expect(rx.withId('order-42-created')).toHaveLength(1);
    const deliveries = await api.get(`/v1/subscriptions/${sub.id}/deliveries`);
    expect(deliveries.body.deliveries).toHaveLength(1);
  });

  it('delivers once when many requests with the same event id arrive at the same moment', async () => {
    const rx = await startReceiver();
    onTestFinished(() => rx.close());
    await api.subscribe(rx.url, ['race.*']);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => api.post('/v1/events', { id: 'race-1', type: 'race.won', data: {} })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([...Array(19).fill(200), 202]);
    for (const r of results) expect(r.body.id).toBe('race-1');
    await settle(relay);
    expect(rx.withId('race-1')).toHaveLength(1);
  });

  it('deduplicates within a batch and against earlier events, and answers 200 when nothing was new', async () => {
    const rx = await startReceiver();
    onTestFinished(() => rx.close());
    await api.subscribe(rx.url, ['batch.*']);
    await api.post('/v1/events', { id: 'b-1', type: 'batch.x', data: {} });
    const mixed = await api.post('/v1/events/batch', {
      events: [
        { id: 'b-1', type: 'batch.x', data: {} },
        { id: 'b-2', type: 'batch.x', data: {} },
        { id: 'b-2', type: 'batch.x', data: {} },
        { type: 'batch.x', data: {} },
      ],
    });
    expect(mixed.status).toBe(202);
    expect(mixed.body.ids.slice(0, 3)).toEqual(['b-1', 'b-2', 'b-2']);
    expect(mixed.body.duplicates).toBe(2);
    const repeat = await api.post('/v1/events/batch', { events: [{ id: 'b-1', type: 'batch.x', data: {} }] });
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual({ ids: ['b-1'], duplicates: 1 });
    await settle(relay);
    expect(rx.withId('b-1')).toHaveLength(1);
    expect(rx.withId('b-2')).toHaveLength(1);
    // Events without a producer id are never taken for duplicates.
    const noId = mixed.body.ids[3];
    expect(rx.withId(noId)).toHaveLength(1);
  });

  it("reserves event types starting with relay. for the relay's own events", async () => {
    const res = await api.post('/v1/events', { type: 'relay.subscription.disabled', data: {} });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/type: must not start with "relay\."/);
  });

  it('reads the progress of the latest redrive', async () => {
    await api.admin.post('/v1/dlq/redrive');
    const status = await api.admin.get('/v1/dlq/redrive');
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ status: 'COMPLETED', moved: 0, total: 0 });
  });

  it('refuses recover and replay windows that are not ISO times or end before they start, with a JSON 400', async () => {
    const sub = await api.subscribe(rx.url, ['never.sent']);
    const cases: Array<[string, unknown, RegExp]> = [
      ['/v1/replays', {}, /from: /],
      ['/v1/replays', { from: 'yesterday' }, /from: must be an ISO 8601 date-time/],
      [
        '/v1/replays',
        { from: '2026-11-23T10:00:00Z', to: '2026-11-23T09:00:00Z' },
        /to: must be later than from/,
      ],
      [`/v1/subscriptions/${sub.id}/recover`, { from: 42 }, /from: /],
      [
        `/v1/subscriptions/${sub.id}/recover`,
        { from: '2026-11-23T10:00:00Z', to: '2026-11-23T10:00:00Z' },
        /later/,
      ],
      [
        `/v1/subscriptions/${sub.id}/recover`,
        { from: '2026-11-23T10:00:00Z', cursor: 'bad' },
        /cursor is invalid/,
      ],
    ];
    for (const [path, body, message] of cases) {
      const res = await (path.startsWith('/v1/replays') ? api.admin : api).post(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
  });

  it('404s recovering an unknown subscription and reading an unknown replay', async () => {
    const recover = await api.post('/v1/subscriptions/sub_nope/recover', { from: '2026-11-23T10:00:00Z' });
    expect(recover.status).toBe(404);
    expect(recover.body.error.message).toBe('subscription sub_nope not found');
    const replay = await api.admin.get('/v1/replays/replay-nope');
    expect(replay.status).toBe(404);
    expect(replay.body.error.message).toBe('replay replay-nope not found');
  });

  it('counts ingested events in the metrics the functions publish', async () => {
    const before = relay.metrics.snapshot().counts.EventsIngested ?? 0;
    await api.post('/v1/events/batch', {
      events: [
        { type: 'm.a', data: {} },
        { type: 'm.b', data: {} },
      ],
    });
    expect(relay.metrics.snapshot().counts.EventsIngested).toBe(before + 2);
  });

  it('routes an ingest path with a trailing slash like the path without one', async () => {
    const res = await api.post('/v1/events/', { type: 'slash.test', data: {} });
    expect(res.status).toBe(202);
  });

  it('reads any request target as a path (never as a host), answering an odd one with a JSON 404', async () => {
    const { request } = await import('node:http');
    const url = new URL(relay.url);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const headers = { authorization: `Bearer ${relay.apiKey}` };
      const req = request(
        { host: url.hostname, port: url.port, path: '//[', method: 'GET', headers },
        (r) => {
          let body = '';
          r.on('data', (c) => {
            body += c;
          });
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('route_not_found');
  });
});
