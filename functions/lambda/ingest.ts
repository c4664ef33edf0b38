import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeBus } from '../adapters/aws/event-bus.ts';
import { SecretKeyAuthenticator } from '../adapters/aws/secret-auth.ts';
import { systemClock } from '../core/ports.ts';
import { makeIngestHandler } from '../handlers/ingest.ts';
import { dynamoStore } from './clients.ts';
import { requireEnv } from './env.ts';
import { metrics } from './metrics.ts';

/** Lambda entry: HTTP API ingest routes -> EventBridge (duplicate check in DynamoDB). Wiring only. */
export const handler = makeIngestHandler({
  bus: new EventBridgeBus(new EventBridgeClient({}), requireEnv('RELAY_EVENT_BUS_NAME')),
  clock: systemClock,
  auth: new SecretKeyAuthenticator(new SecretsManagerClient({}), requireEnv('RELAY_API_KEY_SECRET_ARN')),
  metrics,
  ledger: dynamoStore(),
});
