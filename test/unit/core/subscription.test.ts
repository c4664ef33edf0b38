import { describe, expect, it } from 'vitest';
import {
  MAX_IN_FLIGHT_RANGE,
  RATE_LIMIT_RANGE,
  SubscriptionCreateSchema,
  SubscriptionPatchSchema,
  toPublic,
} from '../../../functions/core/subscription.ts';
import { aSubscription } from '../support/fakes.ts';
import { issuesOf } from '../support/schema.ts';

const valid = { url: 'https://receiver.example/hooks', eventTypes: ['order.created', 'shipment.*'] };
const secretOf = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;

describe('SubscriptionCreateSchema', () => {
  it('accepts a url and event types', () => {
    expect(SubscriptionCreateSchema.parse(valid)).toEqual(valid);
  });

  it('accepts every optional field', () => {
    const input = {
      ...valid,
      description: 'orders',
      enabled: false,
      secret: secretOf(32),
      maxInFlight: 10,
      rateLimitPerSecond: 2.5,
    };
    expect(SubscriptionCreateSchema.parse(input)).toEqual(input);
  });

  it.each(['http://localhost:8080/hook', 'https://receiver.example/a?b=c', 'HTTPS://RECEIVER.EXAMPLE'])(
    'accepts the url %j',
    (url) => {
      expect(SubscriptionCreateSchema.safeParse({ ...valid, url }).success).toBe(true);
    },
  );

  it.each([
    'ftp://receiver.example/x',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'mailto:ops@receiver.example',
    '/relative/path',
    'receiver.example/hooks',
    '',
  ])('rejects the url %j', (url) => {
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...valid, url });
    expect(issue).toMatchObject({ path: ['url'], message: 'must be an absolute http:// or https:// URL' });
  });

  it('rejects a url longer than 2048 characters', () => {
    const url = `https://receiver.example/${'a'.repeat(2048)}`;
    expect(issuesOf(SubscriptionCreateSchema, { ...valid, url })[0]?.message).toBe(
      'must be at most 2048 characters',
    );
  });

  it('rejects an empty list of event types', () => {
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...valid, eventTypes: [] });
    expect(issue).toMatchObject({ path: ['eventTypes'], message: 'must list at least one event type' });
  });

  it('rejects more than 100 event types', () => {
    const eventTypes = Array.from({ length: 101 }, (_, i) => `t${i}`);
    expect(issuesOf(SubscriptionCreateSchema, { ...valid, eventTypes })[0]?.message).toBe(
      'must list at most 100 event types',
    );
  });

  it('rejects an invalid event-type filter, pointing at it', () => {
    const [issue] = issuesOf(SubscriptionCreateSchema, {
      ...valid,
      eventTypes: ['order.created', '*.created'],
    });
    expect(issue?.path).toEqual(['eventTypes', 1]);
  });

  it('accepts secrets of 24 to 64 bytes', () => {
    for (const bytes of [24, 48, 64]) {
      expect(SubscriptionCreateSchema.safeParse({ ...valid, secret: secretOf(bytes) }).success).toBe(true);
    }
  });

  it.each([
    ['too short (23 bytes)', secretOf(23), 'must encode 24 to 64 random bytes'],
    ['too long (65 bytes)', secretOf(65), 'must encode 24 to 64 random bytes'],
    ['missing the whsec_ prefix', secretOf(32).slice(6), 'must be "whsec_" followed by base64'],
    ['not base64', 'whsec_not-base64!not-base64!not-base64!', 'must be "whsec_" followed by base64'],
    ['only the prefix', 'whsec_', 'must be "whsec_" followed by base64'],
  ])('rejects a secret that is %s', (_what, secret, message) => {
    const issues = issuesOf(SubscriptionCreateSchema, { ...valid, secret });
    expect(issues.map((i) => i.message)).toContain(message);
    expect(issues[0]?.path).toEqual(['secret']);
  });

  it('rejects unknown fields', () => {
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...valid, tenant: 'other' });
    expect(issue?.code).toBe('unrecognized_keys');
  });

  it('requires url and eventTypes', () => {
    const paths = issuesOf(SubscriptionCreateSchema, {}).map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['url', 'eventTypes']));
  });

  it('rejects a description longer than 1000 characters', () => {
    expect(SubscriptionCreateSchema.safeParse({ ...valid, description: 'd'.repeat(1001) }).success).toBe(
      false,
    );
  });

  it('accepts the endpoint limits at their bounds', () => {
    for (const limits of [
      { maxInFlight: MAX_IN_FLIGHT_RANGE.min, rateLimitPerSecond: RATE_LIMIT_RANGE.min },
      { maxInFlight: MAX_IN_FLIGHT_RANGE.max, rateLimitPerSecond: RATE_LIMIT_RANGE.max },
    ]) {
      expect(SubscriptionCreateSchema.parse({ ...valid, ...limits })).toEqual({ ...valid, ...limits });
    }
  });

  it.each([
    [{ maxInFlight: 0 }, 'maxInFlight', 'must be at least 1'],
    [{ maxInFlight: 501 }, 'maxInFlight', 'must be at most 500'],
    [{ maxInFlight: 2.5 }, 'maxInFlight', 'must be a whole number'],
    [{ rateLimitPerSecond: 0.5 }, 'rateLimitPerSecond', 'must be at least 1 per second'],
    [{ rateLimitPerSecond: 10_001 }, 'rateLimitPerSecond', 'must be at most 10000 per second'],
  ])('rejects the limit %j', (limit, path, message) => {
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...valid, ...limit });
    expect(issue).toMatchObject({ path: [path], message });
  });

  it('takes an ordering of "none" or "fifo" and names anything else', () => {
    expect(SubscriptionCreateSchema.parse({ ...valid, ordering: 'fifo' })).toEqual({
      ...valid,
      ordering: 'fifo',
    });
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...valid, ordering: 'strict' });
    expect(issue).toMatchObject({ path: ['ordering'], message: 'must be "none" or "fifo"' });
  });

  it('does not take null for a rate limit it would create', () => {
    expect(SubscriptionCreateSchema.safeParse({ ...valid, rateLimitPerSecond: null }).success).toBe(false);
  });
});

describe('SubscriptionPatchSchema', () => {
  it('accepts any one mutable field', () => {
    for (const patch of [
      { url: 'https://elsewhere.example' },
      { eventTypes: ['*'] },
      { description: '' },
      { enabled: false },
      { maxInFlight: 5 },
      { rateLimitPerSecond: 100 },
      { ordering: 'fifo' },
      { ordering: 'none' },
    ]) {
      expect(SubscriptionPatchSchema.parse(patch)).toEqual(patch);
    }
  });

  it('rejects a patch with no fields', () => {
    expect(issuesOf(SubscriptionPatchSchema, {})[0]?.message).toBe(
      'must change at least one of url, eventTypes, description, enabled, maxInFlight, rateLimitPerSecond, ordering, filter, headers, auth, format',
    );
  });

  it('takes null for the rate limit: the limit is removed', () => {
    expect(SubscriptionPatchSchema.parse({ rateLimitPerSecond: null })).toEqual({ rateLimitPerSecond: null });
  });

  it('rejects changing the secret or any unknown field', () => {
    const issues = issuesOf(SubscriptionPatchSchema, { secret: secretOf(32) });
    expect(issues[0]).toMatchObject({ code: 'unrecognized_keys' });
  });

  it('validates the fields it is given', () => {
    expect(issuesOf(SubscriptionPatchSchema, { url: 'ftp://x' })[0]?.path).toEqual(['url']);
    expect(issuesOf(SubscriptionPatchSchema, { eventTypes: [] })[0]?.path).toEqual(['eventTypes']);
    expect(issuesOf(SubscriptionPatchSchema, { maxInFlight: 0 })[0]?.path).toEqual(['maxInFlight']);
    expect(issuesOf(SubscriptionPatchSchema, { rateLimitPerSecond: 0 })[0]?.path).toEqual([
      'rateLimitPerSecond',
    ]);
  });
});

describe('toPublic', () => {
  it('drops the secret and the tenant', () => {
    const { secret: _s, tenant: _t, ...rest } = aSubscription({ description: 'x' });
    const pub = toPublic(aSubscription({ description: 'x' }));
    expect(pub).toEqual({ ...rest, format: 'json' });
    expect(pub).not.toHaveProperty('secret');
    expect(pub).not.toHaveProperty('tenant');
  });

  it('drops the health version but shows the health and the limits', () => {
    const sub = aSubscription({
      failingSince: '2026-11-23T09:00:00.000Z',
      healthUpdatedAt: '2026-11-23T09:00:00.000Z',
      maxInFlight: 4,
      rateLimitPerSecond: 2,
    });
    const pub = toPublic(sub);
    expect(pub).not.toHaveProperty('healthUpdatedAt');
    expect(pub).toMatchObject({
      failingSince: '2026-11-23T09:00:00.000Z',
      maxInFlight: 4,
      rateLimitPerSecond: 2,
    });
  });
});

describe('subscription fields that fit real receivers', () => {
  const base = { url: 'https://receiver.example/hooks', eventTypes: ['order.*'] };

  it('takes a filter, custom headers, an auth and a format, and names the bad path when one is wrong', () => {
    const ok = SubscriptionCreateSchema.parse({
      ...base,
      filter: { data: { country: ['NL', 'BE'] } },
      headers: { 'X-Api-Key': 'k-123', 'x-route': 'eu' },
      auth: { type: 'basic', username: 'relay', password: 'pw' },
      format: 'xml',
    });
    expect(ok.format).toBe('xml');
    expect(
      issuesOf(SubscriptionCreateSchema, { ...base, filter: { data: { n: [{ numeric: ['>'] }] } } })[0]
        ?.path?.[0],
    ).toBe('filter');
    expect(issuesOf(SubscriptionCreateSchema, { ...base, format: 'yaml' })[0]).toMatchObject({
      path: ['format'],
      message: 'must be "json" or "xml"',
    });
    expect(issuesOf(SubscriptionCreateSchema, { ...base, auth: { type: 'digest' } })[0]?.path?.[0]).toBe(
      'auth',
    );
  });

  it.each([
    ['webhook-signature', 'signature headers'],
    ['Webhook-Id', 'signature headers'],
    ['content-type', 'set by the relay'],
    ['Content-Length', 'set by the relay'],
    ['host', 'set by the relay'],
    ['connection', 'set by the relay'],
    ['transfer-encoding', 'set by the relay'],
    ['upgrade', 'set by the relay'],
  ])('refuses the reserved header %s', (name, why) => {
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...base, headers: { [name]: 'x' } });
    expect(issue?.path).toEqual(['headers', name]);
    expect(issue?.message).toContain(why);
  });

  it('refuses header injection, bad names, duplicates and more than 20 headers', () => {
    expect(
      issuesOf(SubscriptionCreateSchema, { ...base, headers: { 'x-a': 'v\r\nx-evil: 1' } })[0]?.path,
    ).toEqual(['headers', 'x-a']);
    expect(issuesOf(SubscriptionCreateSchema, { ...base, headers: { 'bad name': 'v' } })[0]?.path?.[0]).toBe(
      'headers',
    );
    expect(
      issuesOf(SubscriptionCreateSchema, { ...base, headers: { 'X-A': '1', 'x-a': '2' } })[0]?.message,
    ).toContain('twice');
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']));
    expect(issuesOf(SubscriptionCreateSchema, { ...base, headers: many })[0]?.message).toBe(
      'must hold at most 20 headers',
    );
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x-h${i}`, 'v']));
    expect(SubscriptionCreateSchema.safeParse({ ...base, headers: twenty }).success).toBe(true);
  });

  it('takes null on a patch to remove a filter, the headers or the auth', () => {
    expect(SubscriptionPatchSchema.parse({ filter: null, headers: null, auth: null })).toEqual({
      filter: null,
      headers: null,
      auth: null,
    });
  });

  it('never shows the credentials of an auth, only its type and public fields', () => {
    const pub = toPublic(
      aSubscription({
        auth: {
          type: 'oauth2',
          tokenUrl: 'https://id.example/token',
          clientId: 'relay',
          clientSecret: 's3cr3t',
        },
        headers: { 'x-api-key': 'k' },
        format: 'xml',
      }),
    );
    expect(pub.auth).toEqual({ type: 'oauth2', tokenUrl: 'https://id.example/token', clientId: 'relay' });
    expect(JSON.stringify(pub)).not.toContain('s3cr3t');
    expect(pub.format).toBe('xml');
    expect(pub.headers).toEqual({ 'x-api-key': 'k' });
    expect(
      JSON.stringify(toPublic(aSubscription({ auth: { type: 'bearer', token: 'tok-9' } }))),
    ).not.toContain('tok-9');
    expect(
      JSON.stringify(toPublic(aSubscription({ auth: { type: 'basic', username: 'u', password: 'pw-7' } }))),
    ).not.toContain('pw-7');
  });
});

describe('subscription fields the table could not hold, and credentials in headers', () => {
  const base = { url: 'https://receiver.example/hooks', eventTypes: ['order.*'] };

  it.each([
    [JSON.parse('{"data":{"id":[12345678901234567]}}'), 'within ±9007199254740991'],
    [{ data: { n: [{ numeric: ['>', 1e-200] }] } }, 'between 1e-130 and 1e126'],
    [JSON.parse('{"data":{"__proto__":{"x":["y"]}}}'), 'not a field name'],
    [{ data: { '': ['y'] } }, 'not a field name'],
  ])('refuses the filter %j with a 400 naming why, not a storage error', (filter, message) => {
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...base, filter });
    expect(issue?.path?.[0]).toBe('filter');
    expect(issue?.message).toContain(message);
  });

  it.each(['Authorization', 'cookie', 'content-encoding'])('refuses the header %s', (name) => {
    const [issue] = issuesOf(SubscriptionCreateSchema, { ...base, headers: { [name]: 'x' } });
    expect(issue?.path).toEqual(['headers', name]);
  });
});
