import { logger } from '../commons/logger.ts';
import { type AttemptResult, attemptDelivery } from './delivery/attempt.ts';
import type { RelayConfig } from './config.ts';
import type { Delivery, DeliveryStatus, DeliveryTask } from './delivery/model.ts';
import { DeadLetterPending, RetryScheduled } from './errors.ts';
import { newEventId } from './ids.ts';
import { METRICS, type RelayMetrics } from './metrics.ts';
import {
  type CircuitState,
  type Clock,
  type DeliveryContextReader,
  type DeliveryStore,
  type EventBus,
  type HttpSender,
  type SubscriptionStore,
  scopedKey,
  type TaskQueue,
} from './ports.ts';
import { attemptsPerRound, nextDelaySeconds } from './delivery/retry.ts';
import type { Subscription } from './subscription.ts';

/** The operational event published when the relay disables a dead endpoint's subscription. */
export const SUBSCRIPTION_DISABLED = 'relay.subscription.disabled';

/** Attempts kept in a delivery record (DynamoDB items stop at 400 KB); older ones are dropped. */
export const MAX_LOGGED_ATTEMPTS = 50;

export interface DeliverDeps {
  store: DeliveryStore &
    DeliveryContextReader &
    Pick<SubscriptionStore, 'disableSubscription' | 'recordHealth' | 'claimProbe'>;
  /** Where operational events go (`relay.subscription.disabled`). */
  bus?: EventBus;
  tasks: TaskQueue;
  sender: HttpSender;
  clock: Clock;
  config: RelayConfig;
  /** Attempt outcomes and durations; flushed by the handler after each invocation. */
  metrics?: RelayMetrics;
  /** Source of jitter, injectable for tests. */
  random?: () => number;
}

/** A task as received from the queue. `receiveCount` numbers the attempts of the current round. */
export interface ReceivedTask {
  task: DeliveryTask;
  /** The queue message's id: a redriven task is a new message, and so a fresh round. */
  messageId: string;
  receiptHandle: string;
  receiveCount: number;
  /** When the queue received this message (SQS SentTimestamp); a redrive makes a new one. */
  sentAt?: number;
}

export type LoadedContext = Awaited<ReturnType<DeliveryContextReader['loadForTasks']>>;

/**
 * What became of a task: the delivery's status, or `skipped` for a duplicate of a success.
 * A scheduled task bound for the DLQ throws {@link DeadLetterPending} instead.
 */
export type TaskResult = DeliveryStatus | 'skipped' | 'parked';

/** Clock difference allowed between the queue's SentTimestamp and ours. */
const STALE_COPY_SLACK_MS = 2_000;
/** A half-open probe holds its claim this much longer than one attempt's timeout. */
const PROBE_SLACK_MS = 5_000;

/**
 * deliver: task -> attempt -> delivery log -> done | retry later | DLQ.
 *
 * The log is written before the queue is told anything, so a crash in between costs at most a
 * repeated attempt (same `webhook-id`), never a lost delivery. Throws {@link RetryScheduled}
 * when the task must come back later (its visibility already carries the delay), and
 * {@link DeadLetterPending} when it is bound for the DLQ: the queue's redrive policy moves it
 * there, so redrives work the same from the console, the API and locally.
 */
export async function deliverTask(
  deps: DeliverDeps,
  received: ReceivedTask,
  loaded: LoadedContext,
): Promise<TaskResult> {
  const { task, receiptHandle, receiveCount } = received;
  const existing = loaded.deliveries.get(task.deliveryId);
  const log = { deliveryId: task.deliveryId, eventId: task.eventId, subscriptionId: task.subscriptionId };

  if (existing?.status === 'succeeded' && !task.manual) {
    logger.info('delivery already succeeded; duplicate task skipped', log);
    return 'skipped';
  }
  if (!task.manual && existing?.status === 'dead' && existing.deadMessageId === received.messageId) {
    // Still bouncing toward the DLQ: no attempt, straight back.
    await deps.tasks.releaseToDeadLetter(receiptHandle);
    throw new DeadLetterPending(existing.lastError ?? 'dead');
  }

  const now = deps.clock.now().toISOString();
  // A dead delivery received through another message than the one that went to the DLQ was
  // redriven: a fresh round of attempts.
  const redriven = !task.manual && existing?.status === 'dead';
  if (redriven && received.sentAt !== undefined && existing?.deadAt) {
    // Sent before the delivery died: another copy of the task (at-least-once delivery, a parked
    // copy), not a redrive. Starting a fresh round for it would double the attempts.
    if (received.sentAt < Date.parse(existing.deadAt) - STALE_COPY_SLACK_MS) {
      logger.info('stale copy of a dead-lettered task; skipped', log);
      return 'skipped';
    }
  }
  const subscription = loaded.subscriptions.get(scopedKey(task.tenant, task.subscriptionId));
  const event = loaded.events.get(scopedKey(task.tenant, task.eventId));
  const base: Delivery = existing ?? {
    id: task.deliveryId,
    tenant: task.tenant,
    eventId: task.eventId,
    eventType: event?.type ?? 'unknown',
    subscriptionId: task.subscriptionId,
    url: subscription?.url ?? '',
    status: 'pending',
    attempts: [],
    ...(task.replay ? { replay: task.replay } : {}),
    createdAt: now,
    updatedAt: now,
  };

  const save = async (status: DeliveryStatus, changes: Partial<Delivery>): Promise<Delivery> => {
    const { nextAttemptAt: _n, lastError: _l, deadMessageId: _d, deadAt: _t, ...rest } = base;
    const next: Delivery = { ...rest, ...changes, status, updatedAt: deps.clock.now().toISOString() };
    await deps.store.putDeliveries([next]);
    return next;
  };
  const deadLetter = async (reason: string, changes: Partial<Delivery> = {}): Promise<never> => {
    await save('dead', {
      ...changes,
      lastError: reason,
      deadMessageId: received.messageId,
      deadAt: deps.clock.now().toISOString(),
    });
    await deps.tasks.releaseToDeadLetter(receiptHandle);
    deps.metrics?.count(METRICS.deliveriesDeadLettered);
    logger.warn('delivery dead-lettered', { ...log, reason });
    throw new DeadLetterPending(reason);
  };

  if (!task.manual && receiveCount > attemptsPerRound(deps.config.retry)) {
    // Receives that never reached an attempt (throttles, crashes) used up the round.
    return deadLetter(
      `${existing?.lastError ?? 'no attempt succeeded'}; the round's ${receiveCount - 1} receives are used up`,
    );
  }

  if (!subscription) {
    await save('failed', { lastError: 'subscription was deleted' });
    logger.info('subscription deleted; delivery abandoned', log);
    return 'failed';
  }
  if (!event && task.manual) {
    // A manual retry never dead-letters: it records why it could not run and leaves the rest.
    await deps.store.recordManualAttempt(task.deliveryId, {
      succeeded: false,
      lastError: 'event no longer stored (past its retention)',
      at: now,
    });
    return existing?.status ?? 'failed';
  }
  if (!event) {
    // Events outlive their deliveries' schedule by far (retention days vs hours); a missing one
    // was expired by TTL. Keep the task in the DLQ so the loss is visible.
    return deadLetter('event no longer stored (past its retention)');
  }
  if (!subscription.enabled && !task.manual) {
    return deadLetter('subscription is disabled; enable it and redrive the DLQ');
  }
  const park = !task.manual && (await circuitWait(deps, subscription, log));
  if (park) {
    // The endpoint hangs: set the task aside until the circuit closes instead of tying up an
    // invocation for a whole timeout. No attempt is spent; the round goes on afterwards.
    // Spread over up to half the wait, so a backlog does not all come back in the same second.
    const wait = Math.min(900, park + (deps.random?.() ?? Math.random()) * (park / 2));
    if (!existing) {
      // Visible in the log from the start, as pending; later parks write nothing.
      await save('pending', {
        lastError: 'the endpoint is not answering (circuit open); waiting before the first attempt',
        nextAttemptAt: new Date(deps.clock.now().getTime() + wait * 1000).toISOString(),
      });
    }
    await deps.tasks.park(task, wait);
    logger.info('circuit open; task parked', { ...log, until: subscription.circuit?.openUntil });
    return 'parked';
  }

  const result = await attemptDelivery({
    sender: deps.sender,
    clock: deps.clock,
    subscription,
    event,
    attempt: (base.attempts.at(-1)?.attempt ?? 0) + 1,
    trigger: task.manual ? 'manual' : 'scheduled',
    timeoutMs: deps.config.attemptTimeoutMs,
    excerptBytes: deps.config.responseExcerptBytes,
  });
  // The log keeps the latest attempts; numbering goes on counting past what it drops.
  const attempts = [...base.attempts, result.record].slice(-MAX_LOGGED_ATTEMPTS);
  const roundAttempts = (redriven ? 0 : (existing?.roundAttempts ?? 0)) + 1;
  const common = { attempts, url: subscription.url, eventType: event.type, roundAttempts };
  logger.info('delivery attempt', {
    ...log,
    attempt: result.record.attempt,
    status: result.record.status,
    durationMs: result.record.durationMs,
    outcome: result.outcome,
  });
  if (deps.metrics) {
    const succeeded = result.outcome === 'success';
    deps.metrics.count(succeeded ? METRICS.deliveriesSucceeded : METRICS.deliveriesFailed);
    deps.metrics.duration(METRICS.attemptDuration, result.record.durationMs);
    if (succeeded) {
      const latency = deps.clock.now().getTime() - Date.parse(event.receivedAt);
      if (Number.isFinite(latency)) deps.metrics.duration(METRICS.endToEndLatency, Math.max(0, latency));
    }
  }

  const reason = result.record.error ?? `HTTP ${result.record.status}`;
  if (result.record.status === 410) {
    // "Stop sending to this endpoint" (Standard Webhooks): the whole subscription, not only this
    // delivery. Its other tasks then go to the DLQ, from where a redrive resumes them once it
    // is enabled again.
    await deps.store.disableSubscription(
      task.tenant,
      task.subscriptionId,
      `the receiver answered 410 Gone (delivery ${task.deliveryId})`,
      deps.clock.now().toISOString(),
    );
    subscription.enabled = false;
    logger.warn('subscription disabled: receiver answered 410 Gone', log);
  }
  const disabled = await recordHealth(deps, subscription, result, log);
  if (task.manual) {
    // One extra attempt, appended to the log. It never writes back the status it read: a
    // scheduled attempt may be finishing at the same moment, and its outcome must stand.
    const succeeded = result.outcome === 'success';
    await deps.store.recordManualAttempt(task.deliveryId, {
      attempt: result.record,
      succeeded,
      ...(succeeded ? {} : { lastError: reason }),
      at: deps.clock.now().toISOString(),
    });
    return succeeded ? 'succeeded' : (existing?.status ?? 'failed');
  }
  if (result.outcome === 'success') {
    await save('succeeded', common);
    return 'succeeded';
  }
  if (result.outcome === 'permanent') return deadLetter(reason, common);
  if (disabled) return deadLetter(`${reason}; ${disabled}`, common);

  const scheduled = nextDelaySeconds(deps.config.retry, roundAttempts, deps.random?.());
  if (scheduled === undefined)
    return deadLetter(`${reason}; all ${roundAttempts} attempts of the schedule failed`, common);
  // A 429/503 with Retry-After waits at least as long as the receiver asked (bounded).
  const delay = Math.max(scheduled, result.retryAfterSeconds ?? 0);
  const nextAttemptAt = new Date(deps.clock.now().getTime() + delay * 1000).toISOString();
  const wish = result.retryAfterSeconds !== undefined ? ` (Retry-After: ${result.retryAfterSeconds} s)` : '';
  await save('pending', { ...common, lastError: `${reason}${wish}`, nextAttemptAt });
  await deps.tasks.retryLater(receiptHandle, delay);
  throw new RetryScheduled(delay);
}

/**
 * What an attempt says about its endpoint, written only when it changes: the first failure
 * after a success starts `failingSince`; a timeout opens (or extends) the circuit breaker; a
 * success clears both. An endpoint that has not once succeeded for `deadEndpointDays` is
 * disabled, with an operational event on the bus. Updates the loaded subscription as well, so
 * the rest of the batch sees them. Returns the reason when it disabled the subscription.
 */
async function recordHealth(
  deps: DeliverDeps,
  sub: Subscription,
  result: AttemptResult,
  log: Record<string, string>,
): Promise<string | undefined> {
  const now = deps.clock.now();
  if (result.outcome === 'success') {
    if (sub.failingSince || sub.circuit) {
      await deps.store.recordHealth(sub.tenant, sub.id, 'healthy');
      delete sub.failingSince;
      delete sub.circuit;
    }
    return undefined;
  }
  const change: { failingSince?: string; circuit?: CircuitState | null } = {};
  if (!sub.failingSince) change.failingSince = now.toISOString();
  if (result.timedOut) {
    const timeouts = (sub.circuit?.timeouts ?? 0) + 1;
    const { circuitBaseSeconds: base, circuitMaxSeconds: max } = deps.config;
    const seconds = Math.min(max, base * 2 ** (timeouts - 1));
    change.circuit = { openUntil: new Date(now.getTime() + seconds * 1000).toISOString(), timeouts };
    logger.warn('receiver timed out; circuit opened', { ...log, seconds, timeouts });
  } else if (sub.circuit) {
    // It answered (with an error, but promptly): it does not hang, so the circuit closes.
    change.circuit = null;
  }
  if (change.failingSince || change.circuit !== undefined) {
    await deps.store.recordHealth(sub.tenant, sub.id, change);
    if (change.failingSince) sub.failingSince = change.failingSince;
    if (change.circuit) sub.circuit = change.circuit;
    else if (change.circuit === null) delete sub.circuit;
  }
  const since = sub.failingSince ? Date.parse(sub.failingSince) : Number.NaN;
  const limitMs = deps.config.deadEndpointDays * 86_400_000;
  if (!sub.enabled || !(now.getTime() - since >= limitMs)) return undefined;

  const reason = `no successful delivery for ${deps.config.deadEndpointDays} days (failing since ${sub.failingSince})`;
  // Announce first: if publishing fails, the task comes back and tries again; disabled first,
  // the retry would find it disabled and the announcement would never go out.
  await deps.bus?.publish([
    {
      id: newEventId(now.getTime()),
      tenant: sub.tenant,
      type: SUBSCRIPTION_DISABLED,
      timestamp: now.toISOString(),
      receivedAt: now.toISOString(),
      data: { subscriptionId: sub.id, url: sub.url, reason, failingSince: sub.failingSince },
    },
  ]);
  await deps.store.disableSubscription(sub.tenant, sub.id, reason, now.toISOString());
  sub.enabled = false;
  logger.warn('subscription disabled: endpoint dead', { ...log, failingSince: sub.failingSince });
  return `subscription disabled: ${reason}`;
}

/**
 * How long a task of this subscription must wait (seconds), or 0 to attempt now. Open: until
 * `openUntil`. Half-open (past it, not yet closed by a success): one task claims the probe (a
 * conditional write, so exactly one across all invocations) and attempts; the others wait for
 * the probe's outcome instead of all hanging at once.
 */
async function circuitWait(
  deps: DeliverDeps,
  sub: Subscription,
  log: Record<string, string>,
): Promise<number> {
  const circuit = sub.circuit;
  if (!circuit) return 0;
  const now = deps.clock.now().getTime();
  const open = Date.parse(circuit.openUntil) - now;
  if (open > 0) return open / 1000;
  // While another task probes, wait for its outcome and then as long as the last opening: if the
  // probe fails, the circuit reopens for at least that long, so coming back sooner only re-parks.
  const lastOpening = Math.min(
    deps.config.circuitMaxSeconds,
    deps.config.circuitBaseSeconds * 2 ** (circuit.timeouts - 1),
  );
  const probeWait = (circuit.probeUntil ? Date.parse(circuit.probeUntil) : 0) - now;
  if (probeWait > 0) return probeWait / 1000 + lastOpening;
  const probeUntil = new Date(now + deps.config.attemptTimeoutMs + PROBE_SLACK_MS).toISOString();
  if (await deps.store.claimProbe(sub.tenant, sub.id, circuit, probeUntil, new Date(now).toISOString())) {
    sub.circuit = { ...circuit, probeUntil };
    logger.info('circuit half-open; probing the endpoint', log);
    return 0;
  }
  // Another task holds the probe: come back after it, as above.
  sub.circuit = { ...circuit, probeUntil };
  return (deps.config.attemptTimeoutMs + PROBE_SLACK_MS) / 1000 + lastOpening;
}
