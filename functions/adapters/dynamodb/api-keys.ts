import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, ApiKeyStore } from '../../core/ports.ts';
import { strip, type TableClient } from './client.ts';
import { API_KEYS_INDEX_PK, apiKeyKey } from './table.ts';

/** Tenant API keys (their hashes), each in its own partition, listed through gsi1. */
export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(private readonly t: TableClient) {}

  async putApiKey(record: ApiKeyRecord): Promise<void> {
    await this.t.doc.send(
      new PutCommand({
        TableName: this.t.tableName,
        // Listed through gsi1 (admin only, a handful of keys): one partition is plenty.
        Item: {
          ...apiKeyKey(record.id),
          ...record,
          gsi1pk: API_KEYS_INDEX_PK,
          gsi1sk: `${record.createdAt}#${record.id}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const res = await this.t.doc.send(
      new GetCommand({ TableName: this.t.tableName, Key: apiKeyKey(id), ConsistentRead: true }),
    );
    return res.Item ? strip<ApiKeyRecord>(res.Item) : undefined;
  }

  async listApiKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    const items = await this.t.queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': API_KEYS_INDEX_PK, ...(tenant ? { ':tenant': tenant } : {}) },
      ...(tenant ? { FilterExpression: 'tenant = :tenant' } : {}),
    });
    return items.map((i) => strip<ApiKeyRecord>(i));
  }

  async deleteApiKey(id: string): Promise<boolean> {
    const res = await this.t.doc.send(
      new DeleteCommand({ TableName: this.t.tableName, Key: apiKeyKey(id), ReturnValues: 'ALL_OLD' }),
    );
    return res.Attributes !== undefined;
  }
}
