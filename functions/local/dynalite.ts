import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '../adapters/dynamodb/table.ts';

/**
 * Embedded DynamoDB (dynalite: the DynamoDB wire protocol on LevelDB), on a loopback port.
 * In memory unless `path` is given.
 */
export async function startDynalite(path?: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(path ? { path } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const LOCAL_AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0';

/** A DynamoDB client for a local endpoint (dynalite ignores credentials, the SDK wants some). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
    // dynalite wants an Authorization header but never checks the signature: a constant one
    // spares the CPU of SigV4-signing every local request.
    signer: {
      sign: async (request) => {
        request.headers.authorization = LOCAL_AUTHORIZATION;
        request.headers['x-amz-date'] = '20260101T000000Z';
        return request;
      },
    },
  });
}

/** Creates the relay's table unless it exists (a data dir keeps it between runs). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  }
}
