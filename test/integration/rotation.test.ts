import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, run } from '../../cli/main.ts';
import { configFromEnv } from '../../functions/core/config.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { type Received, startReceiver, waitFor } from '../support/receiver.ts';
import { type client, startTestRelay } from '../support/relay.ts';

const verifies = (secret: string, r: Received | undefined) => {
  try {
    new Webhook(secret).verify(r?.body ?? '', {
      'webhook-id': String(r?.headers['webhook-id']),
      'webhook-timestamp': String(r?.headers['webhook-timestamp']),
      'webhook-signature': String(r?.headers['webhook-signature']),
    });
    return true;
  } catch {
    return false;
  }
};

describe('secret rotation', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  let rx: Awaited<ReturnType<typeof startReceiver>>;

  beforeEach(async () => {
    ({ relay, api } = await startTestRelay([0.05], {
      config: {
        ...configFromEnv({}),
        retry: { delays: [0.05], jitter: 0 },
        attemptTimeoutMs: 2000,
        allowPrivateTargets: true,
        secretGraceSeconds: 1,
      },
    }));
    rx = await startReceiver();
  });
  afterEach(async () => {
    await relay.close();
    await rx.close();
  });

  it('signs with both secrets during the grace period, then with the new one only', async () => {
    const sub = await api.subscribe(rx.url, ['*']);
    const rotated = await api.post(`/v1/subscriptions/${sub.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret: string = rotated.body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(sub.secret);
    expect(rotated.body.previousSecretExpiresAt).toEqual(expect.any(String));
    expect((await api.get(`/v1/subscriptions/${sub.id}/secret`)).body).toEqual({ secret: newSecret });
    // The old secret is never listed.
    expect(JSON.stringify((await api.get(`/v1/subscriptions/${sub.id}`)).body)).not.toContain(sub.secret);

    const during = await api.send('a.b');
    await waitFor('delivery during the grace period', () => rx.withId(during).length === 1);
    const got = rx.withId(during)[0];
    expect(String(got?.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(newSecret, got)).toBe(true);
    expect(verifies(sub.secret, got)).toBe(true);

    await new Promise((r) => setTimeout(r, 1100));
    const after = await api.send('a.b');
    await waitFor('delivery after the grace period', () => rx.withId(after).length === 1);
    const late = rx.withId(after)[0];
    expect(String(late?.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(newSecret, late)).toBe(true);
    expect(verifies(sub.secret, late)).toBe(false);
  });

  it('takes a secret of your choosing, refuses a malformed one, and 404s an unknown subscription', async () => {
    const sub = await api.subscribe(rx.url, ['*']);
    const chosen = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const res = await api.post(`/v1/subscriptions/${sub.id}/rotate-secret`, { secret: chosen });
    expect(res.body.secret).toBe(chosen);
    const bad = await api.post(`/v1/subscriptions/${sub.id}/rotate-secret`, { secret: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('secret');
    expect((await api.post('/v1/subscriptions/sub_nope/rotate-secret')).status).toBe(404);
  });

  it('rotates from the CLI', async () => {
    const sub = await api.subscribe(rx.url, ['*']);
    const out: string[] = [];
    const code = await run(['subscriptions', 'rotate', sub.id], {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      isTTY: false,
      env: { RELAY_URL: relay.url, RELAY_API_KEY: relay.apiKey },
    });
    expect(code).toBe(EXIT.ok);
    expect(out.join('')).toMatch(/^whsec_\S+\n\(the previous secret also signs until \d{4}-/);
  });
});
