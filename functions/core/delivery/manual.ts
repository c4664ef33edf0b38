import { logger } from '../../commons/logger.ts';
import { scopedKey } from '../ports.ts';
import { attemptDelivery } from './attempt.ts';
import {
  type DeliverDeps,
  type LoadedContext,
  logKeys,
  type Prepared,
  type ReceivedTask,
  type TaskResult,
} from './deps.ts';
import { recordHealth } from './health.ts';
import { disableOnGone, limitWait, observeAttempt } from './scheduled.ts';
import { POISON_RECEIVES } from './scheduling.ts';

/**
 * The manual path (retry one delivery, recover a window): one extra attempt, appended to the
 * delivery's log. It never schedules more, never dead-letters, and never writes back the status
 * it read: a scheduled attempt may be finishing at the same moment, and its outcome must stand.
 * It ignores the circuit (an operator asked for it) but not the endpoint's limits.
 */
export async function prepareManual(
  deps: DeliverDeps,
  received: ReceivedTask,
  loaded: LoadedContext,
): Promise<Prepared> {
  const { task } = received;
  const existing = loaded.deliveries.get(task.deliveryId);
  const log = logKeys(task);
  const now = deps.clock.now().toISOString();
  const giveUp = async (lastError: string): Promise<Prepared> => {
    await deps.store.recordManualAttempt(task.deliveryId, { succeeded: false, lastError, at: now });
    logger.info('manual retry not attempted', { ...log, reason: lastError });
    return { settled: existing?.status ?? 'failed' };
  };
  if (received.receiveCount >= POISON_RECEIVES) {
    return giveUp(`the manual retry was received ${received.receiveCount} times without finishing`);
  }
  const subscription = loaded.subscriptions.get(scopedKey(task.tenant, task.subscriptionId));
  const event = loaded.events.get(scopedKey(task.tenant, task.eventId));
  if (!subscription) return giveUp('subscription was deleted');
  if (!event) return giveUp('event no longer stored (past its retention)');

  return {
    ready: {
      received,
      subscription,
      attempt: async (): Promise<TaskResult> => {
        const result = await attemptDelivery({
          sender: deps.sender,
          clock: deps.clock,
          subscription,
          event,
          attempt: (existing?.attempts.at(-1)?.attempt ?? 0) + 1,
          trigger: 'manual',
          timeoutMs: deps.config.attemptTimeoutMs,
          excerptBytes: deps.config.responseExcerptBytes,
        });
        observeAttempt(deps, result, event.receivedAt, log);
        if (result.record.status === 410) await disableOnGone(deps, subscription, task.deliveryId, log);
        await recordHealth(deps, subscription, result, log);
        const succeeded = result.outcome === 'success';
        await deps.store.recordManualAttempt(task.deliveryId, {
          attempt: result.record,
          succeeded,
          ...(succeeded ? {} : { lastError: result.record.error ?? `HTTP ${result.record.status}` }),
          at: deps.clock.now().toISOString(),
        });
        return succeeded ? 'succeeded' : (existing?.status ?? 'failed');
      },
      wait: limitWait(deps, task),
    },
  };
}
