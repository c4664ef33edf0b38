import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BatchResultErrorEntry,
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { logger } from '../../commons/logger.ts';
import type { DeliveryTask } from '../../core/delivery/model.ts';
import { MAX_QUEUE_DELAY_SECONDS } from '../../core/delivery/scheduling.ts';
import { type RedriveStatus, scopedKey, type TaskQueue } from '../../core/ports.ts';
import { WriteCoalescer } from '../coalescer.ts';
import { backoffMs, chunkWithin, forEachLimited } from './batching.ts';

/** SendMessageBatch takes at most 10 messages per request. */
const MAX_ENTRIES_PER_BATCH = 10;
/** ...and at most 1 MiB of message payload per request. */
const MAX_BATCH_BYTES = 1024 * 1024;
/** Requests in flight at once: fanout of a busy batch may queue hundreds of tasks. */
const MAX_CONCURRENT_REQUESTS = 10;
/** How long the first message of a request waits for company (the coalescer's window). */
const COALESCE_WINDOW_MS = 3;

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
 * One message on its way to the queue, and what became of it: the send records the outcome on
 * it, so each caller of a shared request learns about its own messages only.
 */
interface Outgoing {
  readonly task: DeliveryTask;
  /** SQS DelaySeconds (whole seconds); absent for a new task. */
  readonly delaySeconds?: number;
  /** SQS confirmed it queued. */
  queued?: boolean;
  /** Its entry's last failure, when SQS answered but did not queue it. */
  failure?: BatchResultErrorEntry;
  /** The error of the request that was to carry it (an SDK or network error). */
  error?: unknown;
}

/**
 * The delivery queue and its DLQ on Amazon SQS, a standard queue. Every message carries
 * MessageGroupId = `tenant#subscription`, which makes it a fair queue: a flooded or slow
 * endpoint's backlog does not hold up the quiet endpoints' tasks. A wait (retry backoff, open
 * circuit, Retry-After, rate limit) never rides on a received message's visibility: it is a new
 * copy of the task, delayed by SQS DelaySeconds (at most 15 minutes), and the caller then
 * acknowledges the received message. New tasks and delayed copies sent within a few
 * milliseconds of each other share SendMessageBatch requests. Dead-lettering is left to the
 * queue's redrive policy, so SQS records the source queue and a redrive (this one, the
 * console's or the CLI's) puts tasks back where they came from.
 */
export class SqsTaskQueue implements TaskQueue {
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;

  // The records of a batch enqueue and send their delayed copies separately, each in its own
  // turn of the event loop and within milliseconds of each other: gathered, they fill
  // SendMessageBatch requests instead of costing one request each.
  private readonly pending = new WriteCoalescer<Outgoing>(
    (items) => this.send(items),
    COALESCE_WINDOW_MS,
    MAX_ENTRIES_PER_BATCH,
  );

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
   * re-send fails the same way). Throws when any of these tasks is still not queued (with the
   * SDK's error when a request failed as a whole).
   */
  async enqueue(tasks: readonly DeliveryTask[]): Promise<void> {
    const out: Outgoing[] = tasks.map((task) => ({ task }));
    await this.pending.add(out);
    const unsent = out.filter((o) => !o.queued);
    if (unsent.length > 0) throw notQueued(unsent, `${unsent.length} of ${tasks.length} delivery tasks`);
  }

  /**
   * A copy of the task, delayed `delaySeconds` (rounded up to whole seconds; 0 to 900, anything
   * else is refused, never clamped): it shares requests with the other sends of the moment, and
   * is re-sent like an enqueued task. Resolves once SQS confirmed this copy queued; rejects when
   * it did not, whatever became of the other copies of the same request.
   */
  async sendDelayed(task: DeliveryTask, delaySeconds: number): Promise<void> {
    if (!(delaySeconds >= 0 && delaySeconds <= MAX_QUEUE_DELAY_SECONDS)) {
      throw new Error(
        `a delayed copy waits 0 to ${MAX_QUEUE_DELAY_SECONDS} seconds, not ${delaySeconds} ` +
          `(delivery ${task.deliveryId}); a longer wait is a chain of copies`,
      );
    }
    const out: Outgoing = { task, delaySeconds: Math.ceil(delaySeconds) };
    await this.pending.add([out]);
    if (!out.queued) {
      throw notQueued([out], `the copy of delivery ${task.deliveryId} delayed ${out.delaySeconds} s`);
    }
  }

  /** Sends the messages, recording on each whether it was queued; throws nothing of SQS's. */
  private async send(items: readonly Outgoing[]): Promise<void> {
    try {
      await forEachLimited(
        chunkWithin(
          items.map((item) => ({ item, body: JSON.stringify(item.task) })),
          MAX_ENTRIES_PER_BATCH,
          MAX_BATCH_BYTES,
          (m) => Buffer.byteLength(m.body, 'utf8'),
        ),
        MAX_CONCURRENT_REQUESTS,
        async (chunk) => {
          try {
            await this.sendChunk(chunk);
          } catch (err) {
            for (const { item } of chunk) if (!item.queued) item.error = err;
            throw err;
          }
        },
      );
    } catch (err) {
      // The first failed request stops further ones: their messages were not sent because of it.
      for (const item of items) if (!item.queued && !item.failure) item.error ??= err;
    }
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

  /** The DLQ's ApproximateNumberOfMessages (visible), as the SQS console shows it. */
  async deadLetterCount(): Promise<number> {
    const res = await this.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrlOfArn(this.config.deadLetterQueueArn),
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
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

  /** One batch, re-sending the entries SQS failed; records each message's outcome on it. */
  private async sendChunk(chunk: readonly { item: Outgoing; body: string }[]): Promise<void> {
    // Ids only need to be unique within a request; a re-send keeps them, so a failure always
    // names the same message.
    const byId = new Map(chunk.map(({ item }, i) => [String(i), item]));
    let pending: SendMessageBatchRequestEntry[] = chunk.map(({ item, body }, i) => ({
      Id: String(i),
      MessageBody: body,
      MessageGroupId: scopedKey(item.task.tenant, item.task.subscriptionId),
      ...(item.delaySeconds !== undefined && { DelaySeconds: item.delaySeconds }),
    }));
    for (let attempt = 0; pending.length > 0 && attempt <= this.maxRetries; attempt++) {
      if (attempt > 0) await sleep(backoffMs(this.baseDelayMs, attempt));
      const res = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.config.queueUrl, Entries: pending }),
      );
      const sent = new Set(res.Successful?.map((s) => s.Id));
      const failed = new Map(res.Failed?.map((f) => [f.Id, f]));
      const retry: SendMessageBatchRequestEntry[] = [];
      for (const entry of pending) {
        const item = byId.get(entry.Id ?? '');
        if (!item) continue;
        if (sent.has(entry.Id)) {
          item.queued = true;
          item.failure = undefined;
          continue;
        }
        // An entry SQS reports neither way was not confirmed queued: treat it as a failure.
        item.failure = failed.get(entry.Id) ?? {
          Id: entry.Id,
          Code: 'Unconfirmed',
          Message: 'SQS reported the entry neither sent nor failed',
          SenderFault: false,
        };
        if (!item.failure.SenderFault) retry.push(entry);
      }
      pending = retry;
    }
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

/**
 * Why messages were not queued: the error of the request that was to carry them, as the SDK
 * threw it, or else SQS's per-entry failure.
 */
function notQueued(unsent: readonly Outgoing[], what: string): unknown {
  const withError = unsent.find((o) => o.error !== undefined);
  if (withError) return withError.error;
  const first = unsent.find((o) => o.failure)?.failure;
  const why = first
    ? `${first.Code}${first.SenderFault ? ' (sender fault)' : ''}: ${first.Message ?? 'no message'}`
    : 'unknown';
  return new Error(`SQS did not queue ${what}; first error: ${why}`);
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

/** `arn:aws:sqs:{region}:{account}:{name}` -> its queue URL (SQS's documented form). */
export function queueUrlOfArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
