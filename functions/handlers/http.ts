import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { logger } from '../commons/logger.ts';
import { ApiError, badRequest, payloadTooLarge, unauthorized, zodDetails } from '../core/errors.ts';

/** Bodies beyond this are refused with 413; EventBridge takes 256 KB per entry. */
export const MAX_BODY_BYTES = 256 * 1024;

export type HttpResult = APIGatewayProxyStructuredResultV2;

export function json(statusCode: number, body: unknown): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** Maps any error to a JSON response: ApiErrors to their 4xx, anything else to a logged 500. */
export function errorResponse(err: unknown): HttpResult {
  if (err instanceof ApiError) {
    return json(err.status, { error: { code: err.code, message: err.message, details: err.details } });
  }
  logger.error('unhandled error', { error: err as Error });
  return json(500, {
    error: { code: 'internal_error', message: 'internal error; the request can be retried', details: [] },
  });
}

/** Resolves a bearer key to its tenant, or undefined. */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<string | undefined>;
}

/**
 * Keys held in configuration, compared in constant time through their digests.
 * @param keys map of API key to tenant
 */
export class StaticKeyAuthenticator implements Authenticator {
  private readonly digests: Array<{ digest: Buffer; tenant: string }>;
  constructor(keys: Record<string, string>) {
    this.digests = Object.entries(keys).map(([key, tenant]) => ({ digest: sha256(key), tenant }));
  }
  async authenticate(authorization: string | undefined): Promise<string | undefined> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return undefined;
    const digest = sha256(match[1]);
    let tenant: string | undefined;
    for (const k of this.digests) if (timingSafeEqual(k.digest, digest)) tenant = k.tenant;
    return tenant;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export async function requireTenant(auth: Authenticator, event: APIGatewayProxyEventV2): Promise<string> {
  const tenant = await auth.authenticate(event.headers?.authorization);
  if (!tenant) throw unauthorized();
  return tenant;
}

/** Parses the JSON body and validates it, with errors that name the field and the problem. */
export function parseBody<S extends z.ZodMiniType>(event: APIGatewayProxyEventV2, schema: S): z.infer<S> {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
  if (text.trim() === '') throw badRequest('request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  return parseValue(value, schema, 'request body is invalid');
}

export function parseValue<S extends z.ZodMiniType>(value: unknown, schema: S, summary: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const details = zodDetails(result.error.issues);
    const first = details[0];
    throw badRequest(first ? `${summary}: ${first.path}: ${first.message}` : summary, details);
  }
  return result.data;
}
