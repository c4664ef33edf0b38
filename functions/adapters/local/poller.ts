import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../../commons/logger.ts';
import { OverLimit } from './queue.ts';

/**
 * What the poller needs of a queue: both the standard LocalQueue and LocalFifoQueue have it. A
 * receive may throw {@link OverLimit} (only a queue with an in-flight limit does).
 */
export interface PolledQueue {
  readonly name: string;
  receive(max: number): SQSRecord[];
  delete(receiptHandle: string): void;
  /** Resolves when a receive may return something, or on `wake()`. */
  waitForMessages(): Promise<void>;
  /** Resolves when a receive may be below the in-flight limit, after `maxWaitMs` at the latest. */
  waitForRoom(maxWaitMs: number): Promise<void>;
  /** Releases every waiter (used on shutdown). */
  wake(): void;
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  /** Records per invocation (the event source mapping's BatchSize). */
  batchSize: number;
  /** Invocations at once (the event source mapping's MaximumConcurrency). */
  concurrency: number;
  /** Function name reported in the Lambda context. */
  functionName: string;
}

/** A receive refused with OverLimit is tried again after this, or sooner when a message leaves flight. */
const OVER_LIMIT_WAIT_MS = 50;
/** A queue stuck at its in-flight limit is reported at most this often. */
const OVER_LIMIT_WARN_EVERY_MS = 1_000;

/**
 * What Lambda's SQS event source mapping does, in process: receive a batch, invoke the handler
 * with an SQS event, delete the records that succeeded. Records listed in `batchItemFailures`
 * stay hidden for whatever visibility they have (the handler may have set a backoff delay); a
 * thrown error leaves the whole batch to come back after the visibility timeout. A receive
 * refused because the queue is at its in-flight limit is retried, as the mapping does.
 */
export class QueuePoller {
  private running = false;
  private loops: Promise<void>[] = [];
  private inFlight = 0;
  private invocations = 0;
  private busyMs = 0;
  private overLimitWaits = 0;
  private refusedSinceWarning = 0;
  private lastOverLimitWarning = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly queue: PolledQueue,
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

  /**
   * Handler invocations, their summed wall time (what Lambda would bill) and receives that waited
   * because the queue was at its in-flight limit.
   */
  stats(): { invocations: number; busyMs: number; overLimitWaits: number } {
    return { invocations: this.invocations, busyMs: this.busyMs, overLimitWaits: this.overLimitWaits };
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let records: SQSRecord[];
      try {
        records = this.queue.receive(this.opts.batchSize);
      } catch (err) {
        if (!(err instanceof OverLimit)) throw err;
        this.overLimited(err);
        await this.queue.waitForRoom(OVER_LIMIT_WAIT_MS);
        continue;
      }
      if (records.length === 0) {
        await this.queue.waitForMessages();
        continue;
      }
      this.inFlight++;
      try {
        const result = await this.invoke(records);
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

  private async invoke(records: SQSRecord[]): Promise<SQSBatchResponse | undefined> {
    this.invocations++;
    const started = performance.now();
    try {
      return await this.handler({ Records: records }, this.context());
    } finally {
      this.busyMs += performance.now() - started;
    }
  }

  /** Counts a refused receive; warns now and then, as a stuck queue refuses 20 times a second per loop. */
  private overLimited(err: OverLimit): void {
    this.overLimitWaits++;
    this.refusedSinceWarning++;
    const now = Date.now();
    if (now - this.lastOverLimitWarning < OVER_LIMIT_WARN_EVERY_MS) return;
    logger.warn('queue is at its in-flight limit; receives wait until messages are deleted', {
      queue: this.queue.name,
      error: err.message,
      refusedReceives: this.refusedSinceWarning,
    });
    this.lastOverLimitWarning = now;
    this.refusedSinceWarning = 0;
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
