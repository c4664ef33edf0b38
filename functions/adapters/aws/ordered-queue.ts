import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type OrderedQueue, scopedKey } from '../../core/ports.ts';
import { backoffMs, forEachLimited } from './batching.ts';

/** SendMessageBatch takes at most 10 messages per request. */
const MAX_ENTRIES_PER_BATCH = 10;
/** SQS VisibilityTimeout is 0 to 12 hours, in whole seconds. */
const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_RETRIES = 3;
const BASE_DELAY_MS = 50;

/** A wake-up's body: which ordered subscription has pending deliveries. */
export const wakeBody = (tenant: string, subscriptionId: string) =>
  JSON.stringify({ tenant, subscriptionId });

/**
 * The ordered subscriptions' wake-ups on an SQS FIFO queue: MessageGroupId = tenant#subscription
 * (SQS then hands one subscription's messages to one consumer at a time, in order, and none
 * while one is in flight); MessageDeduplicationId = the caller's (the id the subscription's awake
 * flag keeps for its wake-up), so a retried send within SQS's 5-minute window adds nothing.
 */
export class SqsOrderedQueue implements OrderedQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async wake(
    wakes: ReadonlyArray<{ tenant: string; subscriptionId: string; dedupId: string }>,
  ): Promise<void> {
    const entries = wakes.map(
      (w, i): SendMessageBatchRequestEntry => ({
        Id: String(i),
        MessageBody: wakeBody(w.tenant, w.subscriptionId),
        MessageGroupId: scopedKey(w.tenant, w.subscriptionId),
        MessageDeduplicationId: w.dedupId,
      }),
    );
    const chunks: SendMessageBatchRequestEntry[][] = [];
    for (let i = 0; i < entries.length; i += MAX_ENTRIES_PER_BATCH)
      chunks.push(entries.slice(i, i + MAX_ENTRIES_PER_BATCH));
    await forEachLimited(chunks, 4, (chunk) => this.sendChunk(chunk));
  }

  async hold(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds))),
      }),
    );
  }

  /** One request, and re-sends of the entries SQS failed for its own reasons (throttling). */
  private async sendChunk(chunk: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await sleep(backoffMs(BASE_DELAY_MS, attempt));
      const res = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
      );
      const failed = res.Failed ?? [];
      if (failed.length === 0) return;
      const fatal = failed.find((f) => f.SenderFault);
      if (fatal || attempt >= MAX_RETRIES) {
        const f = fatal ?? failed[0];
        throw new Error(`SQS refused ${failed.length} wake-up(s): ${f?.Code}: ${f?.Message ?? ''}`);
      }
      const ids = new Set(failed.map((f) => f.Id));
      pending = pending.filter((e) => ids.has(e.Id));
    }
  }
}
