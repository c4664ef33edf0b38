import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../../../functions/core/config.ts';
import { attemptsPerRound } from '../../../functions/core/delivery/retry.ts';

describe('configFromEnv', () => {
  it('defaults to the Svix schedule of 8 attempts, 20% jitter, a 15 s timeout and the SSRF defence on', () => {
    const config = configFromEnv({});
    expect(config).toEqual({
      retry: { delays: [5, 300, 1800, 7200, 18000, 36000, 36000], jitter: 0.2 },
      attemptTimeoutMs: 15_000,
      responseExcerptBytes: 1024,
      retentionDays: 30,
      allowPrivateTargets: false,
      allowedTargetCidrs: [],
      secretGraceSeconds: 86_400,
      deadEndpointDays: 5,
      circuitBaseSeconds: 30,
      circuitMaxSeconds: 1800,
      portalFrameAncestors: [],
    });
    expect(attemptsPerRound(config.retry)).toBe(8);
  });

  it('treats empty numeric variables as unset', () => {
    expect(configFromEnv({ RELAY_ATTEMPT_TIMEOUT_MS: '', RELAY_RETRY_JITTER: '' })).toMatchObject({
      attemptTimeoutMs: 15_000,
      retry: { jitter: 0.2 },
    });
  });

  it('reads every setting from its variable', () => {
    expect(
      configFromEnv({
        RELAY_RETRY_SCHEDULE: '1, 2,3',
        RELAY_RETRY_JITTER: '0',
        RELAY_ATTEMPT_TIMEOUT_MS: '2500',
        RELAY_RESPONSE_EXCERPT_BYTES: '0',
        RELAY_RETENTION_DAYS: '7',
        RELAY_ALLOW_PRIVATE_TARGETS: 'true',
        RELAY_ALLOWED_TARGET_CIDRS: '10.1.0.0/16, fd00::/8,192.0.2.7',
        RELAY_SECRET_GRACE_SECONDS: '3600',
        RELAY_DEAD_ENDPOINT_DAYS: '2.5',
        RELAY_PORTAL_FRAME_ANCESTORS: 'https://dash.example.com',
      }),
    ).toEqual({
      retry: { delays: [1, 2, 3], jitter: 0 },
      attemptTimeoutMs: 2500,
      responseExcerptBytes: 0,
      retentionDays: 7,
      allowPrivateTargets: true,
      allowedTargetCidrs: [
        { address: '10.1.0.0', prefix: 16, family: 'ipv4' },
        { address: 'fd00::', prefix: 8, family: 'ipv6' },
        { address: '192.0.2.7', prefix: 32, family: 'ipv4' },
      ],
      secretGraceSeconds: 3600,
      deadEndpointDays: 2.5,
      circuitBaseSeconds: 30,
      circuitMaxSeconds: 1800,
      portalFrameAncestors: ['https://dash.example.com'],
    });
  });

  it('names RELAY_PORTAL_FRAME_ANCESTORS and the bad source', () => {
    expect(() => configFromEnv({ RELAY_PORTAL_FRAME_ANCESTORS: 'http://evil.example' })).toThrow(
      /^RELAY_PORTAL_FRAME_ANCESTORS: "http:\/\/evil.example" is not a frame ancestor/,
    );
  });

  it('reads an empty schedule as a single attempt per round', () => {
    const config = configFromEnv({ RELAY_RETRY_SCHEDULE: '' });
    expect(config.retry.delays).toEqual([]);
    expect(attemptsPerRound(config.retry)).toBe(1);
  });

  it('names RELAY_RETRY_SCHEDULE and the bad entry when the schedule is invalid', () => {
    expect(() => configFromEnv({ RELAY_RETRY_SCHEDULE: '5,abc' })).toThrow(
      /^RELAY_RETRY_SCHEDULE: retry schedule entry 2 \("abc"\)/,
    );
  });

  it.each([
    ['RELAY_RETRY_JITTER', '1.5', 'RELAY_RETRY_JITTER must be a number from 0 to 1, got "1.5"'],
    ['RELAY_ATTEMPT_TIMEOUT_MS', '0', 'RELAY_ATTEMPT_TIMEOUT_MS must be a number from 1 to 60000, got "0"'],
    [
      'RELAY_ATTEMPT_TIMEOUT_MS',
      'fast',
      'RELAY_ATTEMPT_TIMEOUT_MS must be a number from 1 to 60000, got "fast"',
    ],
    [
      'RELAY_RESPONSE_EXCERPT_BYTES',
      '-1',
      'RELAY_RESPONSE_EXCERPT_BYTES must be a number from 0 to 4096, got "-1"',
    ],
    ['RELAY_RETENTION_DAYS', '3651', 'RELAY_RETENTION_DAYS must be a number from 1 to 3650, got "3651"'],
    ['RELAY_ALLOW_PRIVATE_TARGETS', 'yes', 'RELAY_ALLOW_PRIVATE_TARGETS must be true or false, got "yes"'],
    [
      'RELAY_ALLOWED_TARGET_CIDRS',
      '10.0.0.0/8,10.0.0.0/33',
      'RELAY_ALLOWED_TARGET_CIDRS: "10.0.0.0/33" is not a CIDR such as 10.0.0.0/8 or fd00::/8',
    ],
  ])('rejects %s=%j with a message naming the variable', (name, value, message) => {
    expect(() => configFromEnv({ [name]: value })).toThrow(message);
  });
});
