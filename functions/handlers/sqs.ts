import type { SQSRecord } from 'aws-lambda';
import { logger } from '../commons/logger.ts';
import { DeadLetterPending } from '../core/errors.ts';

/**
 * Wraps a queue record handler so that unexpected failures are logged before the batch
 * processor turns them into `batchItemFailures` (which it does silently). Tasks bound for the DLQ
 * are outcomes, logged where they are decided.
 */
export function loggingFailures<R>(queue: string, handle: (record: SQSRecord) => Promise<R>) {
  return async (record: SQSRecord): Promise<R> => {
    try {
      return await handle(record);
    } catch (err) {
      if (!(err instanceof DeadLetterPending)) {
        logger.error('record failed; the queue will bring it back', {
          queue,
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error: err as Error,
        });
      }
      throw err;
    }
  };
}
