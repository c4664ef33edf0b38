import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SecretKeyAuthenticator } from '../adapters/aws/secret-auth.ts';
import { SqsTaskQueue } from '../adapters/aws/task-queue.ts';
import { DynamoStore } from '../adapters/dynamodb/store.ts';
import { configFromEnv, type RelayConfig, targetPolicy } from '../core/config.ts';
import { type Authenticator, ChainAuthenticator, StoreKeyAuthenticator } from '../handlers/http.ts';
import { requireEnv } from './env.ts';

/**
 * The AWS side of the ports, built once per Lambda container (module scope) and shared by its
 * invocations. Each entry module takes only what its handler needs, so bundles stay small.
 */
// On AWS the SSRF defence is always on: only the operator's allow-list opens exceptions.
export const config: RelayConfig = { ...configFromEnv(), allowPrivateTargets: false };
export const targets = targetPolicy(config);

export function dynamoStore(): DynamoStore {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return new DynamoStore(doc, requireEnv('RELAY_TABLE_NAME'), config.retentionDays);
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
    new SecretKeyAuthenticator(new SecretsManagerClient({}), requireEnv('RELAY_ADMIN_KEY_SECRET_ARN')),
  ]);
}
