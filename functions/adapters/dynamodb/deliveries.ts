import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Attempt, Delivery } from '../../core/delivery/model.ts';
import { timeCode } from '../../core/ids.ts';
import type { DeliveryListQuery, DeliveryStore, Page } from '../../core/ports.ts';
import {
  decodeCursorValue,
  encodeCursor,
  type Item,
  invalidCursor,
  isConditionFailure,
  isKeyObject,
  strip,
  type TableClient,
} from './client.ts';
import { findEventItem } from './events.ts';
import {
  deadIndexPk,
  deliveryKey,
  deliveryPartition,
  type Key,
  LEGACY_DELIVERY_SK,
  legacyDeliveryKey,
  legacyEventIndexPk,
  legacySubscriptionIndexPk,
} from './table.ts';

/** '~' sorts after every character of a sort key: a window's upper bound includes `to` itself. */
const AFTER = '~';
/** Pages a filtered delivery listing reads at most to fill one page. */
const FILTERED_PAGES = 10;

/** Where a delivery is, and whether it is an item of an earlier version (see table.ts). */
function placeOf(d: Pick<Delivery, 'id' | 'subscriptionId'>): { key: Key; legacy: boolean } {
  const key = deliveryKey(d.id, d.subscriptionId);
  return { key, legacy: key.sk === LEGACY_DELIVERY_SK };
}

/**
 * A delivery record. Only a dead delivery carries index keys (gsi3, the DLQ list), so a
 * delivery that succeeds writes one item and no index entry. A delivery of an earlier version
 * keeps its own partition and its gsi1/gsi2 keys, through which its lists still find it.
 */
export function deliveryItem(d: Delivery, ttl: number): Item {
  const { key, legacy } = placeOf(d);
  return {
    ...key,
    ...d,
    ...(legacy
      ? {
          gsi1pk: legacySubscriptionIndexPk(d.subscriptionId),
          gsi1sk: `${d.createdAt}#${d.id}`,
          gsi2pk: legacyEventIndexPk(d.tenant, d.eventId),
          gsi2sk: d.subscriptionId,
        }
      : {}),
    ...(d.status === 'dead' ? { gsi3pk: deadIndexPk(d.tenant), gsi3sk: `${d.updatedAt}#${d.id}` } : {}),
    ttl,
  };
}

/** A listing's place: in this version's partition, or past it in the earlier version's index. */
type ListCursor = { p: 'new'; k: Item } | { p: 'old'; k?: Item };

function decodeListCursor(cursor: string | undefined): ListCursor | undefined {
  if (!cursor) return undefined;
  const value = decodeCursorValue(cursor) as { p?: unknown; k?: unknown };
  // A cursor handed out by an earlier version: a bare LastEvaluatedKey of gsi1.
  if (isKeyObject(value) && 'gsi1pk' in value) return { p: 'old', k: value };
  if (value && value.p === 'new' && isKeyObject(value.k)) return { p: 'new', k: value.k };
  if (value && value.p === 'old' && (value.k === undefined || isKeyObject(value.k)))
    return value.k === undefined ? { p: 'old' } : { p: 'old', k: value.k };
  throw invalidCursor();
}

/**
 * The delivery log. A record lives in its subscription's partition under
 * `{event receipt time}{hash}`, so a subscription's deliveries, newest first and within a time
 * window, are one Query of the base table.
 *
 * Earlier versions (before 0.2) kept each delivery in its own partition with three index
 * entries. This version reads those where they are, without a migration: `getDelivery` and the
 * delivery step find them by their id's form, the subscription list continues into gsi1 after
 * this version's items, an event of that version lists its deliveries through gsi2, and the DLQ
 * index is shared. They leave the table with their TTL (the retention), after which gsi1 and
 * gsi2 hold only API keys.
 */
export class DynamoDeliveryStore implements DeliveryStore {
  constructor(private readonly t: TableClient) {}

  private item(d: Delivery): Item {
    return deliveryItem(d, this.t.ttl(d.createdAt));
  }

  /**
   * Delivery records written within a few milliseconds of each other (the attempts of one batch
   * end together) share BatchWriteItem requests with each other and with event writes.
   */
  putDeliveries(deliveries: readonly Delivery[]): Promise<void> {
    return this.t.put(deliveries.map((d) => this.item(d)));
  }

  /**
   * A conditional PutItem over the whole record (a token rotation of the ordered path): a write
   * made meanwhile without moving `deadMessageId` (a manual attempt) is overwritten.
   */
  async replaceDelivery(next: Delivery, expected: { deadMessageId: string }): Promise<boolean> {
    try {
      await this.t.doc.send(
        new PutCommand({
          TableName: this.t.tableName,
          Item: this.item(next),
          ConditionExpression: 'deadMessageId = :d',
          ExpressionAttributeValues: { ':d': expected.deadMessageId },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
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
    const existing = await this.find(deliveryId);
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: existing?.key ?? deliveryKey(deliveryId),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...(update.succeeded ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
        ExpressionAttributeValues: values,
      }),
    );
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    return (await this.find(id))?.delivery;
  }

  /** The record and where it is: at the place its id names, else (an id of an earlier version) its own. */
  private async find(id: string): Promise<{ delivery: Delivery; key: Key } | undefined> {
    const places = [deliveryKey(id)];
    if (places[0]?.sk !== LEGACY_DELIVERY_SK) places.push(legacyDeliveryKey(id));
    for (const key of places) {
      const res = await this.t.doc.send(
        new GetCommand({ TableName: this.t.tableName, Key: key, ConsistentRead: true }),
      );
      if (res.Item) return { delivery: strip<Delivery>(res.Item), key };
    }
    return undefined;
  }

  async listDeliveriesBySubscription(
    subscriptionId: string,
    opts: DeliveryListQuery,
  ): Promise<Page<Delivery>> {
    if (!opts.status && !opts.eventType) return this.listPage(subscriptionId, opts);
    // Filtered: DynamoDB's Limit counts the records it looks at, so read on (a few pages at most)
    // until the page is full.
    const items: Delivery[] = [];
    let cursor = opts.cursor;
    for (let pages = 0; pages < FILTERED_PAGES; pages++) {
      const page = await this.listPage(subscriptionId, { ...opts, cursor, limit: opts.limit - items.length });
      items.push(...page.items);
      cursor = page.next;
      if (!cursor || items.length >= opts.limit) break;
    }
    return cursor ? { items, next: cursor } : { items };
  }

  private async listPage(subscriptionId: string, opts: DeliveryListQuery): Promise<Page<Delivery>> {
    const filter = [
      ...(opts.status ? ['#status = :status'] : []),
      ...(opts.eventType ? ['eventType = :eventType'] : []),
    ];
    const filtering = filter.length
      ? {
          FilterExpression: filter.join(' AND '),
          ...(opts.status ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
        }
      : {};
    const filterValues = {
      ...(opts.status ? { ':status': opts.status } : {}),
      ...(opts.eventType ? { ':eventType': opts.eventType } : {}),
    };
    const at = decodeListCursor(opts.cursor);
    const items: Item[] = [];
    let next: ListCursor | undefined;
    if (!at || at.p === 'new') {
      // Sort keys start with the event's receipt time: a window is a key range.
      const from = opts.from === undefined ? undefined : timeCode(Date.parse(opts.from));
      const to = opts.to === undefined ? undefined : timeCode(Date.parse(opts.to)) + AFTER;
      const page = await this.t.page(
        {
          KeyConditionExpression:
            from !== undefined || to !== undefined ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk',
          ExpressionAttributeValues: {
            ':pk': deliveryPartition(subscriptionId),
            ...(from !== undefined || to !== undefined ? { ':from': from ?? '', ':to': to ?? AFTER } : {}),
            ...filterValues,
          },
          ...filtering,
          ScanIndexForward: false,
        },
        { limit: opts.limit, ...(at ? { cursor: encodeCursor(at.k) } : {}) },
      );
      items.push(...page.items);
      next = page.last ? { p: 'new', k: page.last } : { p: 'old' };
    }
    if (items.length < opts.limit && (next?.p === 'old' || at?.p === 'old')) {
      const start = at?.p === 'old' ? at.k : undefined;
      const windowed = opts.from !== undefined || opts.to !== undefined;
      const page = await this.t.page(
        {
          IndexName: 'gsi1',
          KeyConditionExpression: windowed ? 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to' : 'gsi1pk = :pk',
          ExpressionAttributeValues: {
            ':pk': legacySubscriptionIndexPk(subscriptionId),
            ...(windowed ? { ':from': opts.from ?? '', ':to': `${opts.to ?? '9999'}${AFTER}` } : {}),
            ...filterValues,
          },
          ...filtering,
          ScanIndexForward: false,
        },
        { limit: opts.limit - items.length, ...(start ? { cursor: encodeCursor(start) } : {}) },
      );
      items.push(...page.items);
      next = page.last ? { p: 'old', k: page.last } : undefined;
    }
    const deliveries = items.map((i) => strip<Delivery>(i));
    return next ? { items: deliveries, next: encodeCursor(next) } : { items: deliveries };
  }

  /**
   * The deliveries fanout listed on the event's item (eventually consistent reads: a listing,
   * not a decision), plus, for an event stored by an earlier version, those its gsi2 finds.
   */
  async listDeliveriesByEvent(tenant: string, eventId: string): Promise<Delivery[]> {
    const item = await findEventItem(this.t, tenant, eventId, 'dlvs, receivedAt, payload');
    if (!item) return [];
    const ids = [...((item.dlvs as Set<string> | undefined) ?? [])];
    const listed = ids.length
      ? await this.t.getAll(
          ids.map((id) => deliveryKey(id)),
          { consistent: false },
        )
      : [];
    const legacy =
      item.payload === undefined
        ? await this.t.queryAll({
            IndexName: 'gsi2',
            KeyConditionExpression: 'gsi2pk = :pk',
            ExpressionAttributeValues: { ':pk': legacyEventIndexPk(tenant, eventId) },
          })
        : [];
    const byId = new Map<string, Delivery>();
    for (const item of [...legacy, ...listed]) {
      const d = strip<Delivery>(item);
      if (d.tenant === tenant) byId.set(d.id, d);
    }
    return [...byId.values()].sort(
      (a, b) => a.subscriptionId.localeCompare(b.subscriptionId) || a.createdAt.localeCompare(b.createdAt),
    );
  }

  async listDeadDeliveries(
    tenant: string,
    opts: { limit: number; cursor?: string },
  ): Promise<Page<Delivery>> {
    const page = await this.t.page(
      {
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': deadIndexPk(tenant) },
        ScanIndexForward: false,
      },
      opts,
    );
    const items = page.items.map((i) => strip<Delivery>(i));
    return page.last ? { items, next: encodeCursor(page.last) } : { items };
  }

  countDeadDeliveries(tenant: string): Promise<number> {
    return this.t.count({
      IndexName: 'gsi3',
      KeyConditionExpression: 'gsi3pk = :pk',
      ExpressionAttributeValues: { ':pk': deadIndexPk(tenant) },
    });
  }
}
