import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../commons/logger.ts';
import { DEFAULT_MAX_IN_FLIGHT, type Subscription } from '../subscriptions/model.ts';
import type { DeliverDeps, ReadyTask, TaskResult } from './deps.ts';

/**
 * A send time this close (ms) is kept in process: the attempt starts at its time instead of
 * going back to the queue, whose delays come in whole seconds.
 */
const IN_PROCESS_WAIT_MS = 1_000;
/**
 * With no free in-flight slot, an invocation asks again every 25 ms (one consistent read; nothing is
 * written while no slot is free) for up to this
 * long (slots of a fast endpoint free up within milliseconds), then its tasks wait as delayed
 * copies.
 */
const SLOT_POLL_MS = 2_000;
/** ...this often: a busy endpoint's slots free up every few hundred ms, and each lap of waiting costs throughput. */
const SLOT_POLL_MAX_PAUSE_MS = 25;
/**
 * Attempts one slot may run one after another in an invocation: four attempt timeouts (60 s by
 * default) fit the delivery function's 90 s with room for the batch's reads and writes.
 */
const MAX_WAVES = 4;
/** A task that got no slot comes back after this, plus up to as much again (spread). */
const SLOT_WAIT_SECONDS = 1;
/** In-flight slots are leased this much longer than one attempt can take (a crashed holder). */
const LEASE_SLACK_MS = 15_000;

/** What the endpoint's limits let through now, and how to give its in-flight slots back. */
export interface Admission {
  /** Ready tasks to attempt now, each with the delay (ms) before it starts (its rate slot). */
  go: Array<{ task: ReadyTask; startInMs: number }>;
  /** How many of them may run at once: the slots this invocation holds. */
  width: number;
  /** Tasks sent back to wait, no attempt spent. */
  waiting: Array<{ task: ReadyTask; result: Promise<TaskResult> }>;
  /** Gives back the in-flight slots taken (call once the attempts are over). */
  release(): Promise<void>;
}

/**
 * Applies one endpoint's limits, fleet-wide, to the tasks of a batch that are ready for it:
 * 1. `rateLimitPerSecond`: each task books a send time (a shared virtual schedule); one due
 *    within a second starts at its time, a later one waits as a delayed copy holding its
 *    booking. Waiting tasks are never dropped and never count as failures.
 * 2. `maxInFlight`: the invocation takes in-flight slots shared by every invocation, and runs
 *    its tasks for the endpoint through them, as many at once as it holds. With none free it
 *    asks again for a moment, then its tasks wait a second or two as delayed copies. Skipped
 *    when the fleet cannot exceed the limit anyway (`config.deliverySlots`).
 */
export async function admit(
  deps: DeliverDeps,
  holder: string,
  sub: Subscription,
  ready: readonly ReadyTask[],
): Promise<Admission> {
  const now = deps.clock.now();
  const random = deps.random ?? Math.random;
  const waiting: Admission['waiting'] = [];
  let go: Admission['go'] = ready.map((task) => ({ task, startInMs: 0 }));

  if (sub.rateLimitPerSecond) {
    const fresh = go.filter((g) => !g.task.received.task.booked);
    const times = await deps.limiter.bookSendTimes(
      sub.tenant,
      sub.id,
      fresh.length,
      sub.rateLimitPerSecond,
      now,
    );
    // A booked copy starts at its booked time, not when the queue hands it over (delays come in
    // whole seconds), so copies booked a second apart never fire together.
    const kept: Admission['go'] = go
      .filter((g) => g.task.received.task.booked)
      .map((g) => ({
        task: g.task,
        startInMs: Math.min(IN_PROCESS_WAIT_MS, Math.max(0, (g.task.received.task.due ?? 0) - now.getTime())),
      }));
    fresh.forEach((g, i) => {
      const time = times[i];
      if (time === undefined) {
        // Not booked (the schedule was too contended): wait a moment and book again.
        waiting.push({ task: g.task, result: g.task.wait(1 + random(), 'rate limit (busy)') });
        return;
      }
      const inMs = time - now.getTime();
      if (inMs <= IN_PROCESS_WAIT_MS) kept.push({ task: g.task, startInMs: Math.max(0, inMs) });
      else waiting.push({ task: g.task, result: g.task.wait(inMs / 1000, 'rate limit', true) });
    });
    go = kept;
  }

  const limit = sub.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const counted =
    go.length > 0 && !(deps.config.deliverySlots !== undefined && deps.config.deliverySlots <= limit);
  let granted = Math.min(go.length, limit);
  if (counted) {
    const longest = Math.max(...go.map((g) => g.startInMs));
    const acquire = () => {
      const at = deps.clock.now();
      // The tasks may run one after another through a single slot: the lease covers them all, or
      // it would lapse while this invocation still sends and another could take the slot.
      const until = new Date(
        at.getTime() +
          longest +
          SLOT_POLL_MS +
          Math.min(go.length, MAX_WAVES) * deps.config.attemptTimeoutMs +
          LEASE_SLACK_MS,
      );
      return deps.limiter.acquireSlots(
        sub.tenant,
        sub.id,
        holder,
        Math.min(go.length, limit),
        limit,
        at,
        until,
      );
    };
    granted = await acquire();
    for (
      let waited = 0, pause = 25;
      granted === 0 && waited < SLOT_POLL_MS;
      waited += pause, pause = Math.min(pause * 2, SLOT_POLL_MAX_PAUSE_MS)
    ) {
      await sleep(pause);
      granted = await acquire();
    }
    if (granted === 0) {
      logger.debug('in-flight limit reached; tasks wait', {
        subscriptionId: sub.id,
        limit,
        waiting: go.length,
      });
      for (const g of go) {
        const seconds = SLOT_WAIT_SECONDS * (1 + random());
        waiting.push({
          task: g.task,
          // Its booked send time is past by then: it books again, so the rate holds.
          result: g.task.wait(seconds, 'in-flight limit'),
        });
      }
      go = [];
    }
  }
  // Tasks run one after another through the slots held: no more than fit the invocation's time.
  const fits = Math.max(1, granted) * MAX_WAVES;
  for (const g of go.slice(fits)) {
    waiting.push({
      task: g.task,
      result: g.task.wait(SLOT_WAIT_SECONDS * (1 + random()), 'in-flight limit'),
    });
  }
  go = go.slice(0, fits);
  return {
    go,
    width: granted,
    waiting,
    release: async () => {
      if (counted && granted > 0) await deps.limiter.releaseSlots(sub.tenant, sub.id, holder);
    },
  };
}
