import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, client, startTestRelay } from '../support/relay.ts';

/**
 * Portal sessions through the real local relay: a link with a short-lived, single-tenant token
 * that works on the portal's routes only, for its own tenant, until it expires or is revoked.
 */

let now = Date.parse('2026-12-03T10:00:00.000Z');
const clock = { now: () => new Date(now) };
type Relay = Awaited<ReturnType<typeof startTestRelay>>;
let relay: Relay['relay'];
let api: Relay['api'];
let globex: ReturnType<typeof client>;

const tokenOf = (url: string) => new URL(url).hash.replace(/^#token=/, '');

beforeAll(async () => {
  ({ relay, api } = await startTestRelay([0.05], { clock }));
  const key = await api.admin.post('/v1/admin/api-keys', { tenant: 'globex' });
  globex = client(relay, key.body.key);
});
afterAll(() => relay.close());

describe('portal sessions', () => {
  it('gives a tenant key a portal link whose token manages that tenant’s endpoints only', async () => {
    const mine = await api.subscribe('http://127.0.0.1:9/acme', ['order.*']);
    const theirs = await globex.subscribe('http://127.0.0.1:9/globex', ['order.*']);
    const res = await api.post('/v1/portal-sessions', {});
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ tenant: 'default', id: expect.stringMatching(/^pss_[0-9a-f]{24}$/) });
    const url = new URL(res.body.url);
    expect(url.pathname).toBe('/portal');
    expect(url.hash).toMatch(/^#token=ps_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(res.body.expiresAt) - now).toBe(3600_000);

    const portal = client(relay, tokenOf(res.body.url));
    const listed = await portal.get('/v1/subscriptions');
    expect(listed.status).toBe(200);
    expect(listed.body.subscriptions.map((s: { id: string }) => s.id)).toContain(mine.id);
    expect(listed.body.subscriptions.map((s: { id: string }) => s.id)).not.toContain(theirs.id);
    // Another tenant's endpoint does not exist for it.
    expect((await portal.get(`/v1/subscriptions/${theirs.id}`)).status).toBe(404);
    expect((await portal.get(`/v1/subscriptions/${mine.id}/secret`)).body.secret).toBe(mine.secret);
    expect((await portal.post(`/v1/subscriptions/${mine.id}/test`)).status).toBe(202);
  });

  it('refuses a portal token on what only the provider may do: send events, edit the catalog, mint sessions, operator routes', async () => {
    const portal = client(relay, tokenOf((await api.post('/v1/portal-sessions', {})).body.url));
    for (const [method, path, body] of [
      ['POST', '/v1/events', { type: 'order.created', data: {} }],
      ['POST', '/v1/events/batch', { events: [{ type: 'order.created', data: {} }] }],
      ['POST', '/v1/event-types', { name: 'order.created' }],
      ['POST', '/v1/portal-sessions', {}],
      ['GET', '/v1/dlq', undefined],
      ['POST', '/v1/dlq/redrive', {}],
      ['GET', '/v1/admin/api-keys', undefined],
    ] as const) {
      const res = await portal.call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code, `${method} ${path}`).toMatch(/portal_session_forbidden|admin_key_required/);
    }
  });

  it('lets the admin key make a session for a named tenant, and a tenant key only for its own', async () => {
    const made = await api.admin.post('/v1/portal-sessions', { tenant: 'globex', expiresInSeconds: 600 });
    expect(made.status).toBe(201);
    expect(made.body.tenant).toBe('globex');
    const portal = client(relay, tokenOf(made.body.url));
    const subs = (await portal.get('/v1/subscriptions')).body.subscriptions;
    expect(subs.map((s: { url: string }) => s.url)).toEqual(['http://127.0.0.1:9/globex']);
    const unnamed = await api.admin.post('/v1/portal-sessions', {});
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.error.details[0].path).toBe('tenant');
    const foreign = await api.post('/v1/portal-sessions', { tenant: 'globex' });
    expect(foreign.status).toBe(403);
    for (const expiresInSeconds of [59, 86_401, 1.5]) {
      const bad = await api.post('/v1/portal-sessions', { expiresInSeconds });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].path).toBe('expiresInSeconds');
    }
  });

  it('stops a token at its expiry, and within seconds of its revocation; only its tenant or the admin revokes it', async () => {
    const short = await api.post('/v1/portal-sessions', { expiresInSeconds: 60 });
    const expiring = client(relay, tokenOf(short.body.url));
    expect((await expiring.get('/v1/subscriptions')).status).toBe(200);
    now += 61_000;
    expect((await expiring.get('/v1/subscriptions')).status).toBe(401);

    const long = await api.post('/v1/portal-sessions', {});
    const revoked = client(relay, tokenOf(long.body.url));
    expect((await revoked.get('/v1/subscriptions')).status).toBe(200);
    // Another tenant cannot revoke it (nor learn that it exists).
    expect((await globex.del(`/v1/portal-sessions/${long.body.id}`)).status).toBe(404);
    expect((await api.del(`/v1/portal-sessions/${long.body.id}`)).status).toBe(204);
    expect((await api.del(`/v1/portal-sessions/${long.body.id}`)).status).toBe(404);
    now += 11_000; // past the authenticators' 10 s cache
    expect((await revoked.get('/v1/subscriptions')).status).toBe(401);

    const byAdmin = await api.post('/v1/portal-sessions', {});
    expect((await client(relay, ADMIN_KEY).del(`/v1/portal-sessions/${byAdmin.body.id}`)).status).toBe(204);
    // A made-up token is nobody.
    expect((await client(relay, `ps_${'x'.repeat(43)}`).get('/v1/subscriptions')).status).toBe(401);
  });
});
