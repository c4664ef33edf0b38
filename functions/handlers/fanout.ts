import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { RelayEventSchema } from '../core/event.ts';
import { fanout } from '../core/fanout.ts';
import type { EventStore, SubscriptionStore, TaskQueue } from '../core/ports.ts';

export interface FanoutDeps {
  store: EventStore & SubscriptionStore;
  tasks: TaskQueue;
}

/** An EventBridge event as a rule delivers it to SQS, with our event as `detail`. */
const BusMessageSchema = EventBridgeSchema.extend({ detail: RelayEventSchema });

/**
 * The fanout queue's consumer: each record is one bus event; each becomes one delivery task per
 * matching subscription. A record that fails comes back (SQS visibility) and, after the queue's
 * maxReceiveCount, lands in the fanout DLQ; the others are not held up.
 */
export function makeFanoutHandler(deps: FanoutDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    // A processor per invocation: the local runtime runs several invocations at once.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const message = BusMessageSchema.parse(JSON.parse(record.body));
        await fanout(deps, [message.detail]);
      },
      processor,
      { throwOnFullBatchFailure: false },
    );
  };
}
