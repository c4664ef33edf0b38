import { type OrderedQueue, scopedKey } from '../../core/ports.ts';
import { wakeBody } from '../aws/ordered-queue.ts';
import type { LocalFifoQueue } from './fifo-queue.ts';

/** The ordered subscriptions' wake-ups on the in-process FIFO queue. Same contract as the SQS adapter. */
export class LocalOrderedQueue implements OrderedQueue {
  constructor(private readonly queue: LocalFifoQueue) {}

  async wake(
    wakes: ReadonlyArray<{ tenant: string; subscriptionId: string; dedupId: string }>,
  ): Promise<void> {
    for (const w of wakes)
      this.queue.send(wakeBody(w.tenant, w.subscriptionId), scopedKey(w.tenant, w.subscriptionId), w.dedupId);
  }

  /** Fractions of a second are kept (SQS rounds up), so local retry schedules in milliseconds work. */
  async hold(receiptHandle: string, seconds: number): Promise<void> {
    this.queue.changeVisibility(receiptHandle, Math.max(0, seconds));
  }
}
