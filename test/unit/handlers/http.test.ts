import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, badRequest, notFound } from '../../../functions/core/errors.ts';
import {
  errorResponse,
  isJsonMediaType,
  json,
  MAX_BODY_BYTES,
  parseBody,
  parseValue,
  requireTenant,
  StaticKeyAuthenticator,
} from '../../../functions/handlers/http.ts';

function request(
  body: string | undefined,
  opts: { base64?: boolean; authorization?: string; contentType?: string | null } = {},
) {
  const type = opts.contentType === undefined ? 'application/json' : opts.contentType;
  return {
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: opts.base64 ?? false,
    headers: {
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
      ...(type !== null ? { 'content-type': type } : {}),
    },
  } as APIGatewayProxyEventV2;
}

const Schema = z.strictObject({ name: z.string(), size: z.number().optional() });

/** Runs `fn` and returns the ApiError it threw. */
function apiErrorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an ApiError, nothing was thrown');
}

describe('StaticKeyAuthenticator', () => {
  const auth = new StaticKeyAuthenticator({
    'key-acme': { tenant: 'acme' },
    'key-globex': { tenant: 'globex' },
    'key-admin': { admin: true },
  });
  const acme = { tenant: 'acme' };

  it('resolves a bearer key to its tenant, or to the admin', async () => {
    await expect(auth.authenticate('Bearer key-acme')).resolves.toEqual(acme);
    await expect(auth.authenticate('Bearer key-globex')).resolves.toEqual({ tenant: 'globex' });
    await expect(auth.authenticate('Bearer key-admin')).resolves.toEqual({ admin: true });
  });

  it('accepts the scheme in any case and extra spaces around the key', async () => {
    await expect(auth.authenticate('bearer key-acme')).resolves.toEqual(acme);
    await expect(auth.authenticate('BEARER key-acme')).resolves.toEqual(acme);
    await expect(auth.authenticate('Bearer   key-acme  ')).resolves.toEqual(acme);
  });

  it.each([
    ['a wrong key', 'Bearer key-initech'],
    ['a key differing in case', 'Bearer KEY-ACME'],
    ['a prefix of a key', 'Bearer key-acm'],
    ['a missing key', 'Bearer '],
    ['the key without the scheme', 'key-acme'],
    ['another scheme', 'Basic key-acme'],
    ['two tokens', 'Bearer key-acme extra'],
    ['an empty header', ''],
  ])('rejects %s', async (_what, header) => {
    await expect(auth.authenticate(header)).resolves.toBeUndefined();
  });

  it('rejects a missing header', async () => {
    await expect(auth.authenticate(undefined)).resolves.toBeUndefined();
  });

  it('rejects everything when no keys are configured', async () => {
    await expect(new StaticKeyAuthenticator({}).authenticate('Bearer anything')).resolves.toBeUndefined();
  });
});

describe('requireTenant', () => {
  const auth = new StaticKeyAuthenticator({ k: { tenant: 'acme' }, a: { admin: true } });

  it('refuses the admin key with 403: tenant routes need a tenant key', async () => {
    await expect(
      requireTenant(auth, request(undefined, { authorization: 'Bearer a' })),
    ).rejects.toMatchObject({
      status: 403,
      code: 'tenant_key_required',
    });
  });

  it('returns the tenant of a valid key', async () => {
    await expect(requireTenant(auth, request(undefined, { authorization: 'Bearer k' }))).resolves.toBe(
      'acme',
    );
  });

  it('throws a 401 ApiError without a valid key', async () => {
    await expect(requireTenant(auth, request(undefined))).rejects.toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    await expect(
      requireTenant(auth, request(undefined, { authorization: 'Bearer nope' })),
    ).rejects.toBeInstanceOf(ApiError);
  });
});

describe('parseBody', () => {
  it('parses and validates a JSON body', () => {
    expect(parseBody(request('{"name":"a","size":2}'), Schema)).toEqual({ name: 'a', size: 2 });
  });

  it('decodes a base64 body first', () => {
    const body = Buffer.from('{"name":"ünïcode"}').toString('base64');
    expect(parseBody(request(body, { base64: true }), Schema)).toEqual({ name: 'ünïcode' });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['only whitespace', ' \n\t '],
  ])('refuses a %s body with 400', (_what, body) => {
    const err = apiErrorOf(() => parseBody(request(body), Schema));
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(err.message).toBe('request body is empty; send a JSON object');
  });

  it('refuses invalid JSON with 400 and the parser message', () => {
    const err = apiErrorOf(() => parseBody(request('{"name":'), Schema));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^request body is not valid JSON: /);
  });

  it('refuses a base64 body that does not decode to JSON with 400', () => {
    const body = Buffer.from('not json').toString('base64');
    expect(apiErrorOf(() => parseBody(request(body, { base64: true }), Schema)).message).toMatch(
      /^request body is not valid JSON/,
    );
  });

  it('refuses an empty base64 body with 400', () => {
    expect(apiErrorOf(() => parseBody(request('', { base64: true }), Schema)).message).toBe(
      'request body is empty; send a JSON object',
    );
  });

  it('refuses a body that fails the schema with 400, naming the field', () => {
    const err = apiErrorOf(() => parseBody(request('{"name":1}'), Schema));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^request body is invalid: name: /);
    expect(err.details).toEqual([{ path: 'name', message: expect.any(String) }]);
  });

  it('names the body itself when the JSON is not an object', () => {
    const err = apiErrorOf(() => parseBody(request('[1,2]'), Schema));
    expect(err.details[0]?.path).toBe('(body)');
  });

  it('accepts a body of exactly 256 KB', () => {
    const prefix = '{"name":"';
    const body = `${prefix}${'a'.repeat(MAX_BODY_BYTES - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    expect(parseBody(request(body), Schema).name).toHaveLength(MAX_BODY_BYTES - prefix.length - 2);
  });

  it('refuses a body over 256 KB with 413', () => {
    const body = JSON.stringify({ name: 'a'.repeat(MAX_BODY_BYTES) });
    const err = apiErrorOf(() => parseBody(request(body), Schema));
    expect(err).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(err.message).toBe(`request body is larger than ${MAX_BODY_BYTES} bytes`);
  });

  it('counts bytes, not characters, toward the limit', () => {
    const body = JSON.stringify({ name: 'é'.repeat(MAX_BODY_BYTES / 2) }); // ~2x the limit in bytes
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    expect(apiErrorOf(() => parseBody(request(body), Schema)).status).toBe(413);
  });

  it('applies the limit to the decoded size of a base64 body', () => {
    const decoded = JSON.stringify({ name: 'a'.repeat(200 * 1024) });
    const encoded = Buffer.from(decoded).toString('base64');
    expect(encoded.length).toBeGreaterThan(MAX_BODY_BYTES);
    expect(parseBody(request(encoded, { base64: true }), Schema).name).toHaveLength(200 * 1024);

    const tooBig = Buffer.from(JSON.stringify({ name: 'a'.repeat(MAX_BODY_BYTES) })).toString('base64');
    expect(apiErrorOf(() => parseBody(request(tooBig, { base64: true }), Schema)).status).toBe(413);
  });
});

describe('parseBody content type', () => {
  it('refuses a JSON body sent without content-type: application/json with a 415 naming the expected type', () => {
    for (const contentType of [
      null,
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/jsonx',
    ]) {
      const err = apiErrorOf(() => parseBody(request('{"name":"a"}', { contentType }), Schema));
      expect(err.status).toBe(415);
      expect(err.code).toBe('unsupported_media_type');
      expect(err.message).toContain('application/json');
      expect(err.message).toContain(contentType ?? 'none');
    }
  });

  it('takes application/json in any case and with parameters', () => {
    for (const contentType of ['application/json', 'Application/JSON', 'application/json; charset=utf-8']) {
      expect(parseBody(request('{"name":"a"}', { contentType }), Schema)).toEqual({ name: 'a' });
    }
    expect(isJsonMediaType(' application/json ;charset=UTF-8')).toBe(true);
  });

  it('says an empty body is empty before asking about its type', () => {
    expect(apiErrorOf(() => parseBody(request('', { contentType: null }), Schema)).status).toBe(400);
  });
});

describe('parseValue', () => {
  it('uses the given summary in its message', () => {
    const err = apiErrorOf(() =>
      parseValue({ limit: 'x' }, z.object({ limit: z.number() }), 'query string is invalid'),
    );
    expect(err.message).toMatch(/^query string is invalid: limit: /);
  });
});

describe('json', () => {
  it('serialises the body with a JSON content type', () => {
    expect(json(201, { id: 'x' })).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'application/json' },
      body: '{"id":"x"}',
    });
  });
});

describe('errorResponse', () => {
  const bodyOf = (r: ReturnType<typeof errorResponse>) => JSON.parse(r.body ?? '');

  it('answers an ApiError with its status and {error: {code, message, details}}', () => {
    const res = errorResponse(
      badRequest('request body is invalid: url: bad', [{ path: 'url', message: 'bad' }]),
    );
    expect(res.statusCode).toBe(400);
    expect(res.headers).toEqual({ 'content-type': 'application/json' });
    expect(bodyOf(res)).toEqual({
      error: {
        code: 'invalid_request',
        message: 'request body is invalid: url: bad',
        details: [{ path: 'url', message: 'bad' }],
      },
    });
  });

  it('answers a not-found ApiError with 404 and empty details', () => {
    const res = errorResponse(notFound('delivery', 'dlv_1'));
    expect(res.statusCode).toBe(404);
    expect(bodyOf(res)).toEqual({
      error: { code: 'not_found', message: 'delivery dlv_1 not found', details: [] },
    });
  });

  it('answers any other error with a generic 500 that leaks nothing', () => {
    const res = errorResponse(new Error('connection string postgres://secret@db'));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret');
    expect(bodyOf(res)).toEqual({
      error: { code: 'internal_error', message: 'internal error; the request can be retried', details: [] },
    });
  });

  it('answers a thrown non-Error value with 500', () => {
    expect(errorResponse('just a string').statusCode).toBe(500);
    expect(errorResponse(undefined).statusCode).toBe(500);
  });
});
