import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../functions/core/config.ts';
import { parseCidr } from '../../functions/core/targets.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { type client, startTestRelay } from '../support/relay.ts';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe('SSRF defence in the running relay (local runtime with the defence on)', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  let rx: Receiver;

  const start = async (allow: string[] = []) => {
    ({ relay, api } = await startTestRelay([0.05], {
      config: {
        ...configFromEnv({}),
        retry: { delays: [0.05], jitter: 0 },
        attemptTimeoutMs: 2000,
        allowPrivateTargets: false,
        allowedTargetCidrs: allow.map(parseCidr),
      },
    }));
  };
  beforeEach(async () => {
    rx = await startReceiver();
  });
  afterEach(async () => {
    await relay.close();
    await rx.close();
  });

  it('refuses subscriptions to literal private targets in every spelling with a 400 naming the range', async () => {
    await start();
    const port = new URL(rx.url).port;
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `http://2130706433:${port}/`,
      `http://0x7f.1:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://[::1]:${port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/',
      'https://10.0.0.5/hooks',
    ]) {
      const res = await api.post('/v1/subscriptions', { url, eventTypes: ['*'] });
      expect(res.status, url).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'target_refused', details: [{ path: 'url' }] });
      expect(res.body.error.message).toMatch(/^url is refused: target address .* is in a refused range/);
    }
    const sub = await api.subscribe('https://hooks.example.com/x', ['*']);
    const patched = await api.patch(`/v1/subscriptions/${sub.id}`, { url: 'http://192.168.0.10/' });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toMatch(/private network/);
    expect(rx.received).toHaveLength(0);
  });

  it('dead-letters a delivery whose host name resolves to loopback, with the reason in the log, and sends nothing', async () => {
    await start();
    const sub = await api.subscribe(`http://localhost:${new URL(rx.url).port}/hook`, ['*']);
    await api.send('order.created');
    const dlq = await waitFor('the refused delivery in the DLQ', async () => {
      const res = await api.get('/v1/dlq');
      return res.body.count === 1 && res.body;
    });
    expect(dlq.deliveries[0]).toMatchObject({ subscriptionId: sub.id, status: 'dead' });
    // One attempt only: a refused target is a permanent failure.
    expect(dlq.deliveries[0].attempts).toHaveLength(1);
    expect(dlq.deliveries[0].attempts[0]).toMatchObject({ status: 0 });
    expect(dlq.deliveries[0].lastError).toBe('localhost resolves to a refused address (loopback)');
    expect(rx.received).toHaveLength(0);
  });

  it('delivers to an allow-listed private target', async () => {
    await start(['127.0.0.0/8']);
    await api.subscribe(`http://0x7f.1:${new URL(rx.url).port}/hook`, ['*']);
    const id = await api.send('order.created');
    await waitFor('the delivery', () => rx.withId(id).length === 1);
  });
});
