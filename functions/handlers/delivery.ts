import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../commons/logger.ts';
import { deliverBatch } from '../core/delivery/batch.ts';
import type { DeliverDeps, ReceivedTask } from '../core/delivery/deps.ts';
import { DeliveryTaskSchema } from '../core/delivery/model.ts';
import { loggingFailures } from './sqs.ts';

/**
 * The delivery queue's consumer: parse each record, let the core deliver the batch, and report
 * the records that must come back (or bounce on to the DLQ) as `batchItemFailures`. Waits never
 * come back this way: they are delayed copies, and their received message is acknowledged.
 */
export function makeDeliveryHandler(deps: DeliverDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const received: ReceivedTask[] = [];
    const malformed = new Set<string>();
    for (const record of event.Records) {
      const result = DeliveryTaskSchema.safeParse(safeJson(record.body));
      if (!result.success) {
        // Nothing to mark in the log: straight on toward the DLQ, where the alarm sees it.
        logger.error('malformed delivery task; sent on to the DLQ', { messageId: record.messageId });
        malformed.add(record.messageId);
        await deps.tasks.releaseToDeadLetter(record.receiptHandle).catch(() => undefined);
        continue;
      }
      received.push({
        task: result.data,
        messageId: record.messageId,
        receiptHandle: record.receiptHandle,
        receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
        ...(Number(record.attributes.SentTimestamp) > 0
          ? { sentAt: Number(record.attributes.SentTimestamp) }
          : {}),
      });
    }
    try {
      const outcomes = await deliverBatch(deps, received);
      const processor = new BatchProcessor(EventType.SQS);
      return await processPartialResponse(
        event,
        loggingFailures('delivery', async (record: SQSRecord) => {
          const outcome = outcomes.get(record.messageId);
          if (!outcome || malformed.has(record.messageId))
            throw new Error(`malformed delivery task ${record.messageId}`);
          if (outcome.status === 'rejected') throw outcome.reason;
          return outcome.value;
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
