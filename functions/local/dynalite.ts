import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '../adapters/dynamodb/table.ts';

/**
 * Embedded DynamoDB (dynalite: the DynamoDB wire protocol on LevelDB), on a loopback port.
 * In memory unless `path` is given. With `separateProcess` it runs in a child process, off the
 * relay's event loop.
 */
export async function startDynalite(path?: string, separateProcess = false): Promise<LocalDynamo> {
  if (separateProcess) return startDynaliteProcess(path);
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
    cpuMicros: async () => undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const LOCAL_AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0';

export interface LocalDynamo {
  endpoint: string;
  /** CPU time (µs) spent by a storage child process so far; undefined when in process. */
  cpuMicros(): Promise<number | undefined>;
  close(): Promise<void>;
}

async function startDynaliteProcess(path?: string): Promise<LocalDynamo> {
  const child = fork(fileURLToPath(new URL('./dynalite-process.ts', import.meta.url)), {
    env: { ...process.env, DYNALITE_PATH: path ?? '' },
    execArgv: ['--import', 'tsx', '--max-semi-space-size=64'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite process exited with code ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cpuMicros: () =>
      new Promise<number | undefined>((resolve) => {
        const onMessage = (m: { cpuMicros?: number }) => {
          if (m?.cpuMicros === undefined) return;
          child.off('message', onMessage);
          resolve(m.cpuMicros);
        };
        child.on('message', onMessage);
        child.send({ cpu: true });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

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
