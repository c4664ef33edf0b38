import { describe, expect, it } from 'vitest';
import type { AttemptResult } from '../../../../functions/core/delivery/attempt.ts';
import {
  circuitOpeningSeconds,
  circuitWait,
  type HealthDeps,
  recordHealth,
  SUBSCRIPTION_DISABLED,
} from '../../../../functions/core/delivery/health.ts';
import type { RelayEvent } from '../../../../functions/core/event.ts';
import type { Subscription } from '../../../../functions/core/subscription.ts';
import { aSubscription, type Call, FakeDeliveryStore, fixedClock, NOW } from '../../support/fakes.ts';
import { config, iso } from './harness.ts';

const log = { deliveryId: 'dlv_1' };

function result(outcome: AttemptResult['outcome'], extra: Partial<AttemptResult> = {}): AttemptResult {
  const status = outcome === 'success' ? 200 : outcome === 'permanent' ? 410 : 500;
  return {
    record: { attempt: 1, at: NOW.toISOString(), status, durationMs: 3, trigger: 'scheduled' },
    outcome,
    ...extra,
  };
}
const timedOut = () =>
  result('retryable', {
    record: { attempt: 1, at: NOW.toISOString(), status: 0, durationMs: 5000, trigger: 'scheduled' },
    timedOut: true,
  });

/** The store holds `sub`; the function under test gets its own copy, as loadForTasks gives it. */
function setup(sub: Subscription) {
  const calls: Call[] = [];
  const order: string[] = [];
  const store = new FakeDeliveryStore(calls);
  store.subscriptions.set(sub.id, structuredClone(sub));
  const published: RelayEvent[] = [];
  const deps: HealthDeps = {
    store,
    clock: fixedClock(),
    config,
    bus: {
      publish: async (events) => {
        order.push('publish');
        published.push(...events);
      },
    },
  };
  const disable = store.disableSubscription.bind(store);
  store.disableSubscription = async (...args) => {
    order.push('disableSubscription');
    return disable(...args);
  };
  const loaded = structuredClone(sub);
  const healthCalls = () => calls.filter((c) => c.op === 'recordHealth');
  return {
    deps,
    store,
    loaded,
    published,
    order,
    healthCalls,
    stored: () => store.subscriptions.get(sub.id),
  };
}

describe('circuitOpeningSeconds', () => {
  it('opens for the base after the first timeout, doubling per further timeout, up to the max', () => {
    expect([1, 2, 3, 4, 6, 7, 20].map((n) => circuitOpeningSeconds(config, n))).toEqual([
      30, 60, 120, 240, 960, 1800, 1800,
    ]);
  });

  it('treats no timeouts as the first', () => {
    expect(circuitOpeningSeconds(config, 0)).toBe(30);
  });
});

describe('recordHealth', () => {
  it('writes nothing after a success at a healthy endpoint', async () => {
    const { deps, loaded, healthCalls } = setup(aSubscription());
    await expect(recordHealth(deps, loaded, result('success'), log)).resolves.toBeUndefined();
    expect(healthCalls()).toEqual([]);
  });

  it('clears failingSince and the circuit after a success, over the version it read', async () => {
    const sub = aSubscription({
      failingSince: iso(-60_000),
      circuit: { openUntil: iso(-1), timeouts: 2 },
      healthUpdatedAt: iso(-60_000),
    });
    const { deps, loaded, healthCalls, stored } = setup(sub);
    await recordHealth(deps, loaded, result('success'), log);
    expect(healthCalls()).toEqual([
      {
        op: 'recordHealth',
        id: 'sub_1',
        change: 'healthy',
        seen: { updatedAt: sub.updatedAt, healthUpdatedAt: iso(-60_000), at: NOW.toISOString() },
        applied: true,
      },
    ]);
    expect(stored()).not.toHaveProperty('failingSince');
    expect(stored()).not.toHaveProperty('circuit');
    expect(loaded).not.toHaveProperty('failingSince');
    expect(loaded).not.toHaveProperty('circuit');
    expect(loaded.healthUpdatedAt).toBe(NOW.toISOString());
  });

  it('marks the first failure after a success, and not the ones after it', async () => {
    const { deps, loaded, healthCalls, stored } = setup(aSubscription());
    await recordHealth(deps, loaded, result('retryable'), log);
    await recordHealth(deps, loaded, result('retryable'), log);
    expect(healthCalls()).toMatchObject([{ change: { failingSince: NOW.toISOString() }, applied: true }]);
    expect(stored()?.failingSince).toBe(NOW.toISOString());
    expect(loaded.failingSince).toBe(NOW.toISOString());
  });

  it('opens the circuit on a timeout and tells the loaded copy, so the rest of the batch sees it', async () => {
    const { deps, loaded, stored } = setup(aSubscription());
    await recordHealth(deps, loaded, timedOut(), log);
    const circuit = { openUntil: iso(30_000), timeouts: 1 };
    expect(stored()?.circuit).toEqual(circuit);
    expect(loaded.circuit).toEqual(circuit);
  });

  it('extends an open circuit on a further timeout, longer each time', async () => {
    const sub = aSubscription({ failingSince: iso(-1), circuit: { openUntil: iso(-1), timeouts: 3 } });
    const { deps, loaded, healthCalls } = setup(sub);
    await recordHealth(deps, loaded, timedOut(), log);
    expect(healthCalls()).toMatchObject([{ change: { circuit: { openUntil: iso(240_000), timeouts: 4 } } }]);
    expect(healthCalls()[0]?.change).not.toHaveProperty('failingSince');
  });

  it('closes the circuit when the endpoint answers promptly with an error, keeping failingSince', async () => {
    const sub = aSubscription({ failingSince: iso(-60_000), circuit: { openUntil: iso(-1), timeouts: 2 } });
    const { deps, loaded, healthCalls, stored } = setup(sub);
    await recordHealth(deps, loaded, result('retryable'), log);
    expect(healthCalls()).toMatchObject([{ change: { circuit: null }, applied: true }]);
    expect(stored()).not.toHaveProperty('circuit');
    expect(stored()?.failingSince).toBe(iso(-60_000));
    expect(loaded).not.toHaveProperty('circuit');
  });

  describe('conditional writes', () => {
    it('drops the write when the subscription was edited after it was read, leaving the loaded copy alone', async () => {
      const { deps, loaded, store, healthCalls, stored } = setup(aSubscription());
      const edited = { ...(stored() as Subscription), updatedAt: iso(-1), url: 'https://new.example/' };
      store.subscriptions.set('sub_1', edited);
      await recordHealth(deps, loaded, timedOut(), log);
      expect(healthCalls()).toMatchObject([{ applied: false }]);
      expect(stored()).toEqual(edited);
      expect(loaded).not.toHaveProperty('failingSince');
      expect(loaded).not.toHaveProperty('circuit');
      expect(loaded).not.toHaveProperty('healthUpdatedAt');
    });

    it('drops the write when another attempt changed the health meanwhile', async () => {
      const sub = aSubscription({ failingSince: iso(-60_000), circuit: { openUntil: iso(-1), timeouts: 2 } });
      const { deps, loaded, store, healthCalls, stored } = setup(sub);
      // Another invocation's timeout reopened the circuit after this one read the subscription.
      const reopened = { ...(stored() as Subscription), circuit: { openUntil: iso(120_000), timeouts: 3 } };
      store.subscriptions.set('sub_1', { ...reopened, healthUpdatedAt: iso(-1) });
      await recordHealth(deps, loaded, result('success'), log);
      expect(healthCalls()).toMatchObject([{ change: 'healthy', applied: false }]);
      expect(stored()?.circuit).toEqual({ openUntil: iso(120_000), timeouts: 3 });
      expect(loaded.circuit).toEqual({ openUntil: iso(-1), timeouts: 2 });
    });

    it('drops the write for a deleted subscription', async () => {
      const { deps, loaded, store, healthCalls } = setup(aSubscription());
      store.subscriptions.delete('sub_1');
      await recordHealth(deps, loaded, result('retryable'), log);
      expect(healthCalls()).toMatchObject([{ applied: false }]);
    });

    it('writes over its own earlier write: the loaded copy carries the new version', async () => {
      const { deps, loaded, healthCalls, stored } = setup(aSubscription());
      await recordHealth(deps, loaded, result('retryable'), log);
      await recordHealth(deps, loaded, result('success'), log);
      expect(healthCalls().map((c) => c.applied)).toEqual([true, true]);
      expect(stored()).not.toHaveProperty('failingSince');
    });
  });

  describe('a dead endpoint', () => {
    const failingSince = iso(-5 * 86_400_000 - 1000);

    it('is disabled after deadEndpointDays without a success, announced on the bus first', async () => {
      const { deps, loaded, published, order, stored } = setup(aSubscription({ failingSince }));
      const reason = await recordHealth(deps, loaded, result('retryable'), log);
      const why = `no successful delivery for 5 days (failing since ${failingSince})`;
      expect(reason).toBe(`subscription disabled: ${why}`);
      expect(order).toEqual(['publish', 'disableSubscription']);
      expect(published).toEqual([
        expect.objectContaining({
          type: SUBSCRIPTION_DISABLED,
          tenant: 'acme',
          data: { subscriptionId: 'sub_1', url: 'https://receiver.example/hooks', reason: why, failingSince },
        }),
      ]);
      expect(stored()).toMatchObject({ enabled: false, disabledReason: why });
      expect(loaded.enabled).toBe(false);
    });

    it('is not disabled a moment before the limit', async () => {
      const { deps, loaded, published } = setup(aSubscription({ failingSince: iso(-5 * 86_400_000 + 1000) }));
      await expect(recordHealth(deps, loaded, result('retryable'), log)).resolves.toBeUndefined();
      expect(published).toEqual([]);
    });

    it('is not disabled twice', async () => {
      const { deps, loaded, published, order } = setup(aSubscription({ failingSince, enabled: false }));
      await expect(recordHealth(deps, loaded, result('retryable'), log)).resolves.toBeUndefined();
      expect(published).toEqual([]);
      expect(order).toEqual([]);
    });

    it('stays enabled when the attempt succeeds', async () => {
      const { deps, loaded, published } = setup(aSubscription({ failingSince }));
      await expect(recordHealth(deps, loaded, result('success'), log)).resolves.toBeUndefined();
      expect(published).toEqual([]);
    });
  });
});

describe('circuitWait', () => {
  it('lets every task through a closed circuit without a write', async () => {
    const { deps, loaded, store } = setup(aSubscription());
    await expect(circuitWait(deps, loaded, log)).resolves.toBe(0);
    expect(store.calls).toEqual([]);
  });

  it('holds tasks until an open circuit closes', async () => {
    const { deps, loaded, store } = setup(
      aSubscription({ circuit: { openUntil: iso(45_000), timeouts: 1 } }),
    );
    await expect(circuitWait(deps, loaded, log)).resolves.toBe(45);
    expect(store.calls).toEqual([]);
  });

  it('gives a half-open circuit to exactly one probe, and the others wait for its outcome', async () => {
    const sub = aSubscription({ circuit: { openUntil: iso(-1), timeouts: 2 } });
    const { deps, loaded, store } = setup(sub);
    await expect(circuitWait(deps, loaded, log)).resolves.toBe(0);
    // Another invocation, which read the subscription before the claim.
    const other = structuredClone(sub);
    // The probe's time (5 s + 5 s slack), then the last opening (60 s).
    await expect(circuitWait(deps, other, log)).resolves.toBe(70);
    expect(store.calls.filter((c) => c.op === 'claimProbe')).toHaveLength(2);
  });

  it('moves the loaded copy to the version its claim wrote, so the probe can write its outcome', async () => {
    const sub = aSubscription({ failingSince: iso(-1), circuit: { openUntil: iso(-1), timeouts: 2 } });
    const { deps, loaded, stored } = setup(sub);
    await circuitWait(deps, loaded, log);
    expect(loaded.healthUpdatedAt).toBe(stored()?.healthUpdatedAt);
    expect(loaded.circuit).toEqual(stored()?.circuit);
    await recordHealth(deps, loaded, result('success'), log);
    expect(stored()).not.toHaveProperty('circuit');
  });

  it('holds tasks that see a probe under way for the rest of it and the last opening', async () => {
    const sub = aSubscription({ circuit: { openUntil: iso(-1), timeouts: 2, probeUntil: iso(8000) } });
    const { deps, loaded, store } = setup(sub);
    await expect(circuitWait(deps, loaded, log)).resolves.toBe(68);
    expect(store.calls).toEqual([]);
  });

  it('lets a new probe claim the circuit once the last probe ran out of time', async () => {
    const sub = aSubscription({ circuit: { openUntil: iso(-60_000), timeouts: 2, probeUntil: iso(-1) } });
    const { deps, loaded } = setup(sub);
    await expect(circuitWait(deps, loaded, log)).resolves.toBe(0);
    expect(loaded.circuit?.probeUntil).toBe(iso(10_000));
  });
});
