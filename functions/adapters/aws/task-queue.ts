import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BatchResultErrorEntry,
  ChangeMessageVisibilityCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { logger } from '../../commons/logger.ts';
import type { DeliveryTask } from '../../core/delivery/model.ts';
import type { RedriveStatus, TaskQueue } from '../../core/ports.ts';
import { MAX_DELAY_SECONDS } from '../../core/delivery/scheduling.ts';
import { WriteCoalescer } from '../coalescer.ts';
import { backoffMs, chunkWithin, forEachLimited } from './batching.ts';

/** SendMessageBatch takes at most 10 messages per request. */
const MAX_ENTRIES_PER_BATCH = 10;
/** ...and at most 1 MiB of message payload per request. */
const MAX_BATCH_BYTES = 1024 * 1024;
/** Requests in flight at once: fanout of a busy batch may queue hundreds of tasks. */
const MAX_CONCURRENT_REQUESTS = 10;

/** SQS delays a message at most 15 minutes. */
const MAX_PARK_SECONDS = 900;

/** Move-task states in which SQS refuses to start another task on the same queue. */
const ACTIVE_MOVE_STATES = new Set(['RUNNING', 'CANCELLING']);

export interface SqsTaskQueueConfig {
  /** The delivery queue. */
  queueUrl: string;
  /** Its dead-letter queue, the source of a redrive. */
  deadLetterQueueArn: string;
  /** Re-sends of failed batch entries after the first request (default 3). */
  maxRetries?: number;
  /** Backoff before the first re-send, doubled for each further one (default 50 ms). */
  baseDelayMs?: number;
}

/**
 * The delivery queue and its DLQ on Amazon SQS. A delayed retry rides on the message's
 * visibility timeout; dead-lettering is left to the queue's redrive policy, so SQS records the
 * source queue and a redrive (this one, the console's or the CLI's) puts tasks back where they
 * came from.
 */
export class SqsTaskQueue implements TaskQueue {
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;

  private readonly pending = new WriteCoalescer<DeliveryTask>((tasks) => this.send(tasks), 3, 10);

  constructor(
    private readonly client: SQSClient,
    private readonly config: SqsTaskQueueConfig,
  ) {
    this.maxRetries = config.maxRetries ?? 3;
    this.baseDelayMs = config.baseDelayMs ?? 50;
  }

  /**
   * Sends every task as one message, in batches within SQS's count and size limits. Entries SQS
   * fails are re-sent with backoff, except sender faults (the request itself is wrong, so a
   * re-send fails the same way). Throws when any task is still not queued, or on an SDK error.
   */
  enqueue(tasks: readonly DeliveryTask[]): Promise<void> {
    // The records of a fanout batch enqueue separately and within milliseconds of each other:
    // gathered, their tasks fill SendMessageBatch requests instead of one request each.
    return this.pending.add(tasks);
  }

  private async send(tasks: readonly DeliveryTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const failures: BatchResultErrorEntry[] = [];
    await forEachLimited(
      chunkWithin(
        tasks.map((t) => JSON.stringify(t)),
        MAX_ENTRIES_PER_BATCH,
        MAX_BATCH_BYTES,
        (body) => Buffer.byteLength(body, 'utf8'),
      ),
      MAX_CONCURRENT_REQUESTS,
      async (chunk) => {
        failures.push(...(await this.sendChunk(chunk)));
      },
    );
    const [first] = failures;
    if (first) {
      throw new Error(
        `SQS did not queue ${failures.length} of ${tasks.length} delivery tasks; ` +
          `first error: ${first.Code}${first.SenderFault ? ' (sender fault)' : ''}: ${first.Message ?? 'no message'}`,
      );
    }
  }

  /** Hides a received task for `delaySeconds` (whole seconds, rounded up, within SQS's 12 h). */
  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    await this.changeVisibility(
      receiptHandle,
      Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds))),
    );
  }

  /** A delayed copy (SQS DelaySeconds, at most 900 s); the received message is acknowledged by the caller. */
  async park(task: DeliveryTask, delaySeconds: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.config.queueUrl,
        MessageBody: JSON.stringify(task),
        DelaySeconds: Math.max(0, Math.min(MAX_PARK_SECONDS, Math.ceil(delaySeconds))),
      }),
    );
  }

  /** Visible again at once; the queue's maxReceiveCount then moves the task to the DLQ. */
  async releaseToDeadLetter(receiptHandle: string): Promise<void> {
    await this.changeVisibility(receiptHandle, 0);
  }

  /**
   * Starts an SQS message move task out of the DLQ. It names no destination: SQS then sends each
   * message back to the queue it was dead-lettered from, which it knows because its own redrive
   * policy moved it there. When a move task is already under way, returns that task's progress.
   */
  async startRedrive(): Promise<RedriveStatus> {
    let handle: string | undefined;
    try {
      const res = await this.client.send(
        new StartMessageMoveTaskCommand({ SourceArn: this.config.deadLetterQueueArn }),
      );
      handle = res.TaskHandle;
    } catch (err) {
      if (!isActiveTaskConflict(err)) throw err;
      const latest = await this.latestMoveTask();
      // Only a task that is still active explains the refusal; otherwise the error is the news.
      if (latest?.Status && ACTIVE_MOVE_STATES.has(latest.Status)) return toRedriveStatus(latest);
      throw err;
    }
    return { status: 'RUNNING', moved: 0, total: await this.messagesToMove(handle) };
  }

  /** Progress of the latest move task out of the DLQ, or `undefined` if there was none. */
  async redriveStatus(): Promise<RedriveStatus | undefined> {
    const latest = await this.latestMoveTask();
    return latest ? toRedriveStatus(latest) : undefined;
  }

  /** How many messages the task just started is to move; 0 when SQS cannot tell (yet). */
  private async messagesToMove(handle: string | undefined): Promise<number> {
    if (handle === undefined) return 0;
    try {
      const latest = await this.latestMoveTask();
      return latest?.TaskHandle === handle ? (latest.ApproximateNumberOfMessagesToMove ?? 0) : 0;
    } catch (err) {
      // The task is running; failing the call now would invite a second start.
      logger.warn('redrive started, but its size could not be read', { error: String(err) });
      return 0;
    }
  }

  private async latestMoveTask(): Promise<ListMessageMoveTasksResultEntry | undefined> {
    const res = await this.client.send(
      new ListMessageMoveTasksCommand({ SourceArn: this.config.deadLetterQueueArn, MaxResults: 1 }),
    );
    return res.Results?.[0];
  }

  private async changeVisibility(receiptHandle: string, visibilityTimeout: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.config.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: visibilityTimeout,
      }),
    );
  }

  /** One batch, re-sending the entries SQS failed; returns the failures that remain. */
  private async sendChunk(chunk: readonly string[]): Promise<BatchResultErrorEntry[]> {
    // Ids only need to be unique within a request; a re-send keeps them, so a failure always
    // names the same task.
    let pending: SendMessageBatchRequestEntry[] = chunk.map((body, i) => ({
      Id: String(i),
      MessageBody: body,
    }));
    const final: BatchResultErrorEntry[] = [];
    let last: BatchResultErrorEntry[] = [];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > this.maxRetries) return [...final, ...last];
      if (attempt > 0) await sleep(backoffMs(this.baseDelayMs, attempt));
      const res = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.config.queueUrl, Entries: pending }),
      );
      const sent = new Set(res.Successful?.map((s) => s.Id));
      const failed = new Map(res.Failed?.map((f) => [f.Id, f]));
      const retry: SendMessageBatchRequestEntry[] = [];
      last = [];
      for (const entry of pending) {
        if (sent.has(entry.Id)) continue;
        // An entry SQS reports neither way was not confirmed queued: treat it as a failure.
        const failure = failed.get(entry.Id) ?? {
          Id: entry.Id,
          Code: 'Unconfirmed',
          Message: 'SQS reported the entry neither sent nor failed',
          SenderFault: false,
        };
        if (failure.SenderFault) {
          final.push(failure);
        } else {
          retry.push(entry);
          last.push(failure);
        }
      }
      pending = retry;
    }
    return final;
  }
}

/**
 * Whether StartMessageMoveTask refused because a task is already active on the queue. Reports
 * disagree on the error SQS names (UnsupportedOperation, or InvalidParameterValue with "There is
 * already a task running"), so the message counts as well as the name; the caller then checks
 * that a task really is active.
 */
function isActiveTaskConflict(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'UnsupportedOperation' || /already|active\b.*\btask/i.test(err.message);
}

function toRedriveStatus(task: ListMessageMoveTasksResultEntry): RedriveStatus {
  return {
    status: toRedriveState(task.Status),
    moved: task.ApproximateNumberOfMessagesMoved ?? 0,
    total: task.ApproximateNumberOfMessagesToMove ?? 0,
  };
}

function toRedriveState(status: string | undefined): RedriveStatus['status'] {
  switch (status) {
    case 'RUNNING':
    case 'COMPLETED':
    case 'CANCELLED':
    case 'FAILED':
      return status;
    // Being cancelled: no further messages will move.
    case 'CANCELLING':
      return 'CANCELLED';
    // A state this adapter does not know is not claimed as progress.
    default:
      return 'FAILED';
  }
}
