import { randomUUID } from 'node:crypto';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { logger } from '../commons/logger.ts';
import {
  drainOrdered,
  ORDERED_RENEW_RECEIVES,
  type OrderedDeps,
  WAKE_LEASE_MS,
} from '../core/delivery/ordering.ts';
import { scopedKey } from '../core/ports.ts';
import '../core/zod.ts';

/** A wake-up: which ordered subscription has pending deliveries. */
const WakeSchema = z.object({ tenant: z.string(), subscriptionId: z.string() });

/** After a failed drain the wake-up comes back after this, doubled per receive, up to 5 minutes. */
const ERROR_BACKOFF_SECONDS = 5;
const MAX_ERROR_BACKOFF_SECONDS = 300;

/**
 * The ordered queue's consumer (a FIFO queue of wake-ups, one message group per ordered
 * subscription). The stack and local mode give it one wake-up per invocation (a slow drain must
 * not keep other subscriptions' wake-ups in flight); a batch that holds several wake-ups of one
 * subscription still works: its first one drains the list and the rest are acknowledged with
 * it. When the head must wait (a
 * retry, an open circuit, the rate limit), the first wake-up is held that long (its visibility)
 * and reported failed, so SQS keeps the whole subscription back until then; a drain that ran out
 * of time, or a wake-up held many times over, hands on to a fresh wake-up.
 */
export function makeOrderedHandler(deps: OrderedDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const groups = new Map<string, { tenant: string; subscriptionId: string; records: SQSRecord[] }>();
    for (const record of event.Records) {
      const wake = WakeSchema.safeParse(safeJson(record.body));
      if (!wake.success) {
        // Only a wake-up, nothing to lose: acknowledged, so it does not block its group.
        logger.error('malformed ordered wake-up; dropped', { messageId: record.messageId });
        continue;
      }
      const key = scopedKey(wake.data.tenant, wake.data.subscriptionId);
      const group = groups.get(key) ?? { ...wake.data, records: [] };
      group.records.push(record);
      groups.set(key, group);
    }
    const failures: SQSBatchItemFailure[] = [];
    try {
      await Promise.all(
        [...groups.values()].map(async ({ tenant, subscriptionId, records }) => {
          const first = records[0] as SQSRecord;
          const receives = Number(first.attributes.ApproximateReceiveCount) || 1;
          const log = { tenant, subscriptionId };
          // The subscription stays awake (its flag leased on) while its wake-up waits or hands on.
          const keepAwake = (seconds: number) =>
            deps.ordered.store.extendWake(
              tenant,
              subscriptionId,
              new Date(deps.clock.now().getTime() + seconds * 1000 + WAKE_LEASE_MS),
            );
          const renew = async () => {
            await keepAwake(0);
            await deps.ordered.queue.wake([{ tenant, subscriptionId, dedupId: randomUUID() }]);
          };
          try {
            const outcome = await drainOrdered(deps, tenant, subscriptionId);
            if ('holdSeconds' in outcome) {
              if (receives >= ORDERED_RENEW_RECEIVES) {
                await renew();
                return;
              }
              await keepAwake(outcome.holdSeconds);
              await deps.ordered.queue.hold(first.receiptHandle, outcome.holdSeconds);
              failures.push({ itemIdentifier: first.messageId });
              logger.debug('ordered subscription held', {
                ...log,
                seconds: outcome.holdSeconds,
                reason: outcome.reason,
              });
            } else if ('renew' in outcome) {
              await renew();
            }
          } catch (err) {
            logger.error('ordered drain failed; the wake-up comes back', { ...log, error: err as Error });
            const backoff = Math.min(MAX_ERROR_BACKOFF_SECONDS, ERROR_BACKOFF_SECONDS * 2 ** (receives - 1));
            await deps.ordered.queue.hold(first.receiptHandle, backoff).catch(() => undefined);
            failures.push({ itemIdentifier: first.messageId });
          }
        }),
      );
    } finally {
      deps.metrics?.flush();
    }
    return { batchItemFailures: failures };
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
