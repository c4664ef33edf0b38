import type { DeliveryTask } from '../../core/delivery/model.ts';
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

  async park(task: DeliveryTask, delaySeconds: number): Promise<void> {
    this.queue.send(JSON.stringify(task), Math.max(0, Math.min(900, delaySeconds)));
  }

  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    this.queue.changeVisibility(receiptHandle, delaySeconds);
  }

  /** Visible again now; the queue's maxReceiveCount moves it to the DLQ, as SQS does. */
  async releaseToDeadLetter(receiptHandle: string): Promise<void> {
    this.queue.changeVisibility(receiptHandle, 0);
  }

  async startRedrive(): Promise<RedriveStatus> {
    return this.dlq.startMoveTask(this.queue);
  }

  async redriveStatus(): Promise<RedriveStatus | undefined> {
    return this.dlq.moveTaskStatus();
  }
}
