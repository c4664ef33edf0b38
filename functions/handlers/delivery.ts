import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../commons/logger.ts';
import { type DeliverDeps, deliverTask, type ReceivedTask } from '../core/deliver.ts';
import { type DeliveryTask, DeliveryTaskSchema } from '../core/delivery/model.ts';
import { loggingFailures } from './sqs.ts';

/**
 * The delivery queue's consumer: attempt each task, report the ones to retry later as
 * `batchItemFailures` (their visibility already carries the backoff delay).
 */
export function makeDeliveryHandler(deps: DeliverDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const parsed = new Map<string, DeliveryTask>();
    for (const record of event.Records) {
      const result = DeliveryTaskSchema.safeParse(safeJson(record.body));
      if (result.success) parsed.set(record.messageId, result.data);
      else logger.error('malformed delivery task; left for the DLQ', { messageId: record.messageId });
    }
    // One read for the whole batch: deliveries, events and subscriptions together.
    const loaded = await deps.store.loadForTasks([...parsed.values()]);
    // At most two attempts at once per endpoint: when one times out, the circuit opens and the
    // endpoint's other tasks in the batch are parked instead of hanging too.
    const lane = lanes(PER_SUBSCRIPTION_CONCURRENCY);
    const processor = new BatchProcessor(EventType.SQS);
    try {
      return await processPartialResponse(
        event,
        loggingFailures('delivery', async (record: SQSRecord) => {
          const task = parsed.get(record.messageId);
          if (!task) throw new Error(`malformed delivery task ${record.messageId}`);
          const received: ReceivedTask = {
            task,
            messageId: record.messageId,
            receiptHandle: record.receiptHandle,
            receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
            ...(Number(record.attributes.SentTimestamp) > 0
              ? { sentAt: Number(record.attributes.SentTimestamp) }
              : {}),
          };
          return lane(`${task.tenant}#${task.subscriptionId}`, () => deliverTask(deps, received, loaded));
        }),
        processor,
        { throwOnFullBatchFailure: false },
      );
    } finally {
      deps.metrics?.flush();
    }
  };
}

/** Attempts one endpoint may have in flight within an invocation. */
export const PER_SUBSCRIPTION_CONCURRENCY = 2;

/** Runs functions at most `limit` at a time per key, in arrival order. */
function lanes(limit: number) {
  const state = new Map<string, { active: number; waiting: Array<() => void> }>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const lane = state.get(key) ?? { active: 0, waiting: [] };
    state.set(key, lane);
    if (lane.active >= limit) await new Promise<void>((resolve) => lane.waiting.push(resolve));
    lane.active++;
    try {
      return await fn();
    } finally {
      lane.active--;
      lane.waiting.shift()?.();
    }
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
