import { createHash, randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import type { RedriveStatus } from '../../core/ports.ts';
import { checkRange, InvalidParameterValue, ReceiptHandleIsInvalid } from './queue.ts';

/**
 * A message is visible (no `receipt`) or in flight (`receipt` set; hidden until deleted, changed
 * or expired). There is no delayed state: FIFO queues have no per-message DelaySeconds.
 */
interface Message {
  id: string;
  body: string;
  groupId: string;
  deduplicationId: string;
  /** Its place in the queue's send order: the SequenceNumber, and how groups are ordered. */
  seq: number;
  sentAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receipt?: string;
  timer?: NodeJS.Timeout;
  /** The queue a dead-lettered message came from: where a redrive sends it back. */
  sourceQueue?: LocalFifoQueue;
}

/**
 * One message group: its messages in send order, visible or in flight. A message never moves
 * within it, so one made visible again is still ahead of the later ones. The group exists while
 * it holds a message.
 */
interface Group {
  id: string;
  messages: Message[];
  /** Messages of the group in flight; while any is, none of the group is received. */
  inFlight: number;
}

export interface LocalFifoQueueOptions {
  /** Seconds a received message stays hidden unless deleted or changed (SQS VisibilityTimeout). */
  visibilityTimeoutSeconds: number;
  /** After this many receives the next receive moves the message to the DLQ (SQS redrive policy). */
  maxReceiveCount?: number;
  /** A FIFO queue's DLQ is a FIFO queue too. */
  deadLetterQueue?: LocalFifoQueue;
  /** How long a deduplication id keeps a second send from delivering anything; SQS's 5 minutes. */
  deduplicationWindowMs?: number;
}

/** SQS's deduplication interval. */
const DEFAULT_DEDUPLICATION_WINDOW_MS = 5 * 60_000;
/** SQS VisibilityTimeout is 0 to 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;
/** Messages a move task moves before it yields to the event loop. */
const MOVE_STEP = 100;

/**
 * An in-process SQS FIFO queue: what the relay needs of one, with the same record shape and
 * errors as {@link LocalQueue}.
 *
 * - Messages of a group are received strictly in send order. While any message of a group is in
 *   flight, no message of that group is received; one that becomes visible again (visibility
 *   expiry or ChangeMessageVisibility) keeps its place at the head of its group.
 * - A receive takes from the group whose head was sent first, as many messages from that
 *   group's head as the batch has room for, then goes on to the next group.
 * - A send with a deduplication id already sent in the last 5 minutes is accepted and delivers
 *   nothing (content-based deduplication is not modelled: the caller always gives the id).
 * - A redrive policy moves a group's head to the DLQ on the receive after maxReceiveCount, and
 *   the group's next message may then be received; a move task puts a DLQ's messages back.
 *
 * What is left out: DelaySeconds (FIFO queues have no per-message delay), the in-flight limit
 * (never {@link OverLimit}) and high-throughput mode's per-group partitioning. SQS also keeps a
 * group's order only "in most cases" across receive calls that retry; here it always does.
 * Picking a group costs O(groups with messages), not O(messages).
 */
export class LocalFifoQueue {
  /** Every message, in send order (a Map keeps insertion order). */
  private readonly messages = new Map<string, Message>();
  private readonly groups = new Map<string, Group>();
  /** Deduplication ids sent within the window and when; oldest first. */
  private readonly dedup = new Map<string, number>();
  private readonly dedupWindowMs: number;
  private seq = 0;
  private inFlightCount = 0;
  private waiters: Array<() => void> = [];
  private moveTask?: RedriveStatus;
  private moveStep?: NodeJS.Immediate;

  constructor(
    readonly name: string,
    private readonly opts: LocalFifoQueueOptions,
  ) {
    if (!name.endsWith('.fifo')) {
      throw new InvalidParameterValue(`The name of a FIFO queue must end with the .fifo suffix: ${name}`);
    }
    this.dedupWindowMs = opts.deduplicationWindowMs ?? DEFAULT_DEDUPLICATION_WINDOW_MS;
  }

  get arn(): string {
    return `arn:aws:sqs:local:000000000000:${this.name}`;
  }

  /**
   * Sends a message to the end of group `groupId`. Returns its id, or undefined when a message
   * with the same `deduplicationId` was sent in the deduplication window: SQS accepts that send
   * but delivers nothing new.
   */
  send(
    body: string,
    groupId: string,
    deduplicationId: string,
    sourceQueue?: LocalFifoQueue,
  ): string | undefined {
    const now = Date.now();
    if (this.isDuplicate(deduplicationId, now)) return undefined;
    const msg: Message = {
      id: randomUUID(),
      body,
      groupId,
      deduplicationId,
      seq: ++this.seq,
      sentAt: now,
      receiveCount: 0,
      ...(sourceQueue ? { sourceQueue } : {}),
    };
    this.messages.set(msg.id, msg);
    const group = this.groupFor(groupId);
    group.messages.push(msg);
    if (group.inFlight === 0) this.signal();
    return msg.id;
  }

  /**
   * Receives up to `max` messages as SQS records, hiding each for the visibility timeout: from
   * the unblocked group with the oldest head, as many of its messages in order as fit, then from
   * the next such group.
   */
  receive(max: number): SQSRecord[] {
    const now = Date.now();
    const out: SQSRecord[] = [];
    while (out.length < max) {
      const group = this.nextGroup();
      if (!group) break;
      this.takeFrom(group, max - out.length, now, out);
    }
    return out;
  }

  delete(receiptHandle: string): void {
    const msg = this.byReceipt(receiptHandle);
    this.remove(msg);
    this.endFlight(msg);
  }

  /**
   * Hides a received message for `seconds` from now (0 to 43,200; 0 makes it visible at once).
   * Its group stays blocked for as long as it is hidden.
   */
  changeVisibility(receiptHandle: string, seconds: number): void {
    checkRange('VisibilityTimeout', seconds, MAX_VISIBILITY_SECONDS);
    const msg = this.byReceipt(receiptHandle);
    this.hideFor(msg, seconds);
  }

  /**
   * Resolves when a message may have become receivable (or `wake()` is called). A visible
   * message is not enough: its group must have nothing in flight, so a waiter is also released
   * when a delete or a visibility change or expiry unblocks a group.
   */
  waitForMessages(): Promise<void> {
    if (this.hasReceivable()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves at once: no in-flight limit is modelled, so a receive never waits for room. */
  waitForRoom(_maxWaitMs: number): Promise<void> {
    return Promise.resolve();
  }

  /** Releases everything waiting in {@link waitForMessages} (used on shutdown). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * Visible and in flight (received, not deleted) counts, as SQS reports them. Visible counts
   * the messages of blocked groups too; delayed is always 0.
   */
  depth(): { visible: number; inFlight: number; delayed: number; total: number } {
    const total = this.messages.size;
    return { visible: total - this.inFlightCount, inFlight: this.inFlightCount, delayed: 0, total };
  }

  /**
   * Moves every message of this DLQ back to the queue it came from (or `fallback`), the local
   * StartMessageMoveTask, in the order they sit here. Moved messages are new messages (new id,
   * receive count 0, a fresh deduplication id so the source's window cannot drop them) in the
   * same message group. Messages in flight stay. One task at a time; starting while one runs
   * returns the running one.
   */
  startMoveTask(fallback?: LocalFifoQueue): RedriveStatus {
    if (this.moveTask?.status === 'RUNNING') return { ...this.moveTask };
    const ids = [...this.messages.keys()];
    const task: RedriveStatus = { status: 'RUNNING', moved: 0, total: ids.length };
    this.moveTask = task;
    const step = () => {
      this.moveStep = undefined;
      for (const id of ids.splice(0, MOVE_STEP)) {
        const msg = this.messages.get(id);
        if (!msg || msg.receipt) continue;
        const destination = msg.sourceQueue ?? fallback;
        if (!destination) continue;
        this.remove(msg);
        destination.send(msg.body, msg.groupId, randomUUID());
        task.moved++;
      }
      if (ids.length > 0) this.moveStep = setImmediate(step);
      else task.status = 'COMPLETED';
    };
    step();
    return { ...task };
  }

  moveTaskStatus(): RedriveStatus | undefined {
    return this.moveTask ? { ...this.moveTask } : undefined;
  }

  /**
   * Every message in send order with its group, deduplication id, receive count and source
   * queue (tests and persistence: `send(body, groupId, deduplicationId, source)` in this order
   * puts them back, in flight or not, each in its place in its group).
   */
  snapshot(): Array<{
    body: string;
    groupId: string;
    deduplicationId: string;
    receiveCount: number;
    source?: string;
  }> {
    return [...this.messages.values()].map((m) => ({
      body: m.body,
      groupId: m.groupId,
      deduplicationId: m.deduplicationId,
      receiveCount: m.receiveCount,
      ...(m.sourceQueue ? { source: m.sourceQueue.name } : {}),
    }));
  }

  /** Drops every timer (visibility and a running move task's next step) so the process can exit. */
  close(): void {
    for (const m of this.messages.values()) clearTimeout(m.timer);
    if (this.moveStep) {
      clearImmediate(this.moveStep);
      this.moveStep = undefined;
      if (this.moveTask?.status === 'RUNNING') this.moveTask.status = 'CANCELLED';
    }
    this.wake();
  }

  /**
   * True when `deduplicationId` was sent within the window; otherwise records it as sent now.
   * Expired ids are dropped first, oldest first, so the map holds one window's worth.
   */
  private isDuplicate(deduplicationId: string, now: number): boolean {
    for (const [id, sentAt] of this.dedup) {
      if (now - sentAt < this.dedupWindowMs) break;
      this.dedup.delete(id);
    }
    const sentAt = this.dedup.get(deduplicationId);
    if (sentAt !== undefined && now - sentAt < this.dedupWindowMs) return true;
    // Delete before set: a re-set key would keep its old place and break the oldest-first order.
    this.dedup.delete(deduplicationId);
    this.dedup.set(deduplicationId, now);
    return false;
  }

  /**
   * The group whose head goes next: among groups with nothing in flight, the one whose head was
   * sent first. Every message of such a group is visible.
   */
  private nextGroup(): Group | undefined {
    let best: Group | undefined;
    let bestSeq = Number.POSITIVE_INFINITY;
    for (const group of this.groups.values()) {
      if (group.inFlight > 0) continue;
      const head = group.messages[0];
      if (head && head.seq < bestSeq) {
        best = group;
        bestSeq = head.seq;
      }
    }
    return best;
  }

  /**
   * Receives up to `room` messages from the head of an unblocked group into `out`, in order. A
   * head already received maxReceiveCount times goes to the DLQ instead and the next one is up.
   */
  private takeFrom(group: Group, room: number, now: number, out: SQSRecord[]): void {
    let taken = 0;
    let index = 0;
    while (taken < room) {
      const msg = group.messages[index];
      if (!msg) break;
      if (this.redrive(msg)) continue;
      msg.receiveCount++;
      msg.firstReceiveAt ??= now;
      msg.receipt = `${msg.id}#${msg.receiveCount}#${randomUUID()}`;
      group.inFlight++;
      this.inFlightCount++;
      this.hideFor(msg, this.opts.visibilityTimeoutSeconds);
      out.push(this.toRecord(msg));
      taken++;
      index++;
    }
  }

  /** Moves a message that used up its receives to the DLQ; false when it has receives left. */
  private redrive(msg: Message): boolean {
    const { maxReceiveCount, deadLetterQueue } = this.opts;
    if (maxReceiveCount === undefined || !deadLetterQueue || msg.receiveCount < maxReceiveCount) {
      return false;
    }
    this.remove(msg);
    deadLetterQueue.send(msg.body, msg.groupId, msg.id, this);
    return true;
  }

  private byReceipt(receiptHandle: string): Message {
    const id = receiptHandle.split('#')[0] ?? '';
    const msg = this.messages.get(id);
    if (!msg || msg.receipt !== receiptHandle) {
      throw new ReceiptHandleIsInvalid(`receipt handle is no longer valid for ${this.name}`);
    }
    return msg;
  }

  /** Keeps an in-flight message hidden for `seconds` from now; 0 makes it visible at once. */
  private hideFor(msg: Message, seconds: number): void {
    clearTimeout(msg.timer);
    msg.timer = undefined;
    if (seconds <= 0) {
      this.endFlight(msg);
      return;
    }
    msg.timer = setTimeout(() => {
      msg.timer = undefined;
      if (this.messages.get(msg.id) === msg) this.endFlight(msg);
    }, seconds * 1000);
  }

  /**
   * A message leaves flight (deleted, or visible again where it was). Its group may be unblocked:
   * wake a waiter if the group still holds a message to receive.
   */
  private endFlight(msg: Message): void {
    if (msg.receipt === undefined) return;
    msg.receipt = undefined;
    this.inFlightCount--;
    // Gone when `msg` was deleted as its group's last message.
    const group = this.groups.get(msg.groupId);
    if (!group) return;
    group.inFlight--;
    if (group.inFlight === 0 && group.messages.length > 0) this.signal();
  }

  /** Takes a message out of the queue and its group; the group goes once it is empty. */
  private remove(msg: Message): void {
    clearTimeout(msg.timer);
    this.messages.delete(msg.id);
    const group = this.groups.get(msg.groupId);
    if (!group) return;
    const at = group.messages.indexOf(msg);
    if (at >= 0) group.messages.splice(at, 1);
    if (group.messages.length === 0) this.groups.delete(group.id);
  }

  private hasReceivable(): boolean {
    for (const group of this.groups.values()) if (group.inFlight === 0) return true;
    return false;
  }

  private signal(): void {
    const waiter = this.waiters.shift();
    waiter?.();
  }

  private groupFor(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (!group) {
      group = { id: groupId, messages: [], inFlight: 0 };
      this.groups.set(groupId, group);
    }
    return group;
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
        SequenceNumber: String(msg.seq),
        MessageGroupId: msg.groupId,
        MessageDeduplicationId: msg.deduplicationId,
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(msg.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'local',
    };
  }
}
