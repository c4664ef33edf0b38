import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attemptDelivery } from '../../../../functions/core/delivery/attempt.ts';
import { DeliveryFailure, networkFailure, targetRefused } from '../../../../functions/core/errors.ts';
import { webhookBody } from '../../../../functions/core/event.ts';
import type { HttpResponse } from '../../../../functions/core/ports.ts';
import {
  anEvent,
  aSubscription,
  FakeSender,
  fixedClock,
  NOW,
  NOW_SECONDS,
  SECRET,
} from '../../support/fakes.ts';

function attempt(answer: Partial<HttpResponse> | Error, overrides: { excerptBytes?: number } = {}) {
  const sender = new FakeSender(answer);
  const subscription = aSubscription();
  const event = anEvent();
  const run = attemptDelivery({
    sender,
    clock: fixedClock(),
    subscription,
    event,
    attempt: 3,
    trigger: 'scheduled',
    timeoutMs: 1234,
    excerptBytes: overrides.excerptBytes ?? 16,
  });
  return { sender, subscription, event, run };
}

describe('attemptDelivery', () => {
  beforeEach(() => {
    // standardwebhooks checks the signed timestamp against Date.now(): make it agree with the clock.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('records a 2xx as success with its status, duration and response excerpt', async () => {
    const { run } = attempt({ status: 204, body: 'ok' });
    const { record, outcome } = await run;
    expect(outcome).toBe('success');
    expect(record).toEqual({
      attempt: 3,
      at: NOW.toISOString(),
      trigger: 'scheduled',
      status: 204,
      durationMs: expect.any(Number),
      responseBody: 'ok',
    });
    expect(record.durationMs).toBeGreaterThanOrEqual(0);
    expect(record).not.toHaveProperty('error');
  });

  it('truncates the response excerpt to excerptBytes', async () => {
    const { record } = await attempt({ status: 200, body: 'x'.repeat(100) }, { excerptBytes: 10 }).run;
    expect(record.responseBody).toBe('x'.repeat(10));
  });

  it("keeps the configured excerpt of a failure's body but at most 256 bytes of a success's", async () => {
    const body = 'y'.repeat(2000);
    const ok = await attempt({ status: 200, body }, { excerptBytes: 1024 }).run;
    expect(ok.record.responseBody).toHaveLength(256);
    const failed = await attempt({ status: 500, body }, { excerptBytes: 1024 }).run;
    expect(failed.record.responseBody).toHaveLength(1024);
  });

  it('keeps at most excerptBytes bytes of a multi-byte response body, cut at a character boundary', async () => {
    const body = 'é'.repeat(50); // 2 bytes per character in UTF-8
    const { record } = await attempt({ status: 200, body }, { excerptBytes: 5 }).run;
    const excerpt = record.responseBody ?? '';
    expect(Buffer.byteLength(excerpt, 'utf8')).toBeLessThanOrEqual(5);
    expect(body.startsWith(excerpt)).toBe(true);
  });

  it('keeps no excerpt when the body is empty or excerptBytes is 0', async () => {
    expect((await attempt({ status: 200, body: '' }).run).record).not.toHaveProperty('responseBody');
    expect((await attempt({ status: 200, body: 'hi' }, { excerptBytes: 0 }).run).record).not.toHaveProperty(
      'responseBody',
    );
  });

  it('records a 500 as retryable with the status as the error', async () => {
    const { record, outcome } = await attempt({ status: 500, body: 'boom' }).run;
    expect(outcome).toBe('retryable');
    expect(record).toMatchObject({ status: 500, error: 'HTTP 500', responseBody: 'boom' });
  });

  it('records a redirect as retryable and says it was not followed', async () => {
    const { record, outcome } = await attempt({ status: 301, headers: { location: 'https://x' } }).run;
    expect(outcome).toBe('retryable');
    expect(record.error).toBe('HTTP 301: redirects are not followed');
  });

  it('records 410 Gone as permanent', async () => {
    const { record, outcome } = await attempt({ status: 410 }).run;
    expect(outcome).toBe('permanent');
    expect(record).toMatchObject({ status: 410, error: 'HTTP 410 Gone: the receiver asked to stop sending' });
  });

  it('records a non-retryable DeliveryFailure as permanent with status 0', async () => {
    const { record, outcome } = await attempt(targetRefused('unsupported URL scheme ftp:')).run;
    expect(outcome).toBe('permanent');
    expect(record).toMatchObject({ status: 0, error: 'unsupported URL scheme ftp:', attempt: 3 });
    expect(record.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('records a retryable DeliveryFailure as retryable with status 0', async () => {
    const { record, outcome } = await attempt(networkFailure('timed out after 1234 ms')).run;
    expect(outcome).toBe('retryable');
    expect(record).toMatchObject({ status: 0, error: 'timed out after 1234 ms' });
  });

  it('records any other error as retryable with status 0 and its message', async () => {
    const { record, outcome } = await attempt(new Error('socket hang up')).run;
    expect(outcome).toBe('retryable');
    expect(record).toMatchObject({ status: 0, error: 'socket hang up', trigger: 'scheduled' });
  });

  it('never throws when the sender fails', async () => {
    await expect(attempt(new DeliveryFailure('x', false)).run).resolves.toBeDefined();
  });

  it('POSTs the webhook body to the subscription url with the timeout', async () => {
    const { run, sender, subscription, event } = attempt({ status: 200 });
    await run;
    expect(sender.requests).toHaveLength(1);
    expect(sender.requests[0]).toMatchObject({
      url: subscription.url,
      body: webhookBody(event),
      timeoutMs: 1234,
    });
  });

  it('sends the event id as webhook-id and the clock time as webhook-timestamp', async () => {
    const { run, sender, event } = attempt({ status: 200 });
    await run;
    const headers = sender.requests[0]?.headers ?? {};
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': event.id,
      'webhook-timestamp': String(NOW_SECONDS),
    });
    expect(headers['webhook-signature']).toMatch(/^v1,/);
  });

  it('signs so that the standardwebhooks package verifies the request', async () => {
    const { run, sender, event } = attempt({ status: 200 });
    await run;
    const req = sender.requests[0];
    if (!req) throw new Error('no request sent');
    expect(new Webhook(SECRET).verify(req.body, req.headers)).toEqual(JSON.parse(webhookBody(event)));
  });

  it('passes the manual trigger through to the record', async () => {
    const sender = new FakeSender({ status: 200 });
    const { record } = await attemptDelivery({
      sender,
      clock: fixedClock(),
      subscription: aSubscription(),
      event: anEvent(),
      attempt: 9,
      trigger: 'manual',
      timeoutMs: 1000,
      excerptBytes: 10,
    });
    expect(record).toMatchObject({ attempt: 9, trigger: 'manual' });
  });

  it('signs with every secret still in its grace period, and never with an expired one', async () => {
    const sender = new FakeSender({ status: 200 });
    const old = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const expired = 'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2Vj';
    const subscription = aSubscription({
      previousSecrets: [
        { secret: expired, expiresAt: new Date(NOW.getTime() - 1).toISOString() },
        { secret: old, expiresAt: new Date(NOW.getTime() + 60_000).toISOString() },
      ],
    });
    await attemptDelivery({
      sender,
      clock: fixedClock(),
      subscription,
      event: anEvent(),
      attempt: 1,
      trigger: 'scheduled',
      timeoutMs: 1000,
      excerptBytes: 16,
    });
    const headers = sender.requests[0]?.headers ?? {};
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    const verify = (secret: string) => new Webhook(secret).verify(sender.requests[0]?.body ?? '', headers);
    expect(verify(SECRET)).toBeTruthy();
    expect(verify(old)).toBeTruthy();
    expect(() => verify(expired)).toThrow();
  });
});
