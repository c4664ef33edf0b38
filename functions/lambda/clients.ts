import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SqsOrderedQueue } from '../adapters/aws/ordered-queue.ts';
import { SecretKeyAuthenticator } from '../adapters/aws/secret-auth.ts';
import { SqsTaskQueue } from '../adapters/aws/task-queue.ts';
import { DynamoEndpointLimiter } from '../adapters/dynamodb/limits.ts';
import { DynamoOrderedStore } from '../adapters/dynamodb/ordering.ts';
import { DynamoStore } from '../adapters/dynamodb/store.ts';
import { configFromEnv, type RelayConfig, targetPolicy } from '../core/config.ts';
import {
  type Authenticator,
  ChainAuthenticator,
  PortalSessionAuthenticator,
  StoreKeyAuthenticator,
} from '../handlers/http.ts';
import { requireEnv } from './env.ts';

/**
 * The AWS side of the ports, built once per Lambda container (module scope) and shared by its
 * invocations. Each entry module takes only what its handler needs, so bundles stay small.
 */
// On AWS the SSRF defence is always on: only the operator's allow-list opens exceptions.
export const config: RelayConfig = { ...configFromEnv(), allowPrivateTargets: false };
export const targets = targetPolicy(config);

const documentClient = () =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });

export function dynamoStore(): DynamoStore {
  return new DynamoStore(documentClient(), requireEnv('RELAY_TABLE_NAME'), config.retentionDays);
}

/** The store and the per-endpoint limits, over one DynamoDB client. */
export function dynamoStoreAndLimiter(): { store: DynamoStore; limiter: DynamoEndpointLimiter } {
  const doc = documentClient();
  const table = requireEnv('RELAY_TABLE_NAME');
  return {
    store: new DynamoStore(doc, table, config.retentionDays),
    limiter: new DynamoEndpointLimiter(doc, table),
  };
}

/** Ordered subscriptions' pending lists (the table) and wake-ups (the FIFO queue). */
export function ordered(): { store: DynamoOrderedStore; queue: SqsOrderedQueue } {
  return {
    store: new DynamoOrderedStore(documentClient(), requireEnv('RELAY_TABLE_NAME')),
    queue: new SqsOrderedQueue(new SQSClient({}), requireEnv('RELAY_ORDERED_QUEUE_URL')),
  };
}

export function taskQueue(): SqsTaskQueue {
  return new SqsTaskQueue(new SQSClient({}), {
    queueUrl: requireEnv('RELAY_DELIVERY_QUEUE_URL'),
    deadLetterQueueArn: requireEnv('RELAY_DELIVERY_DLQ_ARN'),
  });
}

/** Tenant keys from the table (the hot path, cached), then the admin key from Secrets Manager. */
export function authenticator(store: DynamoStore): Authenticator {
  return new ChainAuthenticator([
    new StoreKeyAuthenticator(store),
    new PortalSessionAuthenticator(store),
    new SecretKeyAuthenticator(new SecretsManagerClient({}), requireEnv('RELAY_ADMIN_KEY_SECRET_ARN')),
  ]);
}
