import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EndpointLimiter } from '../../core/ports.ts';
import { limitKey } from './table.ts';

/**
 * Per-endpoint limits that every delivery invocation shares, as two small items per
 * subscription in the relay's table (see table.ts):
 * - `LIMIT#{tenant}#{subscriptionId}` / `SLOTS`: in-flight slots: the count held `n` and a map of
 *   leases `{holder: {n, until}}`. Taking slots is one atomic UpdateItem, `n + k` only while it
 *   stays within the limit, so two invocations never both take the last slot and racers do not
 *   conflict; giving them back subtracts the holder's lease (a read and a write). Only when the
 *   endpoint is full does a taker read the item: leases past their end (a crashed invocation)
 *   are then given back, each exactly once (conditional on the lease still being there).
 * - `LIMIT#{tenant}#{subscriptionId}` / `RATE`: the rate limit's virtual schedule (GCRA): `tat`,
 *   the next free send time (epoch ms). Booking n sends takes the n slots from max(tat, now) on,
 *   1/rate apart, and moves `tat` past them, again conditional on the value read.
 * Slots cost two writes and a read per (invocation, endpoint); a booking a read and a write.
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
    let ask = Math.min(wanted, limit);
    for (let attempt = 0; attempt < this.maxTries && ask > 0; attempt++) {
      // The common case is one write: add to the count if it stays within the limit.
      if (await this.take(key, holder, ask, limit, until)) return ask;
      // Full, or the item is new: read it, drop leases of crashed holders, and ask for what is free.
      const res = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      if (!res.Item) {
        await this.create(key);
        continue;
      }
      const leases = (res.Item.leases ?? {}) as Record<string, Lease>;
      const expired = Object.entries(leases).filter(([, l]) => l.until <= now.getTime());
      if (expired.length > 0) {
        await this.dropExpired(key, expired);
        continue;
      }
      const free = limit - Number(res.Item.n ?? 0);
      if (free <= 0) return 0;
      ask = Math.min(wanted, free);
    }
    return 0;
  }

  async releaseSlots(tenant: string, subscriptionId: string, holder: string): Promise<void> {
    const key = limitKey(tenant, subscriptionId, 'SLOTS');
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    const lease = (res.Item?.leases as Record<string, Lease> | undefined)?.[holder];
    if (!lease) return;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET n = n - :n REMOVE leases.#holder',
          // Only the lease read: another release, or the expiry sweep, may have taken it already.
          ConditionExpression: 'leases.#holder.#until = :until',
          ExpressionAttributeNames: { '#holder': holder, '#until': 'until' },
          ExpressionAttributeValues: { ':n': lease.n, ':until': lease.until },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  /** One atomic write: `n` slots more for `holder`, if the count stays within `limit`. */
  private async take(
    key: { pk: string; sk: string },
    holder: string,
    n: number,
    limit: number,
    until: Date,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET n = n + :n, leases.#holder = :lease',
          ConditionExpression: 'attribute_exists(n) AND n <= :most AND attribute_not_exists(leases.#holder)',
          ExpressionAttributeNames: { '#holder': holder },
          ExpressionAttributeValues: { ':n': n, ':most': limit - n, ':lease': { n, until: until.getTime() } },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  private async create(key: { pk: string; sk: string }): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, n: 0, leases: {} },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  /** Gives back the slots of holders whose lease ran out (they crashed), each exactly once. */
  private async dropExpired(key: { pk: string; sk: string }, expired: Array<[string, Lease]>): Promise<void> {
    const names: Record<string, string> = { '#until': 'until' };
    const values: Record<string, unknown> = { ':n': expired.reduce((sum, [, l]) => sum + l.n, 0) };
    const conditions: string[] = [];
    expired.forEach(([holder, lease], i) => {
      names[`#h${i}`] = holder;
      values[`:u${i}`] = lease.until;
      conditions.push(`leases.#h${i}.#until = :u${i}`);
    });
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET n = n - :n REMOVE ${expired.map((_, i) => `leases.#h${i}`).join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      // Someone else swept or released them first.
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

/** A short random pause before re-reading after losing a race, growing with each loss. */
const jitter = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
