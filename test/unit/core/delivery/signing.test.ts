import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  generateSecret,
  secretKey,
  sign,
  webhookHeaders,
} from '../../../../functions/core/delivery/signing.ts';
import { SubscriptionCreateSchema } from '../../../../functions/core/subscription.ts';
import { NOW, NOW_SECONDS } from '../../support/fakes.ts';

describe('sign', () => {
  it('reproduces the first Standard Webhooks test vector', () => {
    expect(
      sign(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('reproduces the second Standard Webhooks test vector', () => {
    expect(
      sign(
        'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
        'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
        1649367553,
        '{"email":"test@example.com","username":"test_user"}',
      ),
    ).toBe('v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=');
  });

  it('signs identically with and without the whsec_ prefix', () => {
    const args = ['msg_1', 1614265330, '{"a":1}'] as const;
    expect(sign('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ...args)).toBe(
      sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ...args),
    );
  });

  it('agrees with the standardwebhooks package for the same inputs', () => {
    const secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    const body = '{"type":"order.created","data":{}}';
    expect(sign(secret, 'evt_1', NOW_SECONDS, body)).toBe(new Webhook(secret).sign('evt_1', NOW, body));
  });

  it('changes when the id, the timestamp or the body changes', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const base = sign(secret, 'msg_1', 100, 'body');
    expect(sign(secret, 'msg_2', 100, 'body')).not.toBe(base);
    expect(sign(secret, 'msg_1', 101, 'body')).not.toBe(base);
    expect(sign(secret, 'msg_1', 100, 'body ')).not.toBe(base);
  });

  it.each(['', 'whsec_'])('refuses to sign with an empty secret (%j)', (secret) => {
    expect(() => sign(secret, 'msg_1', 1, 'x')).toThrow('webhook secret is empty');
    expect(() => secretKey(secret)).toThrow('webhook secret is empty');
  });
});

describe('webhookHeaders', () => {
  it('sends the id, the timestamp in seconds and one signature', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(webhookHeaders([secret], 'msg_1', 1614265330, 'x')).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1614265330',
      'webhook-signature': sign(secret, 'msg_1', 1614265330, 'x'),
    });
  });

  it('lists one v1 signature per secret, space-separated, in the order of the secrets', () => {
    const a = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const b = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    const signature = webhookHeaders([a, b], 'msg_1', 1614265330, 'x')['webhook-signature'] ?? '';
    const entries = signature.split(' ');
    expect(entries).toHaveLength(2);
    expect(entries).toEqual([sign(a, 'msg_1', 1614265330, 'x'), sign(b, 'msg_1', 1614265330, 'x')]);
    for (const e of entries) expect(e).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });
});

describe('generateSecret', () => {
  it('issues whsec_ plus the base64 of 24 random bytes', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(secretKey(secret)).toHaveLength(24);
  });

  it('issues a different secret every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => generateSecret()));
    expect(secrets.size).toBe(50);
  });

  it('issues secrets the subscription schema accepts', () => {
    const result = SubscriptionCreateSchema.safeParse({
      url: 'https://receiver.example/hooks',
      eventTypes: ['*'],
      secret: generateSecret(),
    });
    expect(result.success).toBe(true);
  });
});

describe('verification with the standardwebhooks package', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = JSON.stringify({ type: 'shipment.delivered', timestamp: NOW.toISOString(), data: { id: 1 } });

  beforeEach(() => {
    // standardwebhooks checks the timestamp against Date.now(); pin it.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts our headers', () => {
    const headers = webhookHeaders([secret], 'evt_1', NOW_SECONDS, body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('accepts our headers with either of two active secrets', () => {
    const other = generateSecret();
    const headers = webhookHeaders([secret, other], 'evt_1', NOW_SECONDS, body);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(other).verify(body, headers)).not.toThrow();
  });

  it('accepts a timestamp exactly 300 s old', () => {
    const headers = webhookHeaders([secret], 'evt_1', NOW_SECONDS - 300, body);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
  });

  it('rejects a tampered body', () => {
    const headers = webhookHeaders([secret], 'evt_1', NOW_SECONDS, body);
    expect(() => new Webhook(secret).verify(body.replace('"id":1', '"id":2'), headers)).toThrow(
      'No matching signature found',
    );
  });

  it('rejects a timestamp 301 s old', () => {
    const headers = webhookHeaders([secret], 'evt_1', NOW_SECONDS - 301, body);
    expect(() => new Webhook(secret).verify(body, headers)).toThrow('Message timestamp too old');
  });

  it('rejects a signature made with another secret', () => {
    const headers = webhookHeaders([generateSecret()], 'evt_1', NOW_SECONDS, body);
    expect(() => new Webhook(secret).verify(body, headers)).toThrow('No matching signature found');
  });

  it('rejects a signature whose webhook-id was changed', () => {
    const headers = { ...webhookHeaders([secret], 'evt_1', NOW_SECONDS, body), 'webhook-id': 'evt_2' };
    expect(() => new Webhook(secret).verify(body, headers)).toThrow('No matching signature found');
  });
});
