import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { logger } from '../commons/logger.ts';
import {
  ApiError,
  badRequest,
  payloadTooLarge,
  unauthorized,
  unsupportedMediaType,
  zodDetails,
} from '../core/errors.ts';
import { hashKey, keyIdOf, tenantKeyRequired } from '../core/keys.ts';
import {
  hashPortalToken,
  PORTAL_TOKEN_PREFIX,
  type PortalSession,
  type PortalSessionStore,
  portalSessionForbidden,
  portalSessionIdOf,
} from '../core/portal/token.ts';
import type { ApiKeyStore } from '../core/ports.ts';

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

/** Who a bearer key belongs to: a tenant, or the operator (the admin key). */
/** A portal session's principal carries `portal`: it may use the routes marked `portal` only. */
export type Principal = { tenant: string; portal?: { sessionId: string } } | { admin: true };

/** Resolves an `Authorization` header to its principal, or undefined. */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/**
 * Keys held in configuration (local RELAY_API_KEY, RELAY_ADMIN_KEY, the admin key from Secrets
 * Manager), compared in constant time through their digests.
 * @param keys map of key to principal
 */
export class StaticKeyAuthenticator implements Authenticator {
  private readonly digests: Array<{ digest: Buffer; principal: Principal }>;
  constructor(keys: Record<string, Principal>) {
    this.digests = Object.entries(keys).map(([key, principal]) => ({ digest: sha256(key), principal }));
  }
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    const token = bearerToken(authorization);
    if (!token) return undefined;
    const digest = sha256(token);
    let principal: Principal | undefined;
    for (const k of this.digests) if (timingSafeEqual(k.digest, digest)) principal = k.principal;
    return principal;
  }
}

/**
 * Tenant keys created through the admin API, looked up by their hash (one GetItem by the id
 * derived from it) and remembered for a short while: a revoked key stops working within
 * `ttlMs` (60 s) on every function instance.
 */
export class StoreKeyAuthenticator implements Authenticator {
  private readonly cache = new Map<string, { principal: Principal | undefined; at: number }>();

  constructor(
    private readonly store: Pick<ApiKeyStore, 'getApiKey'>,
    private readonly ttlMs = 60_000,
    private readonly negativeTtlMs = 5_000,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    const token = bearerToken(authorization);
    if (!token?.startsWith('rk_')) return undefined;
    const hash = hashKey(token);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && now - hit.at < (hit.principal ? this.ttlMs : this.negativeTtlMs)) return hit.principal;
    const record = await this.store.getApiKey(keyIdOf(hash));
    const principal =
      record && timingSafeEqual(Buffer.from(record.hash), Buffer.from(hash))
        ? { tenant: record.tenant }
        : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, at: now });
    return principal;
  }
}

/**
 * Portal session tokens (`ps_...`), looked up by the id derived from their hash and remembered
 * for a short while: a revoked session stops working within `ttlMs` (10 s); an expired one at
 * its expiry.
 */
export class PortalSessionAuthenticator implements Authenticator {
  private readonly cache = new Map<string, { session: PortalSession | undefined; at: number }>();

  constructor(
    private readonly store: Pick<PortalSessionStore, 'getPortalSession'>,
    private readonly clock: { now(): Date } = { now: () => new Date() },
    private readonly ttlMs = 10_000,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    const token = bearerToken(authorization);
    if (!token?.startsWith(PORTAL_TOKEN_PREFIX)) return undefined;
    const hash = hashPortalToken(token);
    const now = this.clock.now();
    let hit = this.cache.get(hash);
    if (!hit || now.getTime() - hit.at >= this.ttlMs) {
      const session = await this.store.getPortalSession(portalSessionIdOf(hash));
      const valid =
        session && timingSafeEqual(Buffer.from(session.hash), Buffer.from(hash)) ? session : undefined;
      hit = { session: valid, at: now.getTime() };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, hit);
    }
    const s = hit.session;
    if (!s || s.expiresAt <= now.toISOString()) return undefined;
    return { tenant: s.tenant, portal: { sessionId: s.id } };
  }
}

/** Asks each authenticator in turn; the first that knows the key wins. */
export class ChainAuthenticator implements Authenticator {
  constructor(private readonly chain: readonly Authenticator[]) {}
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    for (const auth of this.chain) {
      const principal = await auth.authenticate(authorization);
      if (principal) return principal;
    }
    return undefined;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export async function authenticate(auth: Authenticator, event: APIGatewayProxyEventV2): Promise<Principal> {
  const principal = await auth.authenticate(event.headers?.authorization);
  if (!principal) throw unauthorized();
  return principal;
}

/** The tenant a tenant key belongs to; 401 without a valid key, 403 for the admin key. */
export async function requireTenant(auth: Authenticator, event: APIGatewayProxyEventV2): Promise<string> {
  const principal = await authenticate(auth, event);
  if ('admin' in principal) throw tenantKeyRequired();
  // A portal session manages endpoints; sending events is the provider's, with its key.
  if (principal.portal) throw portalSessionForbidden();
  return principal.tenant;
}

/** Parses the JSON body and validates it, with errors that name the field and the problem. */
export function parseBody<S extends z.ZodMiniType>(event: APIGatewayProxyEventV2, schema: S): z.infer<S> {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
  if (text.trim() === '') throw badRequest('request body is empty; send a JSON object');
  const type = event.headers?.['content-type'] ?? '';
  if (!isJsonMediaType(type)) throw unsupportedMediaType(type);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  return parseValue(value, schema, 'request body is invalid');
}

/** `application/json`, with or without parameters (`; charset=utf-8`), in any case. */
export function isJsonMediaType(contentType: string): boolean {
  return /^application\/json\s*(;.*)?$/i.test(contentType.trim());
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
