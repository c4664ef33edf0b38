import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../commons/logger.ts';
import { type DeliverDeps, deliverTask, type ReceivedTask } from '../core/deliver.ts';
import { type DeliveryTask, DeliveryTaskSchema } from '../core/delivery.ts';
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
          };
          return deliverTask(deps, received, loaded);
        }),
        processor,
        { throwOnFullBatchFailure: false },
      );
    } finally {
      deps.metrics?.flush();
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
