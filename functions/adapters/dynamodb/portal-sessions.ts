import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PortalSession, PortalSessionStore } from '../../core/portal/session.ts';
import { strip, type TableClient } from './client.ts';
import { portalSessionKey } from './table.ts';

/** Portal sessions (their token hashes), each in its own partition, gone by TTL when they expire. */
export class DynamoPortalSessionStore implements PortalSessionStore {
  constructor(private readonly t: TableClient) {}

  async putPortalSession(session: PortalSession): Promise<void> {
    await this.t.doc.send(
      new PutCommand({
        TableName: this.t.tableName,
        Item: {
          ...portalSessionKey(session.id),
          ...session,
          ttl: Math.ceil(Date.parse(session.expiresAt) / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getPortalSession(id: string): Promise<PortalSession | undefined> {
    const res = await this.t.doc.send(
      new GetCommand({ TableName: this.t.tableName, Key: portalSessionKey(id), ConsistentRead: true }),
    );
    return res.Item ? strip<PortalSession>(res.Item) : undefined;
  }

  async deletePortalSession(id: string): Promise<boolean> {
    const res = await this.t.doc.send(
      new DeleteCommand({ TableName: this.t.tableName, Key: portalSessionKey(id), ReturnValues: 'ALL_OLD' }),
    );
    return res.Attributes !== undefined;
  }
}
