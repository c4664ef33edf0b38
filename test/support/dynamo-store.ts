import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoStore } from '../../functions/adapters/dynamodb/store.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../../functions/local/dynalite.ts';

/** The real DynamoDB adapter over an embedded dynalite with the relay's table (30-day retention). */
export async function startDynamoStore() {
  const db = await startDynalite();
  const client = localDynamoClient(db.endpoint);
  await ensureTable(client, 'relay');
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    store: new DynamoStore(doc, 'relay', 30),
    doc,
    close: async () => {
      client.destroy();
      await db.close();
    },
  };
}
