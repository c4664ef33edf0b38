import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore } from '../../functions/adapters/dynamodb/store.ts';
import type { Delivery } from '../../functions/core/delivery/model.ts';
import { deliveryId } from '../../functions/core/ids.ts';
import { scopedKey } from '../../functions/core/ports.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../../functions/local/dynalite.ts';

describe('DynamoStore against dynalite', () => {
  let store: DynamoStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const db = await startDynalite();
    const client = localDynamoClient(db.endpoint);
    await ensureTable(client, 'relay');
    store = new DynamoStore(
      DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      'relay',
      30,
    );
    close = async () => {
      client.destroy();
      await db.close();
    };
  });
  afterAll(() => close());

  const at = '2026-11-23T10:00:00.000Z';
  const event = (tenant: string, data: Record<string, unknown>) => ({
    id: 'order-1',
    tenant,
    type: 'order.created',
    timestamp: at,
    receivedAt: at,
    data,
  });
  const sub = (tenant: string) => ({
    id: 'sub_same',
    tenant,
    url: `https://${tenant}.example/hook`,
    eventTypes: ['*'],
    enabled: true,
    secret: `whsec_${Buffer.alloc(24, tenant.length).toString('base64')}`,
    createdAt: at,
    updatedAt: at,
  });

  it("keeps two tenants' events and subscriptions apart when they share ids", async () => {
    await store.putEvents([
      { event: event('acme', { secret: 'ACME-ONLY' }), deliveryIds: [] },
      { event: event('globex', { mine: 'GLOBEX' }), deliveryIds: [] },
    ]);
    await store.putSubscription(sub('acme'));
    await store.putSubscription(sub('globex'));
    const loaded = await store.loadForTasks([
      // Delivery ids say when their event was received: where its item is.
      {
        deliveryId: deliveryId('acme', 'order-1', 'sub_same', at),
        tenant: 'acme',
        eventId: 'order-1',
        subscriptionId: 'sub_same',
      },
      {
        deliveryId: deliveryId('globex', 'order-1', 'sub_same', at),
        tenant: 'globex',
        eventId: 'order-1',
        subscriptionId: 'sub_same',
      },
    ]);
    expect(loaded.events.get(scopedKey('acme', 'order-1'))?.data).toEqual({ secret: 'ACME-ONLY' });
    expect(loaded.events.get(scopedKey('globex', 'order-1'))?.data).toEqual({ mine: 'GLOBEX' });
    expect(loaded.subscriptions.get(scopedKey('globex', 'sub_same'))?.url).toBe(
      'https://globex.example/hook',
    );
  });

  it('keeps an event payload byte for byte, however deep or odd', async () => {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const data = { deep, '': 'empty key', n: 1.5e300, u: 'ünïcødé ✓', list: [null, true, { a: [] }] };
    // A producer-chosen id is claimed with its receipt time at ingest: how GET finds the event.
    await store.claim('acme', 'odd-1', new Date(at), at);
    await store.putEvents([{ event: { ...event('acme', data), id: 'odd-1' }, deliveryIds: [] }]);
    expect((await store.getEvent('acme', 'odd-1'))?.data).toEqual(data);
  });

  it('appends a manual attempt without overwriting a status saved meanwhile', async () => {
    const d: Delivery = {
      id: 'dlv_race',
      tenant: 'acme',
      eventId: 'order-1',
      eventType: 'order.created',
      subscriptionId: 'sub_same',
      url: 'https://acme.example/hook',
      status: 'succeeded',
      attempts: [{ attempt: 1, at, status: 200, durationMs: 3, trigger: 'scheduled' }],
      createdAt: at,
      updatedAt: at,
    };
    await store.putDeliveries([d]);
    await store.recordManualAttempt('dlv_race', {
      attempt: { attempt: 2, at, status: 500, durationMs: 4, error: 'HTTP 500', trigger: 'manual' },
      succeeded: false,
      lastError: 'HTTP 500',
      at,
    });
    const after = await store.getDelivery('dlv_race');
    expect(after?.status).toBe('succeeded');
    expect(after?.attempts.map((a) => a.status)).toEqual([200, 500]);
  });

  it('takes a dead delivery off the DLQ listing when a manual attempt succeeds', async () => {
    const dead: Delivery = {
      id: 'dlv_dead',
      tenant: 'acme',
      eventId: 'order-1',
      eventType: 'order.created',
      subscriptionId: 'sub_same',
      url: 'https://acme.example/hook',
      status: 'dead',
      attempts: [],
      lastError: 'HTTP 500',
      deadMessageId: 'm1',
      createdAt: at,
      updatedAt: at,
    };
    await store.putDeliveries([dead]);
    expect(await store.countDeadDeliveries('acme')).toBe(1);
    await store.recordManualAttempt('dlv_dead', {
      attempt: { attempt: 1, at, status: 200, durationMs: 2, trigger: 'manual' },
      succeeded: true,
      at,
    });
    expect(await store.countDeadDeliveries('acme')).toBe(0);
    expect(await store.getDelivery('dlv_dead')).toMatchObject({ status: 'succeeded' });
  });

  it('refuses a cursor that does not belong to the query with a 400, not a store error', async () => {
    const forged = Buffer.from('{"pk":1e400,"sk":"DLV"}').toString('base64url');
    for (const cursor of [
      'garbage',
      forged,
      Buffer.from('{"pk":"x"}').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
    ]) {
      await expect(store.listDeadDeliveries('acme', { limit: 5, cursor })).rejects.toMatchObject({
        status: 400,
      });
    }
  });

  describe('event ledger (duplicate check of producer-chosen ids)', () => {
    const t0 = new Date('2026-11-23T10:00:00.000Z');
    const later = (ms: number) => new Date(t0.getTime() + ms);

    it('claims a new id once; the id is in flight until accepted, then a duplicate', async () => {
      expect(await store.claim('acme', 'evt-a', t0)).toBe('claimed');
      expect(await store.claim('acme', 'evt-a', later(1000))).toBe('in_flight');
      await store.markAccepted('acme', 'evt-a');
      expect(await store.claim('acme', 'evt-a', later(2000))).toBe('accepted');
    });

    it('keeps tenants apart: the same id is new for another tenant', async () => {
      expect(await store.claim('acme', 'evt-b', t0)).toBe('claimed');
      expect(await store.claim('globex', 'evt-b', t0)).toBe('claimed');
    });

    it('frees a released claim for the retry', async () => {
      expect(await store.claim('acme', 'evt-c', t0)).toBe('claimed');
      await store.release('acme', 'evt-c');
      expect(await store.claim('acme', 'evt-c', later(10))).toBe('claimed');
    });

    it('keeps the receipt time a released or lapsed claim recorded, so a retry is the same event', async () => {
      const t1 = '2026-11-23T10:00:00.000Z';
      const t2 = '2026-11-23T10:00:05.000Z';
      expect(await store.claim('acme', 'evt-r', t0, t1)).toBe('claimed');
      // The publish timed out after EventBridge took the entry: released, its time kept.
      await store.release('acme', 'evt-r');
      expect(await store.claim('acme', 'evt-r', later(5000), t2)).toEqual({ claimed: t1 });
      // That request crashed; after its lease the next one takes over, the time still kept.
      expect(await store.claim('acme', 'evt-r', later(10_000), t2)).toBe('in_flight');
      expect(await store.claim('acme', 'evt-r', later(40_000), t2)).toEqual({ claimed: t1 });
      // A claim that gives its own time back is plainly claimed.
      expect(await store.claim('acme', 'evt-s', t0, t1)).toBe('claimed');
      await store.release('acme', 'evt-s');
      expect(await store.claim('acme', 'evt-s', later(10), t1)).toBe('claimed');
    });

    it('never releases an accepted id', async () => {
      expect(await store.claim('acme', 'evt-d', t0)).toBe('claimed');
      await store.markAccepted('acme', 'evt-d');
      await store.release('acme', 'evt-d');
      expect(await store.claim('acme', 'evt-d', later(10))).toBe('accepted');
    });

    it('lets a claim whose lease ran out (a crashed request) be taken over', async () => {
      expect(await store.claim('acme', 'evt-e', t0)).toBe('claimed');
      expect(await store.claim('acme', 'evt-e', later(29_000))).toBe('in_flight');
      expect(await store.claim('acme', 'evt-e', later(31_000))).toBe('claimed');
    });

    it('remembers an id as long as events are kept (30 days here), whether or not TTL has deleted it', async () => {
      expect(await store.claim('acme', 'evt-f', t0)).toBe('claimed');
      await store.markAccepted('acme', 'evt-f');
      expect(await store.claim('acme', 'evt-f', later(25 * 3600_000))).toBe('accepted');
      expect(await store.claim('acme', 'evt-f', later(29 * 86_400_000))).toBe('accepted');
      expect(await store.claim('acme', 'evt-f', later(30 * 86_400_000 + 1000))).toBe('claimed');
    });

    it('lets exactly one of many concurrent claims win', async () => {
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.claim('acme', 'evt-g', t0)));
      expect(outcomes.filter((o) => o === 'claimed')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'in_flight')).toHaveLength(19);
    });
  });

  describe('endpoint health', () => {
    const subOf = (id: string) => ({
      id,
      tenant: 'acme',
      url: 'https://acme.example/hook',
      eventTypes: ['*'],
      enabled: true,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      createdAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:00:00.000Z',
    });

    it('opens and clears the circuit and heals, each write over the health version it read', async () => {
      const v1 = subOf('sub_h1');
      await store.putSubscription(v1);
      const seen = (at: string, healthUpdatedAt?: string) => ({
        updatedAt: v1.updatedAt,
        ...(healthUpdatedAt ? { healthUpdatedAt } : {}),
        at,
      });
      const t1 = '2026-11-23T10:00:00.000Z';
      const t2 = '2026-11-23T11:00:00.000Z';
      expect(await store.recordHealth('acme', 'sub_h1', { failingSince: t1 }, seen(t1))).toBe(true);
      expect(
        await store.recordHealth(
          'acme',
          'sub_h1',
          { circuit: { openUntil: '2026-11-23T11:00:30.000Z', timeouts: 1 } },
          seen(t2, t1),
        ),
      ).toBe(true);
      expect(await store.getSubscription('acme', 'sub_h1')).toMatchObject({
        failingSince: t1,
        circuit: { openUntil: '2026-11-23T11:00:30.000Z', timeouts: 1 },
        healthUpdatedAt: t2,
      });
      // A write from an attempt that read the health before the last change is dropped.
      expect(await store.recordHealth('acme', 'sub_h1', { failingSince: t2 }, seen(t2, t1))).toBe(false);
      expect(
        await store.recordHealth('acme', 'sub_h1', { circuit: null }, seen('2026-11-23T11:01:00.000Z', t2)),
      ).toBe(true);
      expect((await store.getSubscription('acme', 'sub_h1'))?.circuit).toBeUndefined();
      expect(
        await store.recordHealth(
          'acme',
          'sub_h1',
          'healthy',
          seen('2026-11-23T11:02:00.000Z', '2026-11-23T11:01:00.000Z'),
        ),
      ).toBe(true);
      expect(await store.getSubscription('acme', 'sub_h1')).not.toHaveProperty('failingSince');
    });

    it('never puts stale health back over an edit, and an edit read before a health change gets a conflict', async () => {
      const v1 = subOf('sub_h4');
      await store.putSubscription({ ...v1, failingSince: '2026-11-20T00:00:00.000Z' });
      // The user re-enables (an edit: new updatedAt, health cleared) while an attempt that read
      // v1 is still running; its health write must not bring failingSince back.
      const edited = { ...v1, description: 'fresh start', updatedAt: '2026-11-23T10:05:00.000Z' };
      expect(await store.putSubscription(edited, { updatedAt: v1.updatedAt })).toBe(true);
      const stale = { updatedAt: v1.updatedAt, at: '2026-11-23T10:06:00.000Z' };
      expect(
        await store.recordHealth('acme', 'sub_h4', { failingSince: '2026-11-20T00:00:00.000Z' }, stale),
      ).toBe(false);
      expect(await store.getSubscription('acme', 'sub_h4')).not.toHaveProperty('failingSince');
      // The other way round: health changes, then an edit based on the older read is refused.
      const fresh = { updatedAt: edited.updatedAt, at: '2026-11-23T10:07:00.000Z' };
      expect(await store.recordHealth('acme', 'sub_h4', { failingSince: fresh.at }, fresh)).toBe(true);
      expect(
        await store.putSubscription({ ...edited, description: 'stale' }, { updatedAt: edited.updatedAt }),
      ).toBe(false);
      expect(
        await store.putSubscription(
          { ...edited, description: 'based on the new health' },
          { updatedAt: edited.updatedAt, healthUpdatedAt: fresh.at },
        ),
      ).toBe(true);
    });

    it('disables only the version an attempt read, so an edit made meanwhile stands', async () => {
      const v1 = subOf('sub_h5');
      await store.putSubscription(v1);
      const edited = { ...v1, url: 'https://acme.example/new', updatedAt: '2026-11-23T10:05:00.000Z' };
      expect(await store.putSubscription(edited, { updatedAt: v1.updatedAt })).toBe(true);
      const at = '2026-11-23T10:06:00.000Z';
      expect(
        await store.disableSubscription('acme', 'sub_h5', '410 Gone', at, { updatedAt: v1.updatedAt }),
      ).toBe(false);
      expect((await store.getSubscription('acme', 'sub_h5'))?.enabled).toBe(true);
      expect(
        await store.disableSubscription('acme', 'sub_h5', '410 Gone', at, { updatedAt: edited.updatedAt }),
      ).toBe(true);
      expect(await store.getSubscription('acme', 'sub_h5')).toMatchObject({
        enabled: false,
        disabledReason: '410 Gone',
      });
    });

    it('writes an edit only over the version it read: never undoing a delete, a disable or another edit', async () => {
      const v1 = subOf('sub_h3');
      await store.putSubscription(v1);
      const edit = { ...v1, description: 'edited', updatedAt: '2026-11-23T10:05:00.000Z' };
      expect(await store.putSubscription(edit, { updatedAt: v1.updatedAt })).toBe(true);
      // A second edit from the same stale read loses, instead of overwriting the first.
      expect(await store.putSubscription({ ...v1, description: 'stale' }, { updatedAt: v1.updatedAt })).toBe(
        false,
      );
      expect((await store.getSubscription('acme', 'sub_h3'))?.description).toBe('edited');
      // A disable bumps updatedAt, so an edit read before it cannot re-enable.
      await store.disableSubscription(
        'acme',
        'sub_h3',
        'the receiver answered 410 Gone',
        '2026-11-23T10:06:00.000Z',
      );
      expect(await store.putSubscription({ ...edit, enabled: true }, { updatedAt: edit.updatedAt })).toBe(
        false,
      );
      // A delete is not undone by an edit read before it.
      await store.deleteSubscription('acme', 'sub_h3');
      expect(await store.putSubscription(edit, { updatedAt: '2026-11-23T10:06:00.000Z' })).toBe(false);
      expect(await store.getSubscription('acme', 'sub_h3')).toBeUndefined();
    });

    it('gives the half-open probe to exactly one of many concurrent claims', async () => {
      const circuit = { openUntil: '2026-11-23T11:00:30.000Z', timeouts: 2 };
      await store.putSubscription({ ...subOf('sub_h2'), circuit });
      const now = '2026-11-23T11:01:00.000Z';
      const claims = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.claimProbe('acme', 'sub_h2', circuit, '2026-11-23T11:01:20.000Z', now),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      // Once the probe's time is over, it can be claimed again.
      expect(
        await store.claimProbe(
          'acme',
          'sub_h2',
          circuit,
          '2026-11-23T11:02:00.000Z',
          '2026-11-23T11:01:21.000Z',
        ),
      ).toBe(true);
      // A circuit that changed meanwhile (reopened) is not the one seen: no claim.
      expect(
        await store.claimProbe(
          'acme',
          'sub_h2',
          { ...circuit, openUntil: 'other' },
          '2026-11-23T11:05:00.000Z',
          '2026-11-23T11:03:00.000Z',
        ),
      ).toBe(false);
    });
  });
});
