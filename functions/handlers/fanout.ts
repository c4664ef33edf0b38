import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { BusDetailSchema, eventsOfDetail } from '../core/event.ts';
import { type FanoutDeps, type FanoutStore, fanout } from '../core/fanout.ts';
import type { Subscription } from '../core/subscription.ts';
import '../core/zod.ts';
import { loggingFailures } from './sqs.ts';

export type { FanoutDeps };

/**
 * An EventBridge event as a rule delivers it to SQS, with our event as `detail`. (The same shape
 * as Powertools parser's EventBridgeSchema, written in zod/mini: the parser's schemas use
 * classic zod, which alone would put the bundle past 400 KB.)
 */
const BusMessageSchema = z.object({
  version: z.string(),
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  /** EventBridge marks events replayed from an archive with the replay's name. */
  'replay-name': z.optional(z.string()),
  /** One event, or a pack of a batch's events (core/event.ts, packForBus). */
  detail: BusDetailSchema,
});

/**
 * The fanout queue's consumer: each record is one bus entry (an event, or a pack of a batch's
 * events); each event becomes one delivery task per matching subscription. A record that fails
 * comes back (SQS visibility), all its events with it (fanning out again makes the same delivery
 * ids), and after the queue's maxReceiveCount lands in the fanout DLQ; the others are not held up.
 */
export function makeFanoutHandler(deps: FanoutDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    // A processor per invocation: the local runtime runs several invocations at once.
    const processor = new BatchProcessor(EventType.SQS);
    // Records run in parallel; they share one subscription read per tenant for the batch.
    const lists = new Map<string, Promise<Subscription[]>>();
    const store: FanoutStore = {
      putEvents: (events, opts) => deps.store.putEvents(events, opts),
      listSubscriptions: (tenant) => {
        let list = lists.get(tenant);
        if (!list) {
          list = deps.store.listSubscriptions(tenant);
          list.catch(() => lists.delete(tenant));
          lists.set(tenant, list);
        }
        return list;
      },
    };
    return processPartialResponse(
      event,
      loggingFailures('fanout', async (record: SQSRecord) => {
        const message = BusMessageSchema.parse(JSON.parse(record.body));
        const replay = message['replay-name'];
        await fanout({ ...deps, store }, eventsOfDetail(message.detail), replay ? { replay } : {});
      }),
      processor,
      { throwOnFullBatchFailure: false },
    );
  };
}
