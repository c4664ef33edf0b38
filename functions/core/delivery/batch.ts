import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { scopedKey } from '../ports.ts';
import type { DeliverDeps, Prepared, ReadyTask, ReceivedTask, TaskResult } from './deps.ts';
import { admit } from './limits.ts';
import { prepareManual } from './manual.ts';
import { prepareOrderedReturn } from './ordering.ts';
import { prepareScheduled } from './scheduled.ts';
import { isEarly, sendOn } from './scheduling.ts';

/** Each record's outcome, by queue message id. */
export type BatchOutcomes = Map<string, PromiseSettledResult<TaskResult>>;

/**
 * deliverBatch: a batch of received tasks -> legs of long waits sent on -> one read of the
 * store -> each task checked (scheduled or manual path) -> the endpoints' limits -> attempts, in
 * parallel across endpoints and up to each endpoint's limit -> outcomes.
 *
 * A rejected outcome is a record the queue must bring back (or, for {@link DeadLetterPending},
 * move to the DLQ); every other outcome means the message is done with.
 */
export async function deliverBatch(
  deps: DeliverDeps,
  received: readonly ReceivedTask[],
): Promise<BatchOutcomes> {
  const outcomes: BatchOutcomes = new Map();
  const settle = async (id: string, work: Promise<TaskResult>) => {
    const [result] = await Promise.allSettled([work]);
    if (result) outcomes.set(id, result);
  };
  const now = deps.clock.now().getTime();
  const onTime: ReceivedTask[] = [];
  const legs: Promise<void>[] = [];
  const seen = new Set<string>();
  for (const r of received) {
    const { due } = r.task;
    // Two copies of one scheduled task at the same count in one batch (a duplicate left by a
    // crash): both would pass the log's fence, read before either attempt. One goes.
    const copy =
      !r.task.manual && r.task.attempt !== undefined ? `${r.task.deliveryId}#${r.task.attempt}` : '';
    if (copy && seen.has(copy)) {
      outcomes.set(r.messageId, { status: 'fulfilled', value: 'skipped' });
      continue;
    }
    if (copy) seen.add(copy);
    // A leg of a long wait: sent on without reading or writing anything.
    if (due !== undefined && isEarly(due, now))
      legs.push(
        settle(
          r.messageId,
          sendOn(deps.tasks, { ...r.task, due }, now).then(() => 'waiting'),
        ),
      );
    else onTime.push(r);
  }
  if (onTime.length === 0) {
    await Promise.all(legs);
    return outcomes;
  }

  let prepared: Array<PromiseSettledResult<Prepared>>;
  try {
    // One read for the whole batch: deliveries, events and subscriptions together.
    const loaded = await deps.store.loadForTasks(onTime.map((r) => r.task));
    prepared = await Promise.allSettled(
      onTime.map((r) =>
        (r.task.manual ? prepareManual : r.task.ordered ? prepareOrderedReturn : prepareScheduled)(
          deps,
          r,
          loaded,
        ),
      ),
    );
  } catch (err) {
    await Promise.all(legs);
    for (const r of onTime) outcomes.set(r.messageId, { status: 'rejected', reason: err });
    return outcomes;
  }

  const byEndpoint = new Map<string, ReadyTask[]>();
  prepared.forEach((p, i) => {
    const r = onTime[i] as ReceivedTask;
    if (p.status === 'rejected') outcomes.set(r.messageId, p);
    else if ('settled' in p.value) outcomes.set(r.messageId, { status: 'fulfilled', value: p.value.settled });
    else {
      const key = scopedKey(r.task.tenant, r.task.subscriptionId);
      byEndpoint.set(key, [...(byEndpoint.get(key) ?? []), p.value.ready]);
    }
  });

  const holder = randomUUID();
  await Promise.all([
    ...legs,
    ...[...byEndpoint.values()].map(async (ready) => {
      const sub = (ready[0] as ReadyTask).subscription;
      let admission: Awaited<ReturnType<typeof admit>>;
      try {
        admission = await admit(deps, holder, sub, ready);
      } catch (err) {
        for (const t of ready) outcomes.set(t.received.messageId, { status: 'rejected', reason: err });
        return;
      }
      try {
        const lane = limited(admission.width);
        await Promise.all([
          ...admission.waiting.map((w) => settle(w.task.received.messageId, w.result)),
          ...admission.go.map((g) =>
            settle(
              g.task.received.messageId,
              lane(async () => {
                if (g.startInMs > 0) await sleep(g.startInMs);
                return g.task.attempt();
              }),
            ),
          ),
        ]);
      } finally {
        // A lease left behind expires by itself; failing to give it back fails no delivery.
        await admission.release().catch(() => undefined);
      }
    }),
  ]);
  return outcomes;
}

/** Runs functions at most `width` at a time, in call order. */
function limited(width: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= width) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
