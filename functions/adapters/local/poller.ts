import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../../commons/logger.ts';
import type { LocalQueue } from './queue.ts';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  /** Records per invocation (the event source mapping's BatchSize). */
  batchSize: number;
  /** Invocations at once (the event source mapping's MaximumConcurrency). */
  concurrency: number;
  /** Function name reported in the Lambda context. */
  functionName: string;
}

/**
 * What Lambda's SQS event source mapping does, in process: receive a batch, invoke the handler
 * with an SQS event, delete the records that succeeded. Records listed in `batchItemFailures`
 * stay hidden for whatever visibility they have (the handler may have set a backoff delay); a
 * thrown error leaves the whole batch to come back after the visibility timeout.
 */
export class QueuePoller {
  private running = false;
  private loops: Promise<void>[] = [];
  private inFlight = 0;

  constructor(
    private readonly queue: LocalQueue,
    private readonly handler: SqsHandler,
    private readonly opts: PollerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.opts.concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.wake();
    await Promise.all(this.loops);
  }

  /** True while an invocation is under way. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const records = this.queue.receive(this.opts.batchSize);
      if (records.length === 0) {
        await this.queue.waitForMessages();
        continue;
      }
      this.inFlight++;
      try {
        const result = await this.handler({ Records: records }, this.context());
        const failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        for (const r of records) {
          if (failed.has(r.messageId)) continue;
          try {
            this.queue.delete(r.receiptHandle);
          } catch (err) {
            logger.warn('could not delete a processed message; it will be received again', {
              queue: this.queue.name,
              messageId: r.messageId,
              error: (err as Error).message,
            });
          }
        }
      } catch (err) {
        logger.error('handler failed; the batch returns after its visibility timeout', {
          queue: this.queue.name,
          error: err as Error,
        });
      } finally {
        this.inFlight--;
      }
    }
  }

  private context(): Context {
    const name = this.opts.functionName;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
      memoryLimitInMB: '256',
      awsRequestId: crypto.randomUUID(),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => 60_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}
