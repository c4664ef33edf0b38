import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { settle, startTestRelay } from '../support/relay.ts';

/**
 * What the portal and the console read, through the real local relay: a subscription's log by
 * status, type and time, its last 24 h, the DLQ's size and the list of replays.
 */

type Relay = Awaited<ReturnType<typeof startTestRelay>>;
let relay: Relay['relay'];
let api: Relay['api'];

beforeAll(async () => {
  ({ relay, api } = await startTestRelay([0.05]));
});
afterAll(() => relay.close());

describe('the delivery log and its figures', () => {
  it('lists a subscription’s deliveries of one status, one event type or a time window, page by page', async () => {
    // Orders succeed; shipments fail (two attempts, then the DLQ).
    const receiver = await startReceiver((_n, r) => (r.body.includes('"shipment.') ? 500 : 200));
    const sub = await api.subscribe(receiver.url, ['order.*', 'shipment.*']);
    for (let i = 0; i < 5; i++) await api.send('order.created', { i });
    for (let i = 0; i < 3; i++) await api.send('shipment.delivered', { i });
    // Each shipment's retry is a delayed copy: wait until all three are dead, then for quiet.
    await waitFor('the shipments to be dead', async () => {
      const res = await api.get(`/v1/subscriptions/${sub.id}/deliveries?status=dead&limit=10`);
      return res.body.deliveries.length === 3;
    });
    await settle(relay);
    const all = async (query: string, limit = 2) => {
      const seen: Array<{ status: string; eventType: string }> = [];
      let cursor: string | null = null;
      do {
        const q: string = `${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await api.get(`/v1/subscriptions/${sub.id}/deliveries?${q}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        seen.push(...res.body.deliveries);
        cursor = res.body.next;
      } while (cursor);
      return seen;
    };
    expect((await all('status=dead')).map((d) => d.eventType)).toEqual(Array(3).fill('shipment.delivered'));
    expect((await all('status=succeeded', 3)).length).toBe(5);
    expect((await all('eventType=order.created')).every((d) => d.status === 'succeeded')).toBe(true);
    expect(await all('eventType=order.created&status=dead')).toEqual([]);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(await all(`from=${encodeURIComponent(future)}`)).toEqual([]);
    const bad = await api.get(`/v1/subscriptions/${sub.id}/deliveries?status=lost`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('status');
    const backwards = await api.get(
      `/v1/subscriptions/${sub.id}/deliveries?from=2026-01-01T00:00:00Z&to=2020-01-01T00:00:00Z&status=dead`,
    );
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.details[0].path).toBe('to');

    const stats = await api.get(`/v1/subscriptions/${sub.id}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      deliveries: 8,
      succeeded: 5,
      dead: 3,
      failed: 0,
      pending: 0,
      complete: true,
    });
    expect(stats.body.successRate).toBeCloseTo(5 / 8);
    expect(Date.parse(stats.body.to) - Date.parse(stats.body.from)).toBe(24 * 3600_000);
    const quiet = await api.subscribe('http://127.0.0.1:9/quiet', ['nothing.ever']);
    expect((await api.get(`/v1/subscriptions/${quiet.id}/stats`)).body).toMatchObject({
      deliveries: 0,
      successRate: null,
    });

    // The operator's figure: the three dead tasks in the delivery DLQ.
    expect((await api.admin.get('/v1/admin/dlq')).body).toEqual({ count: 3 });
    expect((await api.get('/v1/admin/dlq')).status).toBe(403);
    await receiver.close();
  });

  it('lists replays newest first with their progress, for the operator only', async () => {
    expect((await api.admin.get('/v1/replays')).body).toEqual({ replays: expect.any(Array) });
    const from = new Date(Date.now() - 3600_000).toISOString();
    const first = await api.admin.post('/v1/replays', { from });
    const second = await api.admin.post('/v1/replays', { from });
    await waitFor('the replays to complete', async () => {
      const { replays } = (await api.admin.get('/v1/replays')).body;
      return replays.every((r: { status: string }) => r.status === 'COMPLETED') && replays.length >= 2;
    });
    const { replays } = (await api.admin.get('/v1/replays')).body;
    expect(replays.slice(0, 2).map((r: { id: string }) => r.id)).toEqual([second.body.id, first.body.id]);
    expect((await api.get('/v1/replays')).status).toBe(403);
  });
});
