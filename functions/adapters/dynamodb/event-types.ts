import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EventType, JsonObject } from '../../core/catalog/event-type.ts';
import type { EventTypeStore, Page } from '../../core/ports.ts';
import { type Item, isConditionFailure, pageOf, type TableClient } from './client.ts';
import { eventTypeKey, eventTypePartition } from './table.ts';

/**
 * The event-type catalog: one item per type in its tenant's partition, sorted by name. The schema
 * and the example are kept as JSON text, not as DynamoDB maps: maps do not keep the order of keys
 * (an example reads as it was written) and numbers come back exactly as sent.
 */
export class DynamoEventTypeStore implements EventTypeStore {
  constructor(private readonly t: TableClient) {}

  async putEventType(eventType: EventType, expected: 'new' | { revision: number }): Promise<boolean> {
    try {
      await this.t.doc.send(
        new PutCommand({
          TableName: this.t.tableName,
          Item: toItem(eventType),
          ...(expected === 'new'
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'attribute_exists(pk) AND revision = :revision',
                ExpressionAttributeValues: { ':revision': expected.revision },
              }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getEventType(tenant: string, name: string): Promise<EventType | undefined> {
    const res = await this.t.doc.send(
      new GetCommand({ TableName: this.t.tableName, Key: eventTypeKey(tenant, name), ConsistentRead: true }),
    );
    return res.Item ? fromItem(res.Item) : undefined;
  }

  async listEventTypes(
    tenant: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<EventType>> {
    const res = await this.t.page(
      {
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': eventTypePartition(tenant) },
        ConsistentRead: true,
      },
      page,
    );
    return pageOf(res.items.map(fromItem), res.last);
  }

  async listEventTypeSchemas(tenant: string): Promise<Array<{ name: string; schema: JsonObject }>> {
    // Eventually consistent: the cache that reads this is up to a minute old anyway.
    const items = await this.t.queryAll({
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'attribute_exists(schemaJson)',
      ProjectionExpression: 'sk, schemaJson',
      ExpressionAttributeValues: { ':pk': eventTypePartition(tenant) },
    });
    return items.map((i) => ({
      name: i.sk as string,
      schema: JSON.parse(i.schemaJson as string) as JsonObject,
    }));
  }

  countEventTypes(tenant: string): Promise<number> {
    return this.t.count({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': eventTypePartition(tenant) },
    });
  }

  async deleteEventType(tenant: string, name: string): Promise<boolean> {
    const res = await this.t.doc.send(
      new DeleteCommand({
        TableName: this.t.tableName,
        Key: eventTypeKey(tenant, name),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return res.Attributes !== undefined;
  }
}

function toItem({ schema, example, ...rest }: EventType): Item {
  return {
    ...eventTypeKey(rest.tenant, rest.name),
    ...rest,
    ...(schema !== undefined ? { schemaJson: JSON.stringify(schema) } : {}),
    ...(example !== undefined ? { exampleJson: JSON.stringify(example) } : {}),
  };
}

/** The record, its fields in the order the API shows them. */
function fromItem(item: Item): EventType {
  const { schemaJson, exampleJson, description } = item;
  return {
    tenant: item.tenant as string,
    name: item.name as string,
    ...(typeof description === 'string' ? { description } : {}),
    ...(typeof schemaJson === 'string' ? { schema: JSON.parse(schemaJson) as JsonObject } : {}),
    ...(typeof exampleJson === 'string' ? { example: JSON.parse(exampleJson) as JsonObject } : {}),
    deprecated: item.deprecated === true,
    revision: item.revision as number,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}
