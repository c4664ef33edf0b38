import { createHash, randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import type { RedriveStatus } from '../../core/ports.ts';

interface Message {
  id: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receipt?: string;
  timer?: NodeJS.Timeout;
  /** The queue a dead-lettered message came from: where a redrive sends it back. */
  sourceQueue?: LocalQueue;
}

export interface LocalQueueOptions {
  /** Seconds a received message stays hidden unless deleted or changed (SQS VisibilityTimeout). */
  visibilityTimeoutSeconds: number;
  /** After this many receives the next receive moves the message to the DLQ (SQS redrive policy). */
  maxReceiveCount?: number;
  deadLetterQueue?: LocalQueue;
}

export class ReceiptHandleIsInvalid extends Error {
  override name = 'ReceiptHandleIsInvalid';
}

/**
 * An in-process queue with the SQS semantics the relay relies on: at-least-once receive,
 * visibility timeout, ChangeMessageVisibility, ApproximateReceiveCount, a redrive policy that moves
 * a message to its DLQ once its receives exceed maxReceiveCount, and a move task that puts a DLQ's
 * messages back on their source queue with a fresh receive count (StartMessageMoveTask).
 */
export class LocalQueue {
  private readonly messages = new Map<string, Message>();
  private ready: string[] = [];
  private readyHead = 0;
  private waiters: Array<() => void> = [];
  private moveTask?: RedriveStatus;

  constructor(
    readonly name: string,
    private readonly opts: LocalQueueOptions,
  ) {}

  get arn(): string {
    return `arn:aws:sqs:local:000000000000:${this.name}`;
  }

  send(body: string, delaySeconds = 0, sourceQueue?: LocalQueue): string {
    const msg: Message = {
      id: randomUUID(),
      body,
      sentAt: Date.now(),
      receiveCount: 0,
      ...(sourceQueue ? { sourceQueue } : {}),
    };
    this.messages.set(msg.id, msg);
    this.hideFor(msg, delaySeconds);
    return msg.id;
  }

  /** Receives up to `max` visible messages as SQS records, hiding each for the visibility timeout. */
  receive(max: number): SQSRecord[] {
    const out: SQSRecord[] = [];
    while (out.length < max && this.readyHead < this.ready.length) {
      const id = this.ready[this.readyHead++] as string;
      const msg = this.messages.get(id);
      if (!msg || msg.timer || msg.receipt) continue;
      if (
        this.opts.maxReceiveCount !== undefined &&
        msg.receiveCount >= this.opts.maxReceiveCount &&
        this.opts.deadLetterQueue
      ) {
        this.messages.delete(id);
        this.opts.deadLetterQueue.send(msg.body, 0, this);
        continue;
      }
      msg.receiveCount++;
      msg.firstReceiveAt ??= Date.now();
      msg.receipt = `${msg.id}#${msg.receiveCount}#${randomUUID()}`;
      this.hideFor(msg, this.opts.visibilityTimeoutSeconds);
      out.push(this.toRecord(msg));
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    return out;
  }

  delete(receiptHandle: string): void {
    const msg = this.byReceipt(receiptHandle);
    clearTimeout(msg.timer);
    this.messages.delete(msg.id);
  }

  changeVisibility(receiptHandle: string, seconds: number): void {
    this.hideFor(this.byReceipt(receiptHandle), seconds);
  }

  /** Resolves when a message may have become visible (or `wake()` is called). */
  waitForMessages(): Promise<void> {
    if (this.readyHead < this.ready.length) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Releases everything waiting in {@link waitForMessages} (used on shutdown). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Visible, in flight (received, not deleted) and delayed counts, as SQS reports them. */
  depth(): { visible: number; inFlight: number; delayed: number; total: number } {
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of this.messages.values()) {
      if (m.receipt) inFlight++;
      else if (m.timer) delayed++;
      else visible++;
    }
    return { visible, inFlight, delayed, total: this.messages.size };
  }

  /**
   * Moves every message of this DLQ back to the queue it came from (or `fallback`), the local
   * StartMessageMoveTask. Moved messages are new messages: new id, receive count 0. One task at
   * a time; starting while one runs returns the running one.
   */
  startMoveTask(fallback?: LocalQueue): RedriveStatus {
    if (this.moveTask?.status === 'RUNNING') return { ...this.moveTask };
    const ids = [...this.messages.keys()];
    const task: RedriveStatus = { status: 'RUNNING', moved: 0, total: ids.length };
    this.moveTask = task;
    const step = () => {
      for (const id of ids.splice(0, 100)) {
        const msg = this.messages.get(id);
        if (!msg || msg.receipt) continue;
        const destination = msg.sourceQueue ?? fallback;
        if (!destination) continue;
        clearTimeout(msg.timer);
        this.messages.delete(id);
        destination.send(msg.body);
        task.moved++;
      }
      if (ids.length > 0) setImmediate(step);
      else task.status = 'COMPLETED';
    };
    step();
    return { ...task };
  }

  moveTaskStatus(): RedriveStatus | undefined {
    return this.moveTask ? { ...this.moveTask } : undefined;
  }

  /** Every message body with its receive count (tests and persistence). */
  snapshot(): Array<{ body: string; receiveCount: number; source?: string }> {
    return [...this.messages.values()].map((m) => ({
      body: m.body,
      receiveCount: m.receiveCount,
      ...(m.sourceQueue ? { source: m.sourceQueue.name } : {}),
    }));
  }

  /** Drops every timer so the process can exit. */
  close(): void {
    for (const m of this.messages.values()) clearTimeout(m.timer);
    this.wake();
  }

  private byReceipt(receiptHandle: string): Message {
    const id = receiptHandle.split('#')[0] ?? '';
    const msg = this.messages.get(id);
    if (!msg || msg.receipt !== receiptHandle) {
      throw new ReceiptHandleIsInvalid(`receipt handle is no longer valid for ${this.name}`);
    }
    return msg;
  }

  /** Hides a message for `seconds`; 0 makes it visible now. Invisible messages keep a timer. */
  private hideFor(msg: Message, seconds: number): void {
    clearTimeout(msg.timer);
    msg.timer = undefined;
    if (seconds <= 0) {
      this.makeVisible(msg);
      return;
    }
    msg.timer = setTimeout(() => {
      msg.timer = undefined;
      if (this.messages.get(msg.id) === msg) this.makeVisible(msg);
    }, seconds * 1000);
  }

  private makeVisible(msg: Message): void {
    msg.receipt = undefined;
    this.ready.push(msg.id);
    const waiter = this.waiters.shift();
    waiter?.();
  }

  private toRecord(msg: Message): SQSRecord {
    return {
      messageId: msg.id,
      receiptHandle: msg.receipt as string,
      body: msg.body,
      attributes: {
        ApproximateReceiveCount: String(msg.receiveCount),
        SentTimestamp: String(msg.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(msg.firstReceiveAt ?? Date.now()),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(msg.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'local',
    };
  }
}
