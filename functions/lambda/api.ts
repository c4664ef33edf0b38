import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeBus } from '../adapters/aws/event-bus.ts';
import { systemClock } from '../core/ports.ts';
import { makeApiHandler } from '../handlers/api.ts';
import { apiKeyAuth, dynamoStore, taskQueue } from './clients.ts';
import { requireEnv } from './env.ts';

/** Lambda entry: the management API (HTTP API `$default` and management routes). Wiring only. */
export const handler = makeApiHandler({
  store: dynamoStore(),
  bus: new EventBridgeBus(new EventBridgeClient({}), requireEnv('RELAY_EVENT_BUS_NAME')),
  tasks: taskQueue(),
  clock: systemClock,
  auth: apiKeyAuth(),
});
