import type { DeliveryTask } from '../../core/delivery/model.ts';
import type { RedriveStatus, TaskQueue } from '../../core/ports.ts';
import type { LocalQueue } from './queue.ts';

/** A task's message group: its endpoint, so fair queues balance endpoints against each other. */
const groupOf = (task: DeliveryTask) => `${task.tenant}#${task.subscriptionId}`;

/** The delivery queue and its DLQ, in process. Same contract as the SQS adapter. */
export class LocalTaskQueue implements TaskQueue {
  constructor(
    private readonly queue: LocalQueue,
    private readonly dlq: LocalQueue,
  ) {}

  async enqueue(tasks: readonly DeliveryTask[]): Promise<void> {
    for (const t of tasks) this.queue.send(JSON.stringify(t), 0, undefined, groupOf(t));
  }

  /**
   * A delayed copy in the task's group. Fractions of a second are kept (SQS rounds up to whole
   * seconds), so local retry schedules in milliseconds work; a delay over 900 s is refused by the
   * queue, not shortened: the core splits longer waits into legs.
   */
  async sendDelayed(task: DeliveryTask, delaySeconds: number): Promise<void> {
    this.queue.send(JSON.stringify(task), delaySeconds, undefined, groupOf(task));
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

  async deadLetterCount(): Promise<number> {
    return this.dlq.depth().total;
  }
}
