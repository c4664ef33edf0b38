import { expect, it } from 'vitest';
import { aSubscription, NOW } from '../../support/fakes.ts';
import { config, receive, setup, task, until } from './harness.ts';

it('holds an in-flight lease for every task run through one slot: a second invocation never joins a slow endpoint at maxInFlight 1', async () => {
  const s = setup({
    subscription: aSubscription({ maxInFlight: 1 }),
    config: { ...config, attemptTimeoutMs: 15_000 },
  });
  let t = NOW.getTime();
  s.deps.clock = { now: () => new Date(t) };
  s.sender.hold();
  // Invocation A: three tasks of the endpoint, run one at a time through its one slot.
  const a = s.batch([1, 2, 3].map((i) => receive({ ...task, deliveryId: `dlv_a${i}` })));
  for (let wave = 0; wave < 2; wave++) {
    await until(() => s.sender.waiting === 1);
    t += 15_000; // each attempt takes (up to) the attempt timeout
    s.sender.release();
  }
  await until(() => s.sender.waiting === 1); // A's third attempt is on the wire, 30 s in
  t += 5_000;
  // Invocation B, 35 s in: a lease covering one attempt (2 s + 15 s + 15 s) would have run
  // out while A still sends; A's covers all three.
  const b = s.batch([receive({ ...task, deliveryId: 'dlv_b' })]);
  await until(() => s.limiter.of('acquireSlots').length >= 2);
  await until(() => s.sender.waiting === 2).catch(() => undefined);
  expect(s.sender.maxInFlight).toBe(1);
  // Let everything finish: once A gives its slot back, B may take it and send.
  let settled = false;
  const done = Promise.all([a, b]).then(() => {
    settled = true;
  });
  while (!settled) {
    s.sender.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await done;
  expect(s.sender.maxInFlight).toBe(1);
});
