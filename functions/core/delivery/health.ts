import { logger } from '../../commons/logger.ts';
import type { RelayConfig } from '../config.ts';
import { newEventId } from '../ids.ts';
import type { CircuitState, EventBus, SubscriptionStore } from '../ports.ts';
import type { Subscription } from '../subscription.ts';
import type { AttemptResult } from './attempt.ts';

/** The operational event published when the relay disables a dead endpoint's subscription. */
export const SUBSCRIPTION_DISABLED = 'relay.subscription.disabled';

/** A half-open probe holds its claim this much longer than one attempt's timeout. */
const PROBE_SLACK_MS = 5_000;

export interface HealthDeps {
  store: Pick<SubscriptionStore, 'disableSubscription' | 'recordHealth' | 'claimProbe'>;
  /** Where operational events go (`relay.subscription.disabled`). */
  bus?: EventBus;
  clock: { now(): Date };
  config: Pick<
    RelayConfig,
    'circuitBaseSeconds' | 'circuitMaxSeconds' | 'deadEndpointDays' | 'attemptTimeoutMs'
  >;
}

/**
 * How long the circuit stays open after `timeouts` timeouts in a row: the base, doubled per
 * further timeout, up to the max.
 */
export function circuitOpeningSeconds(
  config: Pick<RelayConfig, 'circuitBaseSeconds' | 'circuitMaxSeconds'>,
  timeouts: number,
): number {
  return Math.min(config.circuitMaxSeconds, config.circuitBaseSeconds * 2 ** (Math.max(1, timeouts) - 1));
}

/**
 * What an attempt says about its endpoint, written only when it changes: the first failure
 * after a success starts `failingSince`; a timeout opens (or extends) the circuit breaker; a
 * success clears both. Every write is conditional on the subscription as it was read (see
 * `SubscriptionStore.recordHealth`): when an edit or another attempt changed it meanwhile, the
 * write is dropped rather than putting stale state back, and the next attempt decides afresh.
 * An endpoint that has not once succeeded for `deadEndpointDays` is disabled, with an
 * operational event on the bus. Updates the loaded subscription as well, so the rest of the
 * batch sees the change. Returns the reason when it disabled the subscription.
 */
export async function recordHealth(
  deps: HealthDeps,
  sub: Subscription,
  result: AttemptResult,
  log: Record<string, string>,
): Promise<string | undefined> {
  const now = deps.clock.now();
  if (result.outcome === 'success') {
    if (sub.failingSince || sub.circuit) {
      if (await writeHealth(deps, sub, 'healthy', now)) {
        delete sub.failingSince;
        delete sub.circuit;
      }
    }
    return undefined;
  }
  const change: { failingSince?: string; circuit?: CircuitState | null } = {};
  if (!sub.failingSince) change.failingSince = now.toISOString();
  if (result.timedOut) {
    const timeouts = (sub.circuit?.timeouts ?? 0) + 1;
    const seconds = circuitOpeningSeconds(deps.config, timeouts);
    change.circuit = { openUntil: new Date(now.getTime() + seconds * 1000).toISOString(), timeouts };
    logger.warn('receiver timed out; circuit opened', { ...log, seconds, timeouts });
  } else if (sub.circuit) {
    // It answered (with an error, but promptly): it does not hang, so the circuit closes.
    change.circuit = null;
  }
  if (change.failingSince || change.circuit !== undefined) {
    if (await writeHealth(deps, sub, change, now)) {
      if (change.failingSince) sub.failingSince = change.failingSince;
      if (change.circuit) sub.circuit = change.circuit;
      else if (change.circuit === null) delete sub.circuit;
    }
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
  const disabled = await deps.store.disableSubscription(sub.tenant, sub.id, reason, now.toISOString(), {
    updatedAt: sub.updatedAt,
    healthUpdatedAt: sub.healthUpdatedAt,
  });
  // Edited meanwhile (a new URL, re-enabled): the edit stands, and its health starts afresh.
  if (!disabled) return undefined;
  sub.enabled = false;
  logger.warn('subscription disabled: endpoint dead', { ...log, failingSince: sub.failingSince });
  return `subscription disabled: ${reason}`;
}

/** One conditional health write; on success the loaded copy carries the new version. */
async function writeHealth(
  deps: HealthDeps,
  sub: Subscription,
  change: Parameters<SubscriptionStore['recordHealth']>[2],
  now: Date,
): Promise<boolean> {
  const at = now.toISOString();
  const applied = await deps.store.recordHealth(sub.tenant, sub.id, change, {
    updatedAt: sub.updatedAt,
    ...(sub.healthUpdatedAt ? { healthUpdatedAt: sub.healthUpdatedAt } : {}),
    at,
  });
  if (applied) sub.healthUpdatedAt = at;
  else
    logger.info('subscription changed meanwhile; health left to the next attempt', {
      subscriptionId: sub.id,
    });
  return applied;
}

/**
 * How long a task of this subscription must wait (seconds), or 0 to attempt now. Open: until
 * `openUntil`. Half-open (past it, not yet closed by a success): one task claims the probe (a
 * conditional write, so exactly one across all invocations) and attempts; the others wait for
 * the probe's outcome instead of all hanging at once.
 */
export async function circuitWait(
  deps: HealthDeps,
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
  const lastOpening = circuitOpeningSeconds(deps.config, circuit.timeouts);
  const probeWait = (circuit.probeUntil ? Date.parse(circuit.probeUntil) : 0) - now;
  if (probeWait > 0) return probeWait / 1000 + lastOpening;
  const probeUntil = new Date(now + deps.config.attemptTimeoutMs + PROBE_SLACK_MS).toISOString();
  const at = new Date(now).toISOString();
  if (await deps.store.claimProbe(sub.tenant, sub.id, circuit, probeUntil, at)) {
    // The claim is a health write (it moves healthUpdatedAt): the probe's outcome is written
    // over this version, or the success that closes the circuit would be dropped as stale.
    sub.circuit = { ...circuit, probeUntil };
    sub.healthUpdatedAt = at;
    logger.info('circuit half-open; probing the endpoint', log);
    return 0;
  }
  // Another task holds the probe: come back after it, as above.
  sub.circuit = { ...circuit, probeUntil };
  return (deps.config.attemptTimeoutMs + PROBE_SLACK_MS) / 1000 + lastOpening;
}
