import type { DeliveryTask } from '../../core/delivery.ts';
import type { RedriveStatus, TaskQueue } from '../../core/ports.ts';
import type { LocalQueue } from './queue.ts';

/** The delivery queue and its DLQ, in process. Same contract as the SQS adapter. */
export class LocalTaskQueue implements TaskQueue {
  constructor(
    private readonly queue: LocalQueue,
    private readonly dlq: LocalQueue,
  ) {}

  async enqueue(tasks: readonly DeliveryTask[]): Promise<void> {
    for (const t of tasks) this.queue.send(JSON.stringify(t));
  }

  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    this.queue.changeVisibility(receiptHandle, delaySeconds);
  }

  /** A copy goes to the DLQ marked with its source; the consumer then deletes the original. */
  async deadLetter(_receiptHandle: string, task: DeliveryTask): Promise<void> {
    this.dlq.send(JSON.stringify(task), 0, this.queue);
  }

  async startRedrive(): Promise<RedriveStatus> {
    return this.dlq.startMoveTask(this.queue);
  }
}
