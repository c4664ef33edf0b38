import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEndpointLimiter } from '../../functions/adapters/dynamodb/limits.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../../functions/local/dynalite.ts';

describe('DynamoEndpointLimiter against dynalite', () => {
  let limiter: DynamoEndpointLimiter;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const db = await startDynalite();
    const client = localDynamoClient(db.endpoint);
    await ensureTable(client, 'relay');
    limiter = new DynamoEndpointLimiter(
      DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      'relay',
      // Many racers on one item: enough tries that the losers still get their share.
      50,
    );
    close = async () => {
      client.destroy();
      await db.close();
    };
  });
  afterAll(() => close());

  const t0 = new Date('2026-11-23T10:00:00.000Z');
  const later = (ms: number) => new Date(t0.getTime() + ms);

  describe('in-flight slots', () => {
    it('never grants more than the limit across concurrent holders', async () => {
      const grants = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          limiter.acquireSlots('acme', 'sub_busy', `inv-${i}`, 10, 50, t0, later(30_000)),
        ),
      );
      expect(grants.reduce((a, b) => a + b, 0)).toBe(50);
      expect(grants.every((g) => g >= 0 && g <= 10)).toBe(true);
    });

    it('frees a holder’s slots when it gives them back', async () => {
      expect(await limiter.acquireSlots('acme', 'sub_r', 'a', 3, 3, t0, later(30_000))).toBe(3);
      expect(await limiter.acquireSlots('acme', 'sub_r', 'b', 2, 3, t0, later(30_000))).toBe(0);
      await limiter.releaseSlots('acme', 'sub_r', 'a');
      expect(await limiter.acquireSlots('acme', 'sub_r', 'b', 2, 3, t0, later(30_000))).toBe(2);
    });

    it('lets the slots of a crashed holder go once its lease has ended', async () => {
      expect(await limiter.acquireSlots('acme', 'sub_x', 'crashed', 4, 4, t0, later(30_000))).toBe(4);
      expect(await limiter.acquireSlots('acme', 'sub_x', 'next', 4, 4, later(10_000), later(40_000))).toBe(0);
      expect(await limiter.acquireSlots('acme', 'sub_x', 'next', 4, 4, later(30_001), later(60_000))).toBe(4);
    });

    it('keeps endpoints and tenants apart', async () => {
      expect(await limiter.acquireSlots('acme', 'sub_a', 'h', 2, 2, t0, later(30_000))).toBe(2);
      expect(await limiter.acquireSlots('acme', 'sub_b', 'h', 2, 2, t0, later(30_000))).toBe(2);
      expect(await limiter.acquireSlots('globex', 'sub_a', 'h', 2, 2, t0, later(30_000))).toBe(2);
    });

    it('gives back nothing when nothing is held', async () => {
      await expect(limiter.releaseSlots('acme', 'sub_never', 'h')).resolves.toBeUndefined();
    });
  });

  describe('rate limit bookings', () => {
    it('spaces the send times of one batch 1/rate apart, starting now', async () => {
      const times = await limiter.bookSendTimes('acme', 'sub_rate1', 5, 50, t0);
      expect(times.map((t) => t - t0.getTime())).toEqual([0, 20, 40, 60, 80]);
    });

    it('continues where the previous booking ended, and never books in the past', async () => {
      const first = await limiter.bookSendTimes('acme', 'sub_rate2', 10, 10, t0);
      expect(first.at(-1)).toBe(t0.getTime() + 900);
      const next = await limiter.bookSendTimes('acme', 'sub_rate2', 2, 10, later(100));
      expect(next).toEqual([t0.getTime() + 1000, t0.getTime() + 1100]);
      // Idle for a while: the schedule starts again from now, no burst of credit saved up.
      const idle = await limiter.bookSendTimes('acme', 'sub_rate2', 1, 10, later(60_000));
      expect(idle).toEqual([t0.getTime() + 60_000]);
    });

    it('never books two concurrent batches into the same send times', async () => {
      const batches = await Promise.all(
        Array.from({ length: 8 }, () => limiter.bookSendTimes('acme', 'sub_rate3', 10, 100, t0)),
      );
      const all = batches.flat().sort((a, b) => a - b);
      expect(new Set(all).size).toBe(80);
      // 80 sends at 100/s take exactly 0.8 s of schedule: no two closer than 10 ms.
      for (let i = 1; i < all.length; i++) expect((all[i] as number) - (all[i - 1] as number)).toBe(10);
    });
  });
});
