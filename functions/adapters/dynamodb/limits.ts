import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EndpointLimiter } from '../../core/ports.ts';

/**
 * Per-endpoint limits that every delivery invocation shares, as two small items per
 * subscription in the relay's table (see table.ts):
 * - `LIMIT#{tenant}#{subscriptionId}` / `SLOTS`: in-flight slots, a map of leases
 *   `{holder: {n, until}}` and a version `ver`. Taking slots reads the item and writes the whole
 *   map back on the version it read (optimistic concurrency, so two invocations never both take
 *   the last slot); expired leases (a crashed invocation) are dropped on the way. Giving slots
 *   back removes the holder's lease and bumps the version, so a writer that read before cannot
 *   put the lease back.
 * - `LIMIT#{tenant}#{subscriptionId}` / `RATE`: the rate limit's virtual schedule (GCRA): `tat`,
 *   the next free send time (epoch ms). Booking n sends takes the n slots from max(tat, now) on,
 *   1/rate apart, and moves `tat` past them, again conditional on the value read.
 * Each costs one consistent read and one write per (invocation, endpoint), not per attempt.
 */
export class DynamoEndpointLimiter implements EndpointLimiter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Attempts at a conditional write before giving up for this batch (contention). */
    private readonly maxTries = 20,
  ) {}

  async acquireSlots(
    tenant: string,
    subscriptionId: string,
    holder: string,
    wanted: number,
    limit: number,
    now: Date,
    until: Date,
  ): Promise<number> {
    if (wanted <= 0) return 0;
    const key = limitKey(tenant, subscriptionId, 'SLOTS');
    for (let attempt = 0; attempt < this.maxTries; attempt++) {
      const res = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      const seen = res.Item?.ver as number | undefined;
      const leases: Record<string, Lease> = {};
      let active = 0;
      for (const [h, lease] of Object.entries((res.Item?.leases ?? {}) as Record<string, Lease>)) {
        if (h === holder || lease.until <= now.getTime()) continue;
        leases[h] = lease;
        active += lease.n;
      }
      const granted = Math.min(wanted, limit - active);
      if (granted <= 0) return 0;
      leases[holder] = { n: granted, until: until.getTime() };
      if (await this.writeVersioned(key, seen, { leases })) return granted;
      await jitter(attempt);
    }
    return 0;
  }

  async releaseSlots(tenant: string, subscriptionId: string, holder: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: limitKey(tenant, subscriptionId, 'SLOTS'),
          UpdateExpression: 'REMOVE leases.#holder SET ver = ver + :one',
          ConditionExpression: 'attribute_exists(leases)',
          ExpressionAttributeNames: { '#holder': holder },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    } catch (err) {
      // Nothing held: nothing to give back.
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async bookSendTimes(
    tenant: string,
    subscriptionId: string,
    count: number,
    ratePerSecond: number,
    now: Date,
  ): Promise<number[]> {
    if (count <= 0) return [];
    const key = limitKey(tenant, subscriptionId, 'RATE');
    const interval = 1000 / ratePerSecond;
    for (let attempt = 0; attempt < this.maxTries; attempt++) {
      const res = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      const seen = res.Item?.ver as number | undefined;
      const start = Math.max(Number(res.Item?.tat ?? 0), now.getTime());
      const times = Array.from({ length: count }, (_, i) => start + i * interval);
      // The item goes stale after an idle day (TTL): a new booking starts from now anyway.
      const ttl = Math.floor((start + count * interval) / 1000) + 86_400;
      if (await this.writeVersioned(key, seen, { tat: start + count * interval, ttl })) return times;
      await jitter(attempt);
    }
    // Contention beyond reason: book nothing; the caller's tasks wait a little and book again.
    return [];
  }

  /** Writes the item's attributes over the version read (none: only if absent); false on a race. */
  private async writeVersioned(
    key: { pk: string; sk: string },
    seen: number | undefined,
    attrs: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, ...attrs, ver: (seen ?? 0) + 1 },
          ConditionExpression: seen === undefined ? 'attribute_not_exists(pk)' : 'ver = :seen',
          ...(seen === undefined ? {} : { ExpressionAttributeValues: { ':seen': seen } }),
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}

interface Lease {
  n: number;
  until: number;
}

const limitKey = (tenant: string, subscriptionId: string, kind: 'SLOTS' | 'RATE') => ({
  pk: `LIMIT#${tenant}#${subscriptionId}`,
  sk: kind,
});

/** A short random pause before re-reading after losing a race, growing with each loss. */
const jitter = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
