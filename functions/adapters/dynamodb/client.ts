import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { badRequest } from '../../core/errors.ts';
import type { Page } from '../../core/ports.ts';
import { WriteCoalescer } from '../coalescer.ts';
import { KEY_ATTRS, type Key } from './table.ts';

export type Item = Record<string, unknown>;

/** An item without its key attributes: the stored record. */
export function strip<T>(item: Item): T {
  const out: Item = { ...item };
  for (const k of KEY_ATTRS) delete out[k];
  return out as T;
}

export const isConditionFailure = (err: unknown) =>
  (err as Error | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * The table as every item module sees it: the document client, the table's name, the retention
 * and the request patterns they share (batched reads and writes with retries of what DynamoDB
 * left unprocessed, pages with cursors).
 */
export class TableClient {
  /** Puts of one event-loop turn (events, delivery records) share BatchWriteItem requests. */
  private readonly writes = new WriteCoalescer<Item>((items) => this.writeAll(items));

  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly retentionDays: number,
  ) {}

  /** The `ttl` of an item kept for the retention from `fromIso`. */
  ttl(fromIso: string | number): number {
    const ms = typeof fromIso === 'number' ? fromIso : Date.parse(fromIso);
    return Math.floor(ms / 1000) + this.retentionDays * 86_400;
  }

  /** Puts the items, sharing requests with other puts made within a few milliseconds. */
  put(items: readonly Item[]): Promise<void> {
    return this.writes.add(items);
  }

  async queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: start }),
      );
      out.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** How many items a Query matches, every page counted (`Select: COUNT`). */
  async count(input: Omit<QueryCommandInput, 'TableName' | 'Select'>): Promise<number> {
    let count = 0;
    let start: Item | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({ ...input, TableName: this.tableName, Select: 'COUNT', ExclusiveStartKey: start }),
      );
      count += res.Count ?? 0;
      start = res.LastEvaluatedKey;
    } while (start);
    return count;
  }

  /** One page of a Query; the cursor is the LastEvaluatedKey, opaque to callers. */
  async page(
    input: Omit<QueryCommandInput, 'TableName'>,
    opts: { limit: number; cursor?: string | undefined },
  ): Promise<{ items: Item[]; last?: Item }> {
    const query = new QueryCommand({
      ...input,
      TableName: this.tableName,
      Limit: opts.limit,
      ExclusiveStartKey: opts.cursor ? decodeCursor(opts.cursor) : undefined,
    });
    const res = await this.doc.send(query).catch((err: Error) => {
      // A cursor that decodes but does not fit this query is the caller's mistake, not ours.
      if (opts.cursor && err.name === 'ValidationException') throw invalidCursor();
      throw err;
    });
    return { items: res.Items ?? [], ...(res.LastEvaluatedKey ? { last: res.LastEvaluatedKey } : {}) };
  }

  /** BatchGetItem in chunks of 100, re-asking for unprocessed keys with backoff. */
  async getAll(keys: readonly Key[], opts: { consistent: boolean }): Promise<Item[]> {
    const unique = [...new Map(keys.map((k) => [`${k.pk}|${k.sk}`, k])).values()];
    const out: Item[] = [];
    for (let i = 0; i < unique.length; i += 100) {
      let pending: Item[] = unique.slice(i, i + 100).map((k) => ({ pk: k.pk, sk: k.sk }));
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await backoff(round);
        const res: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: opts.consistent } },
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

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A cursor back to the LastEvaluatedKey it was made from; a 400 for anything else. */
export function decodeCursor(cursor: string): Item {
  const value = decodeCursorValue(cursor);
  if (isKeyObject(value)) return value;
  throw invalidCursor();
}

/** A cursor's JSON value, or a 400 when it is not one of ours. */
export function decodeCursorValue(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
}

/** Our cursors hold LastEvaluatedKeys: key attributes with string values, nothing else. */
export function isKeyObject(value: unknown): value is Item {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.entries(value).every(([k, v]) => KEY_ATTRS.includes(k) && typeof v === 'string')
  );
}

export const invalidCursor = () =>
  badRequest('cursor is invalid; pass the "next" value of the previous page', [
    { path: 'cursor', message: 'not a cursor' },
  ]);

export function pageOf<T>(items: T[], last: unknown): Page<T> {
  return last === undefined ? { items } : { items, next: encodeCursor(last) };
}
