import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeBus } from '../adapters/aws/event-bus.ts';
import { NodeHttpSender } from '../adapters/http/sender.ts';
import { systemClock } from '../core/ports.ts';
import { makeOrderedHandler } from '../handlers/ordered.ts';
import { config, dynamoStoreAndLimiter, ordered, targets, taskQueue } from './clients.ts';
import { requireEnv } from './env.ts';
import { metrics } from './metrics.ts';

/** Lambda entry: ordered queue (SQS FIFO event source) -> ordered subscriptions drained in order. Wiring only. */
export const handler = makeOrderedHandler({
  ...dynamoStoreAndLimiter(),
  ordered: ordered(),
  tasks: taskQueue(),
  sender: new NodeHttpSender(targets),
  clock: systemClock,
  config,
  metrics,
  bus: new EventBridgeBus(new EventBridgeClient({}), requireEnv('RELAY_EVENT_BUS_NAME')),
});
