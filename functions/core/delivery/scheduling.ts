import type { TaskQueue } from '../ports.ts';
import type { DeliveryTask } from './model.ts';

/**
 * How a waiting task comes back, and the queue numbers every part of the relay shares (the
 * local queues, the SQS adapter, the CDK stack). Each is defined here once.
 *
 * The standard delivery queue never holds a waiting task in flight: a retry, a park (circuit
 * open), a Retry-After, a rate-limit wait or a concurrency wait is a new, delayed copy of the
 * task (SQS DelaySeconds, at most 15 minutes), and the received message is acknowledged. A wait
 * longer than 15 minutes travels as a chain of such copies: each carries the instant it is due
 * (`due`), and a copy received before then is sent on again without touching the store (a hop).
 * So the queue's in-flight count is bounded by the consumers (concurrency x batch size), not by
 * how many deliveries are failing.
 */

/** SQS delays a message at most 15 minutes (DelaySeconds). */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/**
 * The longest single wait: a retry schedule's entries and a receiver's Retry-After are bounded
 * by it. (It was SQS's 12 h visibility cap, less the twelve minutes a throttled receive and the
 * function's run can take, when waits rode on visibility; chained copies could wait longer, but
 * the bound keeps a round within the queue retention the stack budgets.)
 */
export const MAX_DELAY_SECONDS = 12 * 60 * 60 - 12 * 60;

/**
 * Receives of one standard-queue message before SQS moves it to the DLQ (the redrive policy's
 * maxReceiveCount). A message normally needs one receive: every wait is a new message.
 */
export const MAX_RECEIVES = 5;

/**
 * On this receive of one message, when no earlier receive finished (the handler crashed, timed
 * out or was throttled each time), the task is poison: the handler marks its delivery dead, so
 * `GET /v1/dlq` lists it, before the queue moves it. Below {@link MAX_RECEIVES}, so the handler
 * always gets to say so.
 */
export const POISON_RECEIVES = 3;

/** A copy received this early (or later) is on time: clocks and the queue's delay are not exact. */
export const DUE_TOLERANCE_MS = 1_000;

/** Clock difference allowed between the queue's SentTimestamp and ours. */
export const STALE_COPY_SLACK_MS = 2_000;

/**
 * The next leg of a wait until `due` (epoch ms): seconds for one delayed copy, at most 15 min.
 * Not rounded: SQS's adapter rounds up to whole seconds, the local queue keeps fractions.
 */
export function nextHopSeconds(due: number, now: number): number {
  return Math.max(0, Math.min(MAX_QUEUE_DELAY_SECONDS, (due - now) / 1000));
}

/** Whether a copy due at `due` (epoch ms) is early enough to send on instead of acting now. */
export function isEarly(due: number | undefined, now: number): boolean {
  return due !== undefined && due - now > DUE_TOLERANCE_MS;
}

/**
 * Delayed copies one failing delivery costs over a whole round: one per 15 minutes of waiting
 * (at least one per wait). The cost model and the README use it.
 */
export function copiesPerRound(delays: readonly number[]): number {
  return delays.reduce((n, d) => n + Math.max(1, Math.ceil(d / MAX_QUEUE_DELAY_SECONDS)), 0);
}

/**
 * Sends the task back to the queue to act on in `seconds` (any length): a delayed copy due then,
 * the first leg of a chain when the wait is longer than 15 minutes. `changes` go with the copy
 * (the round's attempt count, a booked rate-limit slot); a booking is otherwise not carried over.
 */
export async function sendBackLater(
  queue: TaskQueue,
  task: DeliveryTask,
  seconds: number,
  now: number,
  changes: Partial<DeliveryTask> = {},
): Promise<void> {
  const due = Math.round(now + Math.max(0, seconds) * 1000);
  const { booked: _booked, ...rest } = task;
  await queue.sendDelayed({ ...rest, ...changes, due }, nextHopSeconds(due, now));
}

/** The next leg of a chain: the same task, on to its `due` (nothing is read or written). */
export function sendOn(queue: TaskQueue, task: DeliveryTask & { due: number }, now: number): Promise<void> {
  return queue.sendDelayed(task, nextHopSeconds(task.due, now));
}
