import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeBus } from '../adapters/aws/event-bus.ts';
import { NodeHttpSender } from '../adapters/http/sender.ts';
import { systemClock } from '../core/ports.ts';
import { makeDeliveryHandler } from '../handlers/delivery.ts';
import { config, dynamoStoreAndLimiter, ordered, targets, taskQueue } from './clients.ts';
import { requireEnv } from './env.ts';
import { metrics } from './metrics.ts';

/** Lambda entry: delivery queue (SQS event source) -> signed POSTs. Wiring only. */
export const handler = makeDeliveryHandler({
  ...dynamoStoreAndLimiter(),
  tasks: taskQueue(),
  // A redriven ordered delivery goes back to its subscription's pending list.
  ordered: ordered(),
  sender: new NodeHttpSender(targets),
  clock: systemClock,
  config,
  metrics,
  bus: new EventBridgeBus(new EventBridgeClient({}), requireEnv('RELAY_EVENT_BUS_NAME')),
});
