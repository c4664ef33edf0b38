import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Attempt, Delivery, DeliveryTask } from '../../core/delivery/model.ts';
import { badRequest } from '../../core/errors.ts';
import type { RelayEvent } from '../../core/event.ts';
import {
  type ApiKeyRecord,
  type CircuitState,
  type EventLedger,
  type Page,
  type Store,
  scopedKey,
} from '../../core/ports.ts';
import type { Subscription } from '../../core/subscription.ts';
import { WriteCoalescer } from '../coalescer.ts';

type Item = Record<string, unknown>;
const KEY_ATTRS = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk', 'ttl'];

const subKey = (tenant: string, id: string) => ({ pk: `SUB#${tenant}`, sk: id });
const eventKey = (tenant: string, id: string) => ({ pk: `EVT#${tenant}#${id}`, sk: 'EVT' });
const deliveryKey = (id: string) => ({ pk: `DLV#${id}`, sk: 'DLV' });
const ledgerKey = (tenant: string, id: string) => ({ pk: `IDEM#${tenant}#${id}`, sk: 'IDEM' });
const apiKeyKey = (id: string) => ({ pk: `APIKEY#${id}`, sk: 'APIKEY' });

/** How long a claim holds before another request may take it over (a crashed publisher). */
export const CLAIM_LEASE_MS = 30_000;

/**
 * The condition "the subscription is still the version that was read": its `updatedAt`, and its
 * `healthUpdatedAt` or none.
 */
function versionCondition(seen: { updatedAt: string; healthUpdatedAt?: string | undefined }) {
  return {
    ConditionExpression:
      seen.healthUpdatedAt === undefined
        ? 'updatedAt = :seenUpdatedAt AND attribute_not_exists(healthUpdatedAt)'
        : 'updatedAt = :seenUpdatedAt AND healthUpdatedAt = :seenHealthAt',
    ExpressionAttributeValues: {
      ':seenUpdatedAt': seen.updatedAt,
      ...(seen.healthUpdatedAt === undefined ? {} : { ':seenHealthAt': seen.healthUpdatedAt }),
    },
  };
}

function strip<T>(item: Item): T {
  const out: Item = { ...item };
  for (const k of KEY_ATTRS) delete out[k];
  return out as T;
}

/**
 * Subscriptions, events and the delivery log in one DynamoDB table (see table.ts). The same
 * class serves Lambda and the local runtime (against dynalite).
 */
export class DynamoStore implements Store, EventLedger {
  /** Event and delivery writes of one event-loop turn share BatchWriteItem requests. */
  private readonly writes = new WriteCoalescer<Item>((items) => this.writeAll(items));

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private ttl(fromIso: string): number {
    return Math.floor(Date.parse(fromIso) / 1000) + this.retentionDays * 86_400;
  }

  async putSubscription(
    sub: Subscription,
    expected?: { updatedAt: string; healthUpdatedAt?: string | undefined },
  ): Promise<boolean> {
    const version = expected && versionCondition(expected);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...subKey(sub.tenant, sub.id), ...sub },
          ...(version
            ? {
                ConditionExpression: `attribute_exists(pk) AND ${version.ConditionExpression}`,
                ExpressionAttributeValues: version.ExpressionAttributeValues,
              }
            : {}),
        }),
      );
      return true;
    } catch (err) {
      if (version && (err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async getSubscription(tenant: string, id: string): Promise<Subscription | undefined> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: subKey(tenant, id), ConsistentRead: true }),
    );
    return res.Item ? strip<Subscription>(res.Item) : undefined;
  }

  async listSubscriptions(tenant: string): Promise<Subscription[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `SUB#${tenant}` },
      ConsistentRead: true,
    });
    return items.map((i) => strip<Subscription>(i));
  }

  async deleteSubscription(tenant: string, id: string): Promise<boolean> {
    const res = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: subKey(tenant, id), ReturnValues: 'ALL_OLD' }),
    );
    return res.Attributes !== undefined;
  }

  async putApiKey(record: ApiKeyRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        // Listed through gsi1 (admin only, a handful of keys): one partition is plenty.
        Item: {
          ...apiKeyKey(record.id),
          ...record,
          gsi1pk: 'APIKEYS',
          gsi1sk: `${record.createdAt}#${record.id}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: apiKeyKey(id), ConsistentRead: true }),
    );
    return res.Item ? strip<ApiKeyRecord>(res.Item) : undefined;
  }

  async listApiKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'APIKEYS', ...(tenant ? { ':tenant': tenant } : {}) },
      ...(tenant ? { FilterExpression: 'tenant = :tenant' } : {}),
    });
    return items.map((i) => strip<ApiKeyRecord>(i));
  }

  async deleteApiKey(id: string): Promise<boolean> {
    const res = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: apiKeyKey(id), ReturnValues: 'ALL_OLD' }),
    );
    return res.Attributes !== undefined;
  }

  /**
   * One conditional PutItem per claim, each id in its own partition (no hot key). Expired items
   * count as absent (TTL deletes them within a day or two, and dynalite never does).
   */
  async claim(tenant: string, id: string, now: Date): Promise<'claimed' | 'accepted' | 'in_flight'> {
    const nowMs = now.getTime();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...ledgerKey(tenant, id),
            state: 'in_flight',
            leaseUntil: nowMs + CLAIM_LEASE_MS,
            // As long as the event and its deliveries are kept: a reused id is a duplicate for as
            // long as the relay could mistake it for the stored event (at least the 24 h promised).
            ttl: Math.floor(nowMs / 1000) + this.retentionDays * 86_400,
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR #ttl < :nowSec OR (#state = :inFlight AND leaseUntil < :nowMs)',
          ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state' },
          ExpressionAttributeValues: {
            ':nowSec': Math.floor(nowMs / 1000),
            ':nowMs': nowMs,
            ':inFlight': 'in_flight',
          },
        }),
      );
      return 'claimed';
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: ledgerKey(tenant, id), ConsistentRead: true }),
    );
    // Gone between the two calls (released): let the caller try again.
    if (!res.Item) return 'in_flight';
    return res.Item.state === 'accepted' ? 'accepted' : 'in_flight';
  }

  async markAccepted(tenant: string, id: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: ledgerKey(tenant, id),
        UpdateExpression: 'SET #state = :accepted REMOVE leaseUntil',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':accepted': 'accepted' },
      }),
    );
  }

  async release(tenant: string, id: string): Promise<void> {
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: ledgerKey(tenant, id),
          ConditionExpression: '#state = :inFlight',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':inFlight': 'in_flight' },
        }),
      )
      .catch((err: Error) => {
        if (err.name !== 'ConditionalCheckFailedException') throw err;
      });
  }

  async recordHealth(
    tenant: string,
    id: string,
    change: { failingSince?: string; circuit?: CircuitState | null } | 'healthy',
    seen: { updatedAt: string; healthUpdatedAt?: string; at: string },
  ): Promise<boolean> {
    const sets = ['healthUpdatedAt = :at'];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':at': seen.at };
    if (change === 'healthy') {
      removes.push('failingSince', 'circuit');
    } else {
      if (change.failingSince) {
        sets.push('failingSince = :since');
        values[':since'] = change.failingSince;
      }
      if (change.circuit) {
        sets.push('circuit = :circuit');
        values[':circuit'] = change.circuit;
      } else if (change.circuit === null) {
        removes.push('circuit');
      }
    }
    const version = versionCondition(seen);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: subKey(tenant, id),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          // Only over the version the attempt read: an edit or another health write made since
          // wins, and this one is dropped instead of putting stale state back.
          ConditionExpression: `attribute_exists(pk) AND ${version.ConditionExpression}`,
          ExpressionAttributeValues: { ...values, ...version.ExpressionAttributeValues },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async claimProbe(
    tenant: string,
    id: string,
    seen: CircuitState,
    probeUntil: string,
    now: string,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: subKey(tenant, id),
          // A health change too: an edit based on an older read must not drop the claim.
          UpdateExpression: 'SET circuit.probeUntil = :probeUntil, healthUpdatedAt = :now',
          // The circuit we decided on is still the one stored, and nobody probes it right now.
          ConditionExpression:
            'circuit.openUntil = :openUntil AND (attribute_not_exists(circuit.probeUntil) OR circuit.probeUntil < :now)',
          ExpressionAttributeValues: { ':probeUntil': probeUntil, ':openUntil': seen.openUntil, ':now': now },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async disableSubscription(
    tenant: string,
    id: string,
    reason: string,
    at: string,
    seen?: { updatedAt: string; healthUpdatedAt?: string | undefined },
  ): Promise<boolean> {
    const version = seen && versionCondition(seen);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: subKey(tenant, id),
          UpdateExpression: 'SET enabled = :off, disabledReason = :reason, disabledAt = :at, updatedAt = :at',
          ConditionExpression: version
            ? `attribute_exists(pk) AND ${version.ConditionExpression}`
            : 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':off': false,
            ':reason': reason,
            ':at': at,
            ...(version ? version.ExpressionAttributeValues : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      // Deleted, or changed since it was read: nothing to disable.
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      return false;
    }
  }

  putEvents(events: readonly RelayEvent[]): Promise<void> {
    return this.writes.add(events.map((e) => this.eventItem(e)));
  }

  private eventItem(e: RelayEvent): Item {
    // The payload is kept as JSON text: DynamoDB maps cannot hold every JSON document (nesting
    // is capped at 32 levels), and the receiver must get exactly what the producer sent.
    const { data, ...rest } = e;
    return { ...eventKey(e.tenant, e.id), ...rest, data: JSON.stringify(data), ttl: this.ttl(e.receivedAt) };
  }

  private static toEvent(item: Item): RelayEvent {
    const e = strip<RelayEvent & { data: string }>(item);
    return { ...e, data: JSON.parse(e.data) };
  }

  async getEvent(tenant: string, id: string): Promise<RelayEvent | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: eventKey(tenant, id) }));
    return res.Item ? DynamoStore.toEvent(res.Item) : undefined;
  }

  private deliveryItem(d: Delivery): Item {
    return {
      ...deliveryKey(d.id),
      ...d,
      gsi1pk: `SUBDLV#${d.subscriptionId}`,
      gsi1sk: `${d.createdAt}#${d.id}`,
      gsi2pk: `EVTDLV#${d.tenant}#${d.eventId}`,
      gsi2sk: d.subscriptionId,
      ...(d.status === 'dead' ? { gsi3pk: `DEAD#${d.tenant}`, gsi3sk: `${d.updatedAt}#${d.id}` } : {}),
      ttl: this.ttl(d.createdAt),
    };
  }

  /**
   * A conditional PutItem over the whole record (a token rotation of the ordered path): a write
   * made meanwhile without moving `deadMessageId` (a manual attempt) is overwritten.
   */
  async replaceDelivery(next: Delivery, expected: { deadMessageId: string }): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.deliveryItem(next),
          ConditionExpression: 'deadMessageId = :d',
          ExpressionAttributeValues: { ':d': expected.deadMessageId },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /**
   * Delivery records written within a few milliseconds of each other (the attempts of one batch
   * end together) share BatchWriteItem requests with each other and with event writes.
   */
  putDeliveries(deliveries: readonly Delivery[]): Promise<void> {
    return this.writes.add(deliveries.map((d) => this.deliveryItem(d)));
  }

  async recordManualAttempt(
    deliveryId: string,
    update: { attempt?: Attempt; succeeded: boolean; lastError?: string; at: string },
  ): Promise<void> {
    const sets = ['updatedAt = :at'];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':at': update.at };
    if (update.attempt) {
      sets.push('attempts = list_append(if_not_exists(attempts, :none), :attempt)');
      values[':attempt'] = [update.attempt];
      values[':none'] = [];
    }
    if (update.succeeded) {
      sets.push('#status = :succeeded');
      values[':succeeded'] = 'succeeded';
      removes.push('nextAttemptAt', 'lastError', 'deadMessageId', 'deadAt', 'gsi3pk', 'gsi3sk');
    } else if (update.lastError) {
      sets.push('lastError = :error');
      values[':error'] = update.lastError;
    }
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: deliveryKey(deliveryId),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...(update.succeeded ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
        ExpressionAttributeValues: values,
      }),
    );
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: deliveryKey(id), ConsistentRead: true }),
    );
    return res.Item ? strip<Delivery>(res.Item) : undefined;
  }

  listDeliveriesBySubscription(
    subscriptionId: string,
    opts: { limit: number; cursor?: string; from?: string; to?: string },
  ): Promise<Page<Delivery>> {
    // gsi1sk is `{createdAt}#{id}`: a window on creation time is a key range ('~' sorts after
    // every id character, so `to` itself is included).
    const windowed = opts.from !== undefined || opts.to !== undefined;
    return this.page(
      {
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: windowed ? 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to' : 'gsi1pk = :pk',
        ExpressionAttributeValues: {
          ':pk': `SUBDLV#${subscriptionId}`,
          ...(windowed ? { ':from': opts.from ?? '', ':to': `${opts.to ?? '9999'}~` } : {}),
        },
        ScanIndexForward: false,
      },
      opts,
    );
  }

  /**
   * Every stored event accepted within [from, to], a page at a time. A table scan: local mode
   * replays from it; on AWS the bus archive replays and this is never called.
   */
  async *scanEvents(from: string, to: string): AsyncGenerator<RelayEvent[]> {
    let start: Item | undefined;
    do {
      const res = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :evt AND receivedAt BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':evt': 'EVT', ':from': from, ':to': to },
          ExclusiveStartKey: start,
        }),
      );
      const events = (res.Items ?? []).map((i) => DynamoStore.toEvent(i));
      if (events.length) yield events;
      start = res.LastEvaluatedKey;
    } while (start);
  }

  async listDeliveriesByEvent(tenant: string, eventId: string): Promise<Delivery[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: { ':pk': `EVTDLV#${tenant}#${eventId}` },
    });
    return items.map((i) => strip<Delivery>(i));
  }

  listDeadDeliveries(tenant: string, opts: { limit: number; cursor?: string }): Promise<Page<Delivery>> {
    return this.page(
      {
        TableName: this.tableName,
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': `DEAD#${tenant}` },
        ScanIndexForward: false,
      },
      opts,
    );
  }

  async countDeadDeliveries(tenant: string): Promise<number> {
    let count = 0;
    let start: Item | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi3',
          KeyConditionExpression: 'gsi3pk = :pk',
          ExpressionAttributeValues: { ':pk': `DEAD#${tenant}` },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      count += res.Count ?? 0;
      start = res.LastEvaluatedKey;
    } while (start);
    return count;
  }

  async loadForTasks(tasks: readonly DeliveryTask[]) {
    const keys = new Map<string, Item>();
    for (const t of tasks) {
      for (const k of [
        deliveryKey(t.deliveryId),
        eventKey(t.tenant, t.eventId),
        subKey(t.tenant, t.subscriptionId),
      ]) {
        keys.set(`${k.pk}|${k.sk}`, k);
      }
    }
    const items = await this.getAll([...keys.values()]);
    const deliveries = new Map<string, Delivery>();
    const events = new Map<string, RelayEvent>();
    const subscriptions = new Map<string, Subscription>();
    for (const item of items) {
      const pk = String(item.pk);
      if (pk.startsWith('DLV#')) {
        const d = strip<Delivery>(item);
        deliveries.set(d.id, d);
      } else if (pk.startsWith('EVT#')) {
        const e = DynamoStore.toEvent(item);
        events.set(scopedKey(e.tenant, e.id), e);
      } else if (pk.startsWith('SUB#')) {
        const s = strip<Subscription>(item);
        subscriptions.set(scopedKey(s.tenant, s.id), s);
      }
    }
    return { deliveries, events, subscriptions };
  }

  private async page(
    input: QueryCommandInput,
    opts: { limit: number; cursor?: string },
  ): Promise<Page<Delivery>> {
    const query = new QueryCommand({
      ...input,
      Limit: opts.limit,
      ExclusiveStartKey: opts.cursor ? decodeCursor(opts.cursor) : undefined,
    });
    const res = await this.doc.send(query).catch((err: Error) => {
      // A cursor that decodes but does not fit this query is the caller's mistake, not ours.
      if (opts.cursor && err.name === 'ValidationException') throw invalidCursor();
      throw err;
    });
    const items = (res.Items ?? []).map((i) => strip<Delivery>(i));
    return res.LastEvaluatedKey ? { items, next: encodeCursor(res.LastEvaluatedKey) } : { items };
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const res = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      out.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** BatchGetItem in chunks of 100, re-asking for unprocessed keys with backoff. */
  private async getAll(keys: Item[]): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Item[] = keys.slice(i, i + 100);
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await backoff(round);
        const res: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        out.push(...(res.Responses?.[this.tableName] ?? []));
        pending = (res.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined) ?? [];
        if (round > 8 && pending.length) throw new Error(`DynamoDB left ${pending.length} keys unprocessed`);
      }
    }
    return out;
  }

  /**
   * BatchWriteItem in chunks of 25, re-sending unprocessed items with backoff. A lone item goes
   * as a PutItem. BatchWriteItem refuses two writes of one key in a request: the last one wins.
   */
  private async writeAll(all: Item[]): Promise<void> {
    const byKey = new Map<string, Item>();
    for (const item of all) byKey.set(`${item.pk}|${item.sk}`, item);
    const items = [...byKey.values()];
    if (items.length === 1) {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: items[0] }));
      return;
    }
    for (let i = 0; i < items.length; i += 25) {
      let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await backoff(round);
        const res = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = (res.UnprocessedItems?.[this.tableName] as typeof pending | undefined) ?? [];
        if (round > 8 && pending.length) throw new Error(`DynamoDB left ${pending.length} items unwritten`);
      }
    }
  }
}

const backoff = (round: number) => new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round)));

function encodeCursor(key: Item): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Item {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Our cursors are LastEvaluatedKeys: key attributes with string values, nothing else.
    if (
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.entries(value).every(([k, v]) => KEY_ATTRS.includes(k) && typeof v === 'string')
    ) {
      return value as Item;
    }
  } catch {
    // fall through to the 400 below
  }
  throw invalidCursor();
}

const invalidCursor = () =>
  badRequest('cursor is invalid; pass the "next" value of the previous page', [
    { path: 'cursor', message: 'not a cursor' },
  ]);
