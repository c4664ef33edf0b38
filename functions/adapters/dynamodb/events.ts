import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RelayEvent } from '../../core/event.ts';
import { receivedAtOfEventId } from '../../core/ids.ts';
import type { EventListQuery, EventStore, Page, StoredEvent } from '../../core/ports.ts';
import {
  decodeCursorValue,
  encodeCursor,
  type Item,
  invalidCursor,
  isConditionFailure,
  strip,
  type TableClient,
} from './client.ts';
import {
  EVENT_LIST_SHARDS,
  EVENT_PK_PREFIX,
  eventKey,
  eventListPk,
  eventListShard,
  LEGACY_EVENT_SK,
  ledgerKey,
  legacyEventKey,
} from './table.ts';

/**
 * Payloads shorter than this stay JSON text: deflate saves little on them and costs CPU. Above
 * it a payload is kept deflated when that is shorter (typical JSON shrinks to 50-60 %), so the
 * event item of a 1 KB payload fits one write unit.
 */
const COMPRESS_FROM_BYTES = 256;

/**
 * How many delivery ids an event item lists (57 bytes each: 1,000 are 57 KB of the item's
 * 400 KB). Deliveries past it, made for an event matching more subscriptions than that, are
 * in their subscriptions' logs but not listed under the event (`dlvsTruncated` says so).
 */
export const MAX_LISTED_DELIVERIES = 1_000;

/** The payload as stored: JSON text, or raw-deflated JSON when that is shorter. */
export function encodePayload(data: unknown): string | Uint8Array {
  // Kept as the producer's JSON: DynamoDB maps cannot hold every JSON document (nesting is
  // capped at 32 levels), and the receiver must get exactly what the producer sent.
  const json = JSON.stringify(data);
  if (json.length < COMPRESS_FROM_BYTES) return json;
  const packed = deflateRawSync(json);
  return packed.length < Buffer.byteLength(json) ? new Uint8Array(packed) : json;
}

export function decodePayload(stored: unknown): Record<string, unknown> {
  const json = typeof stored === 'string' ? stored : inflateRawSync(stored as Uint8Array).toString('utf8');
  return JSON.parse(json) as Record<string, unknown>;
}

/**
 * An event item: the event, its payload (`payload`), and the ids of the deliveries fanout made
 * for it (`dlvs`, a string set) — which is how `GET /v1/events/{id}` finds them without an
 * index. Its key (table.ts `eventKey`) puts it in its tenant's event list. Items of 0.1 hold the
 * payload as `data` (JSON text) and no `dlvs`, their deliveries found through gsi2
 * (deliveries.ts); items of 0.1 and 0.2 sit at {@link legacyEventKey}.
 */
export function eventItem(e: RelayEvent, deliveryIds: readonly string[], ttl: number): Item {
  const { data, ...rest } = e;
  return {
    ...eventKey(e.tenant, e.id, e.receivedAt),
    ...rest,
    payload: encodePayload(data),
    ...(deliveryIds.length ? { dlvs: new Set(deliveryIds.slice(0, MAX_LISTED_DELIVERIES)) } : {}),
    ...(deliveryIds.length > MAX_LISTED_DELIVERIES ? { dlvsTruncated: true } : {}),
    ttl,
  };
}

export function eventOf(item: Item): RelayEvent {
  const { payload, data, dlvs: _dlvs, dlvsTruncated: _t, ...rest } = strip<Item>(item);
  return { ...(rest as Omit<RelayEvent, 'data'>), data: decodePayload(payload ?? data) };
}

const isItemTooLarge = (err: unknown) =>
  (err as Error | undefined)?.name === 'ValidationException' && /item size/i.test((err as Error).message);

/** Events, one item each in their own partition (no hot key), stored by fanout. */
export class DynamoEventStore implements EventStore {
  constructor(private readonly t: TableClient) {}

  /**
   * A first fanout puts whole items (shared BatchWriteItem requests). A replay adds its
   * deliveries to the item's set and extends its life to the replay's retention, so a manual
   * retry of a replayed delivery still finds the payload; an item already expired is put anew.
   * A second fanout of one event (a retried record) puts the item again with the deliveries it
   * made: the same set unless a subscription changed in between.
   */
  async putEvents(events: readonly StoredEvent[], opts: { replay?: boolean } = {}): Promise<void> {
    if (!opts.replay) {
      await this.t.put(events.map((s) => eventItem(s.event, s.deliveryIds, this.t.ttl(s.event.receivedAt))));
      return;
    }
    const now = Date.now();
    await Promise.all(
      events.map(async (s) => {
        const ttl = Math.max(this.t.ttl(s.event.receivedAt), this.t.ttl(now));
        const ids = s.deliveryIds.slice(0, MAX_LISTED_DELIVERIES);
        // The item where this version keeps it, else where 0.2 did (its list of deliveries
        // stays the event's), else, expired or never stored, a new one.
        const added =
          (await this.addReplay(eventKey(s.event.tenant, s.event.id, s.event.receivedAt), ids, ttl, now)) ||
          (await this.addReplay(legacyEventKey(s.event.tenant, s.event.id), ids, ttl, now));
        if (!added) {
          await this.t.doc.send(
            new PutCommand({ TableName: this.t.tableName, Item: eventItem(s.event, s.deliveryIds, ttl) }),
          );
        }
        // A producer-chosen id is found through its idempotency item: it lives as long as the
        // event now does (and, recreated after it expired, counts the id as accepted).
        if (!receivedAtOfEventId(s.event.id)) await this.keepIdFindable(s.event, ttl);
      }),
    );
  }

  private async keepIdFindable(e: RelayEvent, ttl: number): Promise<void> {
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: ledgerKey(e.tenant, e.id),
        UpdateExpression:
          'SET #ttl = :ttl, receivedAt = if_not_exists(receivedAt, :at), #state = if_not_exists(#state, :accepted)',
        ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state' },
        ExpressionAttributeValues: { ':ttl': ttl, ':at': e.receivedAt, ':accepted': 'accepted' },
      }),
    );
  }

  /** Adds a replay's deliveries to the item at `key` and extends its life; false if it is gone. */
  private async addReplay(
    key: { pk: string; sk: string },
    ids: readonly string[],
    ttl: number,
    now: number,
  ): Promise<boolean> {
    try {
      await this.t.doc.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: key,
          UpdateExpression: ids.length ? 'SET #ttl = :ttl ADD dlvs :ids' : 'SET #ttl = :ttl',
          ConditionExpression: 'attribute_exists(pk) AND #ttl > :nowSec',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':ttl': ttl,
            ':nowSec': Math.floor(now / 1000),
            ...(ids.length ? { ':ids': new Set(ids) } : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      // Replayed so often that its list would pass DynamoDB's 400 KB item limit: the event
      // stays, says its list is incomplete, and the replay goes on.
      if (isItemTooLarge(err)) {
        await this.markTruncated(key, ttl);
        return true;
      }
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private async markTruncated(key: { pk: string; sk: string }, ttl: number): Promise<void> {
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: key,
        UpdateExpression: 'SET #ttl = :ttl, dlvsTruncated = :yes',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':ttl': ttl, ':yes': true },
      }),
    );
  }

  async getEvent(tenant: string, id: string): Promise<RelayEvent | undefined> {
    const item = await findEventItem(this.t, tenant, id);
    return item ? eventOf(item) : undefined;
  }

  /**
   * A tenant's events, newest first: each shard of the list is read in order (past the events
   * the type filter drops, up to {@link LIST_SCAN_PER_SHARD} a page) and the shards merged. A
   * shard that stopped early bounds the page, so no event is skipped; the cursor holds where
   * each shard goes on.
   */
  async listEvents(tenant: string, q: EventListQuery): Promise<Page<RelayEvent>> {
    const positions = q.cursor ? decodeListCursor(q.cursor) : Array<ShardPosition>(EVENT_LIST_SHARDS).fill(0);
    const range = {
      from: q.from ?? '0',
      // `#` sorts before `~`: the bound takes every id at `to` itself.
      to: `${q.to ?? '9'}~`,
    };
    const reads: Array<{ items: Item[]; lastSk?: string }> = await Promise.all(
      positions.map((at, shard) =>
        at === null ? { items: [] } : this.readShard(tenant, shard, at, range, q),
      ),
    );
    // An unfinished shard's unread events are older than the last it read: nothing older than
    // the newest such stop may be shown yet.
    const bound = reads.reduce((max, r) => (r.lastSk !== undefined && r.lastSk > max ? r.lastSk : max), '');
    const merged = reads
      .flatMap((r, shard) => r.items.map((item) => ({ item, shard, sk: item.sk as string })))
      .filter((m) => m.sk >= bound)
      .sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0))
      .slice(0, q.limit);
    // A page stays well within Lambda's 6 MB response: big payloads make it shorter, never empty.
    const events: RelayEvent[] = [];
    let bytes = 0;
    for (const m of merged) {
      const e = eventOf(m.item);
      bytes += JSON.stringify(e.data).length;
      if (events.length > 0 && bytes > MAX_PAGE_PAYLOAD_BYTES) break;
      events.push(e);
    }
    merged.length = events.length;
    const next = positions.map((at, shard): ShardPosition => {
      const shown = merged.filter((m) => m.shard === shard);
      const read = reads[shard] as (typeof reads)[number];
      if (shown.length === read.items.length) return read.lastSk ?? null;
      return shown.length ? (shown.at(-1) as (typeof shown)[number]).sk : at;
    });
    const items = events;
    return next.every((p) => p === null) ? { items } : { items, next: encodeCursor({ shards: next }) };
  }

  private async readShard(
    tenant: string,
    shard: number,
    after: string | 0,
    range: { from: string; to: string },
    q: EventListQuery,
  ): Promise<{ items: Item[]; lastSk?: string }> {
    const pk = eventListPk(tenant, shard);
    // A cursor used with another window: past its end, start at the window's top; before its
    // start, this shard has nothing more in it.
    if (after !== 0 && after < range.from) return { items: [] };
    let start: Item | undefined = after === 0 || after > range.to ? undefined : { pk, sk: after };
    const items: Item[] = [];
    let scanned = 0;
    do {
      const res = await this.t.doc.send(
        new QueryCommand({
          TableName: this.t.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ...(q.type
            ? { FilterExpression: '#type = :type', ExpressionAttributeNames: { '#type': 'type' } }
            : {}),
          ExpressionAttributeValues: {
            ':pk': pk,
            ':from': range.from,
            ':to': range.to,
            ...(q.type ? { ':type': q.type } : {}),
          },
          ScanIndexForward: false,
          Limit: q.limit,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(res.Items ?? []));
      scanned += res.ScannedCount ?? 0;
      start = res.LastEvaluatedKey;
    } while (start && items.length < q.limit && scanned < LIST_SCAN_PER_SHARD);
    // Stopped with more to read: what it did not read is older than the last it read (`lastSk`).
    return start ? { items, lastSk: start.sk as string } : { items };
  }

  /**
   * Every stored event accepted within [from, to], a page at a time. A table scan: local mode
   * replays from it; on AWS the bus archive replays and this is never called.
   */
  async *scanEvents(from: string, to: string): AsyncGenerator<RelayEvent[]> {
    // An event is replayed once, wherever its items are (this version's key and 0.2's).
    const seen = new Set<string>();
    let start: Item | undefined;
    do {
      const res = await this.t.doc.send(
        new ScanCommand({
          TableName: this.t.tableName,
          FilterExpression: '(begins_with(pk, :evts) OR sk = :evt) AND receivedAt BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':evts': EVENT_PK_PREFIX,
            ':evt': LEGACY_EVENT_SK,
            ':from': from,
            ':to': to,
          },
          ExclusiveStartKey: start,
        }),
      );
      const events = (res.Items ?? [])
        .map((i) => eventOf(i))
        .filter((e) => {
          const key = `${e.tenant}#${e.id}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
      if (events.length) yield events;
      start = res.LastEvaluatedKey;
    } while (start);
  }
}

/** Payload bytes one page of the event list holds at most (Lambda answers up to 6 MB). */
export const MAX_PAGE_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** Events of one shard read per page at most, matching the type or not. */
const LIST_SCAN_PER_SHARD = 1000;

/** Where a shard of the list goes on: at its top (0), after this entry, or nowhere (null). */
type ShardPosition = string | 0 | null;

function decodeListCursor(cursor: string): ShardPosition[] {
  const value = decodeCursorValue(cursor) as { shards?: unknown } | null;
  const shards = value?.shards;
  if (
    !Array.isArray(shards) ||
    shards.length !== EVENT_LIST_SHARDS ||
    !shards.every(
      (p) => p === 0 || p === null || (typeof p === 'string' && /^[^#]+#.+$/.test(p) && p.length < 400),
    )
  ) {
    throw invalidCursor();
  }
  return shards as ShardPosition[];
}

/**
 * Where an event's item is: at the key its receipt time gives (a generated id carries it; a
 * producer-chosen id's idempotency item records it), else where 0.2 kept it.
 */
export async function findEventItem(
  t: TableClient,
  tenant: string,
  id: string,
  projection?: string,
): Promise<Item | undefined> {
  const get = async (Key: { pk: string; sk: string }) =>
    (
      await t.doc.send(
        new GetCommand({
          TableName: t.tableName,
          Key,
          ...(projection ? { ProjectionExpression: projection } : {}),
        }),
      )
    ).Item;
  const generated = receivedAtOfEventId(id);
  const claim = generated ? undefined : await producerClaim(t, tenant, id);
  const receivedAt = generated ?? claim?.receivedAt;
  if (receivedAt) {
    const item = await get(eventKey(tenant, id, receivedAt));
    if (item) return item;
  } else if (claim?.claimedAtMs !== undefined) {
    // Claimed by a version that did not record the receipt time (an ingest function older than
    // the fanout that stored the event): it lies within a minute before the claim.
    const item = await findNear(t, tenant, id, claim.claimedAtMs, projection);
    if (item) return item;
  }
  return get(legacyEventKey(tenant, id));
}

async function findNear(
  t: TableClient,
  tenant: string,
  id: string,
  aroundMs: number,
  projection?: string,
): Promise<Item | undefined> {
  const items = await t.queryAll({
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    FilterExpression: 'id = :id',
    ExpressionAttributeValues: {
      ':pk': eventListPk(tenant, eventListShard(id)),
      ':from': new Date(aroundMs - 60_000).toISOString(),
      ':to': `${new Date(aroundMs + 1_000).toISOString()}~`,
      ':id': id,
    },
    ...(projection ? { ProjectionExpression: projection } : {}),
  });
  return items[0];
}

/** What the idempotency claim of a producer-chosen id says of its event: its receipt time, or when it was claimed. */
async function producerClaim(
  t: TableClient,
  tenant: string,
  id: string,
): Promise<{ receivedAt?: string; claimedAtMs?: number } | undefined> {
  const res = await t.doc.send(
    new GetCommand({
      TableName: t.tableName,
      Key: ledgerKey(tenant, id),
      ProjectionExpression: 'receivedAt, #ttl',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
    }),
  );
  const item = res.Item;
  if (!item) return undefined;
  if (typeof item.receivedAt === 'string') return { receivedAt: item.receivedAt };
  // A claim lives for the retention from when it was made.
  return typeof item.ttl === 'number' ? { claimedAtMs: (item.ttl - t.ttl(0)) * 1000 } : {};
}
