import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, run } from '../../cli/main.ts';
import { ROUTES } from '../../functions/handlers/routes.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { client, settle, startTestRelay } from '../support/relay.ts';

describe('tenants and API keys', () => {
  let relay: LocalRelay;
  let admin: ReturnType<typeof client>['admin'];
  let acme: ReturnType<typeof client>;
  let globex: ReturnType<typeof client>;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  /** acme's resources, which globex must never see or touch. */
  const own = { sub: '', event: '', event2: '', event3: '', delivery: '', portalSession: '' };

  const newKey = async (tenant: string) => {
    const res = await admin.post('/v1/admin/api-keys', { tenant, description: `${tenant} production` });
    expect(res.status).toBe(201);
    return res.body as { id: string; tenant: string; key: string };
  };

  beforeAll(async () => {
    let api: ReturnType<typeof client>;
    ({ relay, api } = await startTestRelay([0.05]));
    admin = api.admin;
    rx = await startReceiver();
    acme = client(relay, (await newKey('acme')).key);
    globex = client(relay, (await newKey('globex')).key);
    own.sub = (await acme.subscribe(rx.url, ['order.*'])).id;
    own.event = await acme.send('order.created', { n: 1 });
    own.event2 = (
      await acme.post('/v1/events', { id: 'acme-order-2', type: 'order.paid', data: {} })
    ).body.id;
    own.event3 = (
      await acme.post('/v1/events', { id: 'acme-order-3', type: 'order.paid', data: {} })
    ).body.id;
    await waitFor(
      'acme deliveries',
      () => rx.withId(own.event).length === 1 && rx.withId(own.event2).length === 1,
    );
    await settle(relay);
    own.delivery = (await acme.get(`/v1/events/${own.event}`)).body.deliveries[0].id;
    own.portalSession = (await acme.post('/v1/portal-sessions', {})).body.id;
    const catalogued = await acme.post('/v1/event-types', { name: 'acme.only', description: 'acme catalog' });
    expect(catalogued.status).toBe(201);
  });
  afterAll(async () => {
    await relay.close();
    await rx.close();
  });

  it('shows a new key once, stores only its hash, and lists keys without them', async () => {
    const made = await newKey('initech');
    expect(made.key).toMatch(/^rk_[A-Za-z0-9_-]{43}$/);
    expect(made.id).toMatch(/^key_[0-9a-f]{24}$/);
    const listed = await admin.get('/v1/admin/api-keys?tenant=initech');
    expect(listed.body.apiKeys).toEqual([
      { id: made.id, tenant: 'initech', description: 'initech production', createdAt: expect.any(String) },
    ]);
    expect(JSON.stringify((await admin.get('/v1/admin/api-keys')).body)).not.toContain(made.key);
  });

  it('refuses a revoked key at once (a key never used is not cached anywhere)', async () => {
    const made = await newKey('temp');
    expect((await admin.del(`/v1/admin/api-keys/${made.id}`)).status).toBe(204);
    const res = await client(relay, made.key).get('/v1/subscriptions');
    expect(res.status).toBe(401);
    expect((await admin.del(`/v1/admin/api-keys/${made.id}`)).status).toBe(404);
  });

  it('validates tenant names', async () => {
    for (const tenant of ['', 'Acme', 'a b', '-x', 'x'.repeat(64)]) {
      const res = await admin.post('/v1/admin/api-keys', { tenant });
      expect(res.status, tenant).toBe(400);
      expect(res.body.error.details[0].path).toBe('tenant');
    }
  });

  it('keeps operator routes to the admin key (403 for tenant keys) and tenant routes to tenant keys', async () => {
    for (const route of ROUTES.filter((r) => r.admin)) {
      const path = route.path.replace('{id}', 'x');
      const res = await acme.call(route.method, path, route.method === 'GET' ? undefined : {});
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(res.body.error.code).toBe('admin_key_required');
    }
    for (const [method, path] of [
      ['GET', '/v1/subscriptions'],
      ['POST', '/v1/events'],
      ['GET', '/v1/dlq'],
    ] as const) {
      const res = await admin.call(method, path, method === 'GET' ? undefined : { type: 'a.b', data: {} });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('tenant_key_required');
    }
  });

  /**
   * Every tenant route, called by globex on acme's resources: 404 (never 403, which would
   * confirm the id exists), or for listings, nothing of acme's. A route added without a line
   * here fails the completeness check below.
   */
  const probes: Record<string, (g: typeof globex) => Promise<void>> = {
    'POST /v1/events': async (g) => {
      // The same producer id is another tenant's business: accepted, not a duplicate.
      const res = await g.post('/v1/events', { id: own.event2, type: 'order.created', data: {} });
      expect(res.status).toBe(202);
    },
    'POST /v1/events/batch': async (g) => {
      const res = await g.post('/v1/events/batch', {
        events: [{ id: own.event3, type: 'order.x', data: {} }],
      });
      expect(res.status).toBe(202);
      expect(res.body.duplicates).toBe(0);
    },
    'POST /v1/portal-sessions': async (g) => {
      // A tenant key makes links for its own tenant only.
      expect((await g.post('/v1/portal-sessions', { tenant: 'acme' })).status).toBe(403);
      const res = await g.post('/v1/portal-sessions', {});
      expect(res.body.tenant).toBe('globex');
    },
    'DELETE /v1/portal-sessions/{id}': async (g) => {
      expect404(await g.del(`/v1/portal-sessions/${own.portalSession}`));
    },
    'GET /v1/subscriptions/{id}/stats': async (g) => {
      expect404(await g.get(`/v1/subscriptions/${own.sub}/stats`));
    },
    'GET /v1/events': async (g) => {
      const res = await g.get('/v1/events?limit=100');
      expect(res.status).toBe(200);
      const ids = res.body.events.map((e: { id: string }) => e.id);
      expect(ids).not.toContain(own.event);
      // globex's own event with acme's producer id is globex's.
      for (const e of res.body.events) expect(e).not.toHaveProperty('tenant');
    },
    'GET /v1/events/{id}': async (g) => {
      expect404(await g.get(`/v1/events/${own.event}`));
      // globex has its own event with this id (above): it sees its own, never acme's deliveries.
      const res = await g.get(`/v1/events/${own.event2}`);
      for (const d of res.body.deliveries ?? []) expect(d.subscriptionId).not.toBe(own.sub);
    },
    'GET /v1/subscriptions': async (g) => {
      const res = await g.get('/v1/subscriptions');
      expect(res.body.subscriptions.map((s: { id: string }) => s.id)).not.toContain(own.sub);
    },
    'POST /v1/subscriptions': async (g) => {
      const res = await g.post('/v1/subscriptions', {
        url: 'https://globex.example/hook',
        eventTypes: ['*'],
      });
      expect(res.status).toBe(201);
      expect((await acme.get(`/v1/subscriptions/${res.body.id}`)).status).toBe(404);
    },
    'GET /v1/subscriptions/{id}': async (g) => expect404(await g.get(`/v1/subscriptions/${own.sub}`)),
    'PATCH /v1/subscriptions/{id}': async (g) =>
      expect404(await g.patch(`/v1/subscriptions/${own.sub}`, { enabled: false })),
    'DELETE /v1/subscriptions/{id}': async (g) => expect404(await g.del(`/v1/subscriptions/${own.sub}`)),
    'GET /v1/subscriptions/{id}/secret': async (g) =>
      expect404(await g.get(`/v1/subscriptions/${own.sub}/secret`)),
    'POST /v1/subscriptions/{id}/test': async (g) =>
      expect404(await g.post(`/v1/subscriptions/${own.sub}/test`)),
    'POST /v1/subscriptions/{id}/rotate-secret': async (g) =>
      expect404(await g.post(`/v1/subscriptions/${own.sub}/rotate-secret`)),
    'GET /v1/subscriptions/{id}/deliveries': async (g) =>
      expect404(await g.get(`/v1/subscriptions/${own.sub}/deliveries`)),
    'POST /v1/subscriptions/{id}/recover': async (g) =>
      expect404(await g.post(`/v1/subscriptions/${own.sub}/recover`, { from: '2020-01-01T00:00:00Z' })),
    'GET /v1/deliveries/{id}': async (g) => expect404(await g.get(`/v1/deliveries/${own.delivery}`)),
    'POST /v1/deliveries/{id}/retry': async (g) =>
      expect404(await g.post(`/v1/deliveries/${own.delivery}/retry`)),
    'GET /v1/dlq': async (g) => {
      const res = await g.get('/v1/dlq');
      for (const d of res.body.deliveries) expect(d.subscriptionId).not.toBe(own.sub);
    },
    'GET /v1/event-types': async (g) => {
      const res = await g.get('/v1/event-types');
      expect(res.body.eventTypes.map((t: { name: string }) => t.name)).not.toContain('acme.only');
    },
    'GET /v1/event-types/{name}': async (g) => expect404(await g.get('/v1/event-types/acme.only')),
    'PATCH /v1/event-types/{name}': async (g) =>
      expect404(await g.patch('/v1/event-types/acme.only', { deprecated: true })),
    'DELETE /v1/event-types/{name}': async (g) => expect404(await g.del('/v1/event-types/acme.only')),
    // Last of the catalog's probes: globex's own type of that name, in its own catalog.
    'POST /v1/event-types': async (g) => {
      expect((await g.post('/v1/event-types', { name: 'acme.only' })).status).toBe(201);
      expect((await acme.get('/v1/event-types/acme.only')).body).toMatchObject({
        description: 'acme catalog',
        deprecated: false,
      });
    },
  };
  const expect404 = (res: { status: number; body: { error: { code: string } } }) => {
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  };

  it('has an isolation probe for every tenant route', () => {
    const tenantRoutes = ROUTES.filter((r) => !r.admin && !r.public).map((r) => `${r.method} ${r.path}`);
    expect(Object.keys(probes).sort()).toEqual(tenantRoutes.sort());
  });

  it("never lets one tenant see or touch another's subscriptions, events, deliveries or DLQ", async () => {
    for (const [route, probe] of Object.entries(probes)) {
      await probe(globex).catch((err: Error) => {
        throw new Error(`${route}: ${err.message}`);
      });
    }
    await settle(relay);
    // acme's world is untouched: its subscription is enabled, its secret unrotated, its
    // delivery delivered once.
    const sub = (await acme.get(`/v1/subscriptions/${own.sub}`)).body;
    expect(sub.enabled).toBe(true);
    expect(sub.previousSecretExpiresAt).toBeUndefined();
    expect(rx.withId(own.event)).toHaveLength(1);
  });

  it('creates and lists keys from the CLI with the admin key', async () => {
    const out: string[] = [];
    const io = {
      out: (t: string) => out.push(t),
      err: (t: string) => out.push(t),
      isTTY: false,
      env: { RELAY_URL: relay.url, RELAY_API_KEY: relay.adminKey },
    };
    expect(await run(['keys', 'create', '--tenant', 'umbrella'], io)).toBe(EXIT.ok);
    expect(out.join('')).toMatch(
      /^rk_\S+\n\(key key_[0-9a-f]{24} of tenant umbrella; it is not shown again\)\n$/,
    );
    out.length = 0;
    expect(await run(['keys', 'list', '--tenant', 'umbrella'], io)).toBe(EXIT.ok);
    expect(out.join('')).toMatch(/^ID\s+TENANT\s+DESCRIPTION\s+CREATEDAT\nkey_[0-9a-f]{24}\s+umbrella/);
  });
});
