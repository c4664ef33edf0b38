import { describe, expect, it } from 'vitest';
import {
  ApiError,
  badRequest,
  classifyStatus,
  DeliveryFailure,
  methodNotAllowed,
  networkFailure,
  notFound,
  payloadTooLarge,
  routeNotFound,
  targetRefused,
  unauthorized,
  unsupportedMediaType,
  zodDetails,
} from '../../../functions/core/errors.ts';

describe('classifyStatus', () => {
  it.each([200, 201, 202, 204, 299])('counts %i as success', (status) => {
    expect(classifyStatus(status)).toBe('success');
  });

  it('counts 410 Gone as permanent: the receiver asked to stop', () => {
    expect(classifyStatus(410)).toBe('permanent');
  });

  it.each([100, 199, 300, 301, 302, 304, 400, 401, 403, 404, 408, 409, 413, 429, 500, 502, 503, 504, 599])(
    'counts %i as retryable',
    (status) => {
      expect(classifyStatus(status)).toBe('retryable');
    },
  );
});

describe('ApiError helpers', () => {
  it.each([
    [badRequest('bad'), 400, 'invalid_request'],
    [unauthorized(), 401, 'unauthorized'],
    [notFound('subscription', 'sub_1'), 404, 'not_found'],
    [routeNotFound('GET', '/x'), 404, 'route_not_found'],
    [methodNotAllowed('PUT', '/v1/dlq', ['GET']), 405, 'method_not_allowed'],
    [payloadTooLarge(10), 413, 'payload_too_large'],
    [unsupportedMediaType('text/plain'), 415, 'unsupported_media_type'],
  ])('maps %o to its status and code', (err, status, code) => {
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status, code, name: 'ApiError' });
  });

  it('says which resource was not found', () => {
    expect(notFound('subscription', 'sub_1').message).toBe('subscription sub_1 not found');
  });

  it('lists the allowed methods of a 405', () => {
    expect(methodNotAllowed('PUT', '/v1/subscriptions/x', ['GET', 'PATCH', 'DELETE']).message).toBe(
      'PUT is not allowed on /v1/subscriptions/x; use GET, PATCH, DELETE',
    );
  });

  it('carries its details, empty by default', () => {
    expect(badRequest('bad').details).toEqual([]);
    expect(badRequest('bad', [{ path: 'url', message: 'm' }]).details).toEqual([
      { path: 'url', message: 'm' },
    ]);
  });

  it('says "none" for a missing content type', () => {
    expect(unsupportedMediaType('').message).toContain('got none');
  });
});

describe('DeliveryFailure helpers', () => {
  it('makes network failures retryable', () => {
    expect(networkFailure('connection refused')).toMatchObject({
      reason: 'connection refused',
      retryable: true,
      name: 'DeliveryFailure',
    });
  });

  it('makes refused targets permanent', () => {
    const failure = targetRefused('unsupported URL scheme ftp:');
    expect(failure).toBeInstanceOf(DeliveryFailure);
    expect(failure.retryable).toBe(false);
  });
});

describe('zodDetails', () => {
  it('joins issue paths with dots and names the body for root issues', () => {
    expect(
      zodDetails([
        { path: ['events', 1, 'type'], message: 'bad type' },
        { path: [], message: 'bad body' },
        { path: [Symbol('s')], message: 'symbol' },
      ]),
    ).toEqual([
      { path: 'events.1.type', message: 'bad type' },
      { path: '(body)', message: 'bad body' },
      { path: 'Symbol(s)', message: 'symbol' },
    ]);
  });
});
