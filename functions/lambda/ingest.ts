import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeBus } from '../adapters/aws/event-bus.ts';
import { CachedSchemaCatalog } from '../core/catalog/cache.ts';
import { systemClock } from '../core/ports.ts';
import { makeIngestHandler } from '../handlers/ingest.ts';
import { authenticator, dynamoStore } from './clients.ts';
import { requireEnv } from './env.ts';
import { metrics } from './metrics.ts';

const store = dynamoStore();

/**
 * Lambda entry: HTTP API ingest routes -> EventBridge (duplicate check in DynamoDB, `data` checked
 * against the tenant's catalog schemas, read once a minute per instance). Wiring only.
 */
export const handler = makeIngestHandler({
  bus: new EventBridgeBus(new EventBridgeClient({}), requireEnv('RELAY_EVENT_BUS_NAME')),
  clock: systemClock,
  auth: authenticator(store),
  metrics,
  ledger: store,
  catalog: new CachedSchemaCatalog(store, systemClock),
});
