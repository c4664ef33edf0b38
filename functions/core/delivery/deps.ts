import type { RelayConfig } from '../config.ts';
import type { RelayMetrics } from '../metrics.ts';
import type {
  Clock,
  DeliveryContextReader,
  DeliveryStore,
  EndpointLimiter,
  EventBus,
  HttpSender,
  OrderedQueue,
  OrderedStore,
  SubscriptionStore,
  TaskQueue,
} from '../ports.ts';
import type { Subscription } from '../subscription.ts';
import type { DeliveryStatus, DeliveryTask } from './model.ts';

/** What the delivery use cases work with. */
export interface DeliverDeps {
  store: DeliveryStore &
    DeliveryContextReader &
    Pick<SubscriptionStore, 'disableSubscription' | 'recordHealth' | 'claimProbe'>;
  /** Where operational events go (`relay.subscription.disabled`). */
  bus?: EventBus;
  tasks: TaskQueue;
  /** Fleet-wide per-endpoint limits (in-flight slots, rate). */
  limiter: EndpointLimiter;
  sender: HttpSender;
  clock: Clock;
  config: RelayConfig;
  /** Attempt outcomes and durations; flushed by the handler after each invocation. */
  metrics?: RelayMetrics;
  /**
   * Ordered subscriptions' pending lists and wake-ups: where a redriven ordered delivery goes
   * back to (see ordering.ts). Absent where no subscription is ordered.
   */
  ordered?: { store: OrderedStore; queue: OrderedQueue };
  /** Source of jitter, injectable for tests. */
  random?: () => number;
}

/** A task as received from the queue. */
export interface ReceivedTask {
  task: DeliveryTask;
  /** The queue message's id: a redriven task is a new message, and so a fresh round. */
  messageId: string;
  receiptHandle: string;
  /** Receives of this message; more than one means earlier receives did not finish. */
  receiveCount: number;
  /** When the queue received this message (SQS SentTimestamp); a redrive makes a new one. */
  sentAt?: number;
}

export type LoadedContext = Awaited<ReturnType<DeliveryContextReader['loadForTasks']>>;

/**
 * What became of a task: the delivery's status, `skipped` (a duplicate or stale copy), or
 * `waiting` (sent back, delayed, without an attempt: circuit open, a limit, a leg of a long
 * wait). A task bound for the DLQ throws {@link DeadLetterPending} instead.
 */
export type TaskResult = DeliveryStatus | 'skipped' | 'waiting';

/** A task that passed every check and may attempt now, once the endpoint's limits allow. */
export interface ReadyTask {
  received: ReceivedTask;
  subscription: Subscription;
  /** Attempts now and records the outcome. */
  attempt(): Promise<TaskResult>;
  /**
   * Sends the task back to attempt in `seconds`, no attempt spent (an endpoint limit).
   * `booked`: the copy already holds its rate-limit send time.
   */
  wait(seconds: number, reason: string, booked?: boolean): Promise<TaskResult>;
}

/** The outcome of checking a task before any attempt: settled, or ready to attempt. */
export type Prepared = { settled: TaskResult } | { ready: ReadyTask };

/** Log keys of a task. */
export const logKeys = (task: DeliveryTask) => ({
  deliveryId: task.deliveryId,
  eventId: task.eventId,
  subscriptionId: task.subscriptionId,
});
