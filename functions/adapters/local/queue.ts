import { createHash, randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import type { RedriveStatus } from '../../core/ports.ts';

/**
 * A message is in exactly one state: delayed (hidden, no receipt), visible (`readySeq` set) or in
 * flight (`receipt` set; hidden until deleted, changed or expired).
 */
interface Message {
  id: string;
  body: string;
  /** SQS MessageGroupId; undefined for a message sent without one. */
  groupId?: string;
  sentAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receipt?: string;
  timer?: NodeJS.Timeout;
  /** The queue a dead-lettered message came from: where a redrive sends it back. */
  sourceQueue?: LocalQueue;
  /** Set while visible: its place in the arrival order of visible messages. */
  readySeq?: number;
  /** Set from a receive until the consumer is done with it: its processing time runs. */
  receivedAt?: number;
}

/** A number that halves every {@link BUSY_HALF_LIFE_MS}: "recent" processing time. */
interface Decaying {
  value: number;
  at: number;
}

/** A visible message's place in its group's FIFO. Stale once the message is no longer visible at `seq`. */
interface ReadyEntry {
  seq: number;
  msg: Message;
}

/** One message group (a tenant, for fair queues): its visible messages in order and its load. */
interface Group {
  key: string;
  ready: ReadyEntry[];
  readyHead: number;
  visible: number;
  inFlight: number;
  busy: Decaying;
}

export interface LocalQueueOptions {
  /** Seconds a received message stays hidden unless deleted or changed (SQS VisibilityTimeout). */
  visibilityTimeoutSeconds: number;
  /** After this many receives the next receive moves the message to the DLQ (SQS redrive policy). */
  maxReceiveCount?: number;
  deadLetterQueue?: LocalQueue;
  /** Received, not yet deleted messages the queue allows; a receive at the limit throws {@link OverLimit}. */
  maxInFlight?: number;
}

export class ReceiptHandleIsInvalid extends Error {
  override name = 'ReceiptHandleIsInvalid';
}

/** A receive while the queue's in-flight count is at its limit (SQS ReceiveMessage's OverLimit). */
export class OverLimit extends Error {
  override name = 'OverLimit';
}

/** A parameter SQS would refuse, such as a DelaySeconds over 900. */
export class InvalidParameterValue extends Error {
  override name = 'InvalidParameterValue';
}

/** SQS's in-flight limit of a standard queue. */
export const DEFAULT_MAX_IN_FLIGHT = 120_000;
/** SQS DelaySeconds is 0 to 15 minutes. */
const MAX_DELAY_SECONDS = 900;
/** SQS VisibilityTimeout is 0 to 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;
/** Fair queues' published thresholds: a tenant over 10 % of the in-flight messages... */
const NOISY_SHARE = 0.1;
/** ...with at least this many of its own messages in flight. */
const NOISY_MIN_IN_FLIGHT = 30;
/** How fast processing time stops counting as recent. */
const BUSY_HALF_LIFE_MS = 10_000;
/**
 * Recent processing time (ms) a group needs before its share counts. Shares do not decay (every
 * group's time decays alike), so without it a slow group that went quiet would stay noisy for as
 * long as the others' messages take no measurable time.
 */
const NOISY_MIN_BUSY_MS = 1_000;
/** Processing time (ms) below which an idle group is forgotten. */
const NEGLIGIBLE_BUSY_MS = 1;

const valueAt = (d: Decaying, now: number): number =>
  d.value === 0 ? 0 : d.value * 2 ** (-(now - d.at) / BUSY_HALF_LIFE_MS);

function addTo(d: Decaying, amount: number, now: number): void {
  d.value = valueAt(d, now) + amount;
  d.at = now;
}

/**
 * An in-process queue with the SQS semantics the relay relies on: at-least-once receive,
 * visibility timeout, ChangeMessageVisibility, ApproximateReceiveCount, DelaySeconds (0-900),
 * the in-flight limit (a receive at it throws {@link OverLimit}), a redrive policy that moves a
 * message to its DLQ once its receives exceed maxReceiveCount, a move task that puts a DLQ's
 * messages back on their source queue with a fresh receive count (StartMessageMoveTask), and
 * fair queues: message groups (MessageGroupId) on a standard queue.
 *
 * Messages are received in arrival order (a message made visible again goes to the back),
 * except that a noisy group's messages wait while other groups have visible messages. A group is
 * noisy when it has at least 30 messages in flight that are over 10 % of the queue's in-flight
 * messages, or when its share of the recent consumer processing time is over 10 %; in both
 * cases also over an equal share (1 / the groups with messages visible or in flight), so equally
 * busy groups are not held back against each other. When only noisy groups have visible
 * messages, the one with the fewest in flight goes first.
 *
 * What is approximated: SQS publishes the 10 % and 30 figures (the 30 counts the tenant's own
 * in-flight messages) and says they are approximate; its algorithm is not public. Here
 * processing time runs from a receive to the delete, visibility change or visibility expiry
 * that ends it, decays with a 10 s half-life and counts only from a second of it, so a slow
 * group that went quiet is served in order again within a minute or so. The equal-share
 * condition is this queue's own. Noisiness is recomputed at every pick, where SQS keeps a tenant
 * noisy until its backlog drains or it sends nothing for five minutes. Messages sent without a
 * group share the group '' (SQS makes each its own tenant).
 * Picking a message costs O(groups with visible messages), not O(messages).
 */
export class LocalQueue {
  private readonly messages = new Map<string, Message>();
  private readonly groups = new Map<string, Group>();
  /** Groups whose FIFO may hold a visible message. */
  private readonly readyGroups = new Set<Group>();
  private readonly totalBusy: Decaying = { value: 0, at: 0 };
  private readonly maxInFlight: number;
  private seq = 0;
  private visibleCount = 0;
  private inFlightCount = 0;
  /** Groups with messages visible or in flight: the denominator of an equal share. */
  private activeGroups = 0;
  private sweepAt = 1024;
  private peak = 0;
  private refusals = 0;
  private waiters: Array<() => void> = [];
  private readonly roomWaiters = new Set<() => void>();
  private moveTask?: RedriveStatus;

  constructor(
    readonly name: string,
    private readonly opts: LocalQueueOptions,
  ) {
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  get arn(): string {
    return `arn:aws:sqs:local:000000000000:${this.name}`;
  }

  /** The most messages in flight at once since the queue was made or {@link resetStats}. */
  get peakInFlight(): number {
    return this.peak;
  }

  /** Receives refused with {@link OverLimit} since the queue was made or {@link resetStats}. */
  get overLimitRefusals(): number {
    return this.refusals;
  }

  resetStats(): void {
    this.peak = this.inFlightCount;
    this.refusals = 0;
  }

  /**
   * Sends a message, hidden for `delaySeconds` (0 to 900, else {@link InvalidParameterValue}).
   * `groupId` is its SQS MessageGroupId: the tenant fair queues balance.
   */
  send(body: string, delaySeconds = 0, sourceQueue?: LocalQueue, groupId?: string): string {
    checkRange('DelaySeconds', delaySeconds, MAX_DELAY_SECONDS);
    const msg: Message = {
      id: randomUUID(),
      body,
      sentAt: Date.now(),
      receiveCount: 0,
      ...(sourceQueue ? { sourceQueue } : {}),
      ...(groupId !== undefined ? { groupId } : {}),
    };
    this.messages.set(msg.id, msg);
    this.hideFor(msg, delaySeconds);
    return msg.id;
  }

  /**
   * Receives up to `max` visible messages as SQS records, hiding each for the visibility timeout;
   * never more than the in-flight limit leaves room for. Throws {@link OverLimit} when the limit
   * is reached.
   */
  receive(max: number): SQSRecord[] {
    if (this.inFlightCount >= this.maxInFlight) {
      this.refusals++;
      throw new OverLimit(
        `the in-flight message limit (${this.maxInFlight}) of queue ${this.name} is reached`,
      );
    }
    const now = Date.now();
    const out: SQSRecord[] = [];
    while (out.length < max && this.inFlightCount < this.maxInFlight) {
      const group = this.nextGroup(now);
      if (!group) break;
      const msg = (group.ready[group.readyHead++] as ReadyEntry).msg;
      compact(group);
      msg.readySeq = undefined;
      this.adjust(group, -1, 0);
      if (
        this.opts.maxReceiveCount !== undefined &&
        msg.receiveCount >= this.opts.maxReceiveCount &&
        this.opts.deadLetterQueue
      ) {
        clearTimeout(msg.timer);
        this.messages.delete(msg.id);
        this.opts.deadLetterQueue.send(msg.body, 0, this, msg.groupId);
        continue;
      }
      msg.receiveCount++;
      msg.firstReceiveAt ??= now;
      msg.receipt = `${msg.id}#${msg.receiveCount}#${randomUUID()}`;
      msg.receivedAt = now;
      this.adjust(group, 0, 1);
      this.hideFor(msg, this.opts.visibilityTimeoutSeconds);
      out.push(this.toRecord(msg));
    }
    return out;
  }

  delete(receiptHandle: string): void {
    const msg = this.byReceipt(receiptHandle);
    clearTimeout(msg.timer);
    this.endFlight(msg, Date.now());
    this.messages.delete(msg.id);
  }

  /**
   * Hides a received message for `seconds` from now (0 to 43,200; 0 makes it visible at once).
   * The consumer is done with it either way: its processing time stops here.
   */
  changeVisibility(receiptHandle: string, seconds: number): void {
    checkRange('VisibilityTimeout', seconds, MAX_VISIBILITY_SECONDS);
    const msg = this.byReceipt(receiptHandle);
    this.stopClock(msg, Date.now());
    this.hideFor(msg, seconds);
  }

  /** Resolves when a message may have become visible (or `wake()` is called). */
  waitForMessages(): Promise<void> {
    if (this.visibleCount > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Resolves when a receive may be below the in-flight limit again (a message left flight), after
   * `maxWaitMs` at the latest, or on `wake()`.
   */
  waitForRoom(maxWaitMs: number): Promise<void> {
    if (this.inFlightCount < this.maxInFlight) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.roomWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.roomWaiters.add(done);
    });
  }

  /** Releases everything waiting in {@link waitForMessages} or {@link waitForRoom} (used on shutdown). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    for (const w of [...this.roomWaiters]) w();
  }

  /** Visible, in flight (received, not deleted) and delayed counts, as SQS reports them. */
  depth(): { visible: number; inFlight: number; delayed: number; total: number } {
    const total = this.messages.size;
    return {
      visible: this.visibleCount,
      inFlight: this.inFlightCount,
      delayed: total - this.visibleCount - this.inFlightCount,
      total,
    };
  }

  /**
   * Moves every message of this DLQ back to the queue it came from (or `fallback`), the local
   * StartMessageMoveTask. Moved messages are new messages (new id, receive count 0) in the same
   * message group. One task at a time; starting while one runs returns the running one.
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
        if (msg.readySeq !== undefined) {
          msg.readySeq = undefined;
          this.adjust(this.groupFor(msg), -1, 0);
        }
        this.messages.delete(id);
        destination.send(msg.body, 0, undefined, msg.groupId);
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

  /**
   * Every message in arrival order with its receive count, source queue and group (tests and
   * persistence: `send(body, 0, source, groupId)` puts one back).
   */
  snapshot(): Array<{ body: string; receiveCount: number; source?: string; groupId?: string }> {
    return [...this.messages.values()].map((m) => ({
      body: m.body,
      receiveCount: m.receiveCount,
      ...(m.sourceQueue ? { source: m.sourceQueue.name } : {}),
      ...(m.groupId !== undefined ? { groupId: m.groupId } : {}),
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
    this.endFlight(msg, Date.now());
    const group = this.groupFor(msg);
    msg.readySeq = ++this.seq;
    group.ready.push({ seq: msg.readySeq, msg });
    this.readyGroups.add(group);
    this.adjust(group, 1, 0);
    const waiter = this.waiters.shift();
    waiter?.();
  }

  /** A message leaves flight (deleted, or visible again): one more receive fits under the limit. */
  private endFlight(msg: Message, now: number): void {
    if (msg.receipt === undefined) return;
    this.stopClock(msg, now);
    msg.receipt = undefined;
    this.adjust(this.groupFor(msg), 0, -1);
    const [waiter] = this.roomWaiters;
    waiter?.();
  }

  /** The consumer is done with a message: its processing time counts for its group. */
  private stopClock(msg: Message, now: number): void {
    if (msg.receivedAt === undefined) return;
    const took = Math.max(0, now - msg.receivedAt);
    msg.receivedAt = undefined;
    addTo(this.groupFor(msg).busy, took, now);
    addTo(this.totalBusy, took, now);
  }

  /** Keeps the visible and in-flight counts, per group and for the queue, in step. */
  private adjust(group: Group, visible: number, inFlight: number): void {
    const wasActive = group.visible + group.inFlight > 0;
    group.visible += visible;
    group.inFlight += inFlight;
    this.visibleCount += visible;
    this.inFlightCount += inFlight;
    const isActive = group.visible + group.inFlight > 0;
    if (wasActive !== isActive) this.activeGroups += isActive ? 1 : -1;
    if (this.inFlightCount > this.peak) this.peak = this.inFlightCount;
  }

  /**
   * The group whose oldest visible message goes next: the oldest head among quiet groups, else
   * the noisy group with the fewest messages in flight.
   */
  private nextGroup(now: number): Group | undefined {
    const totalBusy = valueAt(this.totalBusy, now);
    let quiet: Group | undefined;
    let quietSeq = Number.POSITIVE_INFINITY;
    let noisy: Group | undefined;
    let noisySeq = Number.POSITIVE_INFINITY;
    for (const group of this.readyGroups) {
      const head = readyHead(group);
      if (!head) {
        this.readyGroups.delete(group);
        continue;
      }
      // Once a quiet group is found, a later head cannot win: skip the noisiness check.
      if (head.seq > quietSeq) continue;
      if (!this.isNoisy(group, now, totalBusy)) {
        quiet = group;
        quietSeq = head.seq;
      } else if (
        !noisy ||
        group.inFlight < noisy.inFlight ||
        (group.inFlight === noisy.inFlight && head.seq < noisySeq)
      ) {
        noisy = group;
        noisySeq = head.seq;
      }
    }
    return quiet ?? noisy;
  }

  private isNoisy(group: Group, now: number, totalBusy: number): boolean {
    if (this.activeGroups <= 1) return false;
    const inFlight = this.inFlightCount;
    if (
      group.inFlight >= NOISY_MIN_IN_FLIGHT &&
      group.inFlight > inFlight * NOISY_SHARE &&
      group.inFlight > inFlight / this.activeGroups
    ) {
      return true;
    }
    const busy = valueAt(group.busy, now);
    if (busy < NOISY_MIN_BUSY_MS) return false;
    const share = busy / totalBusy;
    return share > NOISY_SHARE && share > 1 / this.activeGroups;
  }

  private groupFor(msg: Message): Group {
    const key = msg.groupId ?? '';
    let group = this.groups.get(key);
    if (!group) {
      if (this.groups.size >= this.sweepAt) this.sweep(Date.now());
      group = { key, ready: [], readyHead: 0, visible: 0, inFlight: 0, busy: { value: 0, at: 0 } };
      this.groups.set(key, group);
    }
    return group;
  }

  /**
   * Forgets groups with nothing visible or in flight and no recent processing time, so a queue
   * that sees many groups over time keeps only the live ones. A forgotten group's delayed
   * messages make it anew when they become visible.
   */
  private sweep(now: number): void {
    for (const [key, group] of this.groups) {
      if (group.visible + group.inFlight > 0) continue;
      if (valueAt(group.busy, now) >= NEGLIGIBLE_BUSY_MS) continue;
      this.groups.delete(key);
      this.readyGroups.delete(group);
    }
    this.sweepAt = Math.max(1024, this.groups.size * 2);
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
        ...(msg.groupId !== undefined ? { MessageGroupId: msg.groupId } : {}),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(msg.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'local',
    };
  }
}

/** SQS refuses a seconds parameter outside 0..max. */
export function checkRange(parameter: string, seconds: number, max: number): void {
  if (seconds >= 0 && seconds <= max) return;
  throw new InvalidParameterValue(
    `Value ${seconds} for parameter ${parameter} is invalid. Reason: must be between 0 and ${max}.`,
  );
}

/** A group's oldest entry that is still visible, dropping stale ones (moved away meanwhile). */
function readyHead(group: Group): ReadyEntry | undefined {
  while (group.readyHead < group.ready.length) {
    const entry = group.ready[group.readyHead] as ReadyEntry;
    if (entry.msg.readySeq === entry.seq) return entry;
    group.readyHead++;
  }
  compact(group);
  return undefined;
}

/** Drops a FIFO's consumed prefix once it is most of the array, so the array stays small. */
function compact(group: Group): void {
  if (group.readyHead === group.ready.length) {
    group.ready = [];
    group.readyHead = 0;
  } else if (group.readyHead > 1024 && group.readyHead * 2 > group.ready.length) {
    group.ready = group.ready.slice(group.readyHead);
    group.readyHead = 0;
  }
}
