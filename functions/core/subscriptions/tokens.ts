import { createHmac, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { DeliveryFailure } from '../errors.ts';
import type { Clock, HttpSender } from '../ports.ts';
import type { EndpointAuth, OAuth2Auth } from './auth.ts';
import '../zod.ts';

/*
 * What an attempt needs to authenticate to an endpoint: the headers of a subscription's auth and
 * the OAuth2 token cache. Apart from auth.ts (the schemas a subscription is checked with at the
 * API), so the delivery function does not carry those.
 */

/**
 * A per-process key for {@link authCacheKey}: the key names a credential version without being
 * a plain hash of it, so a key that ends up in a log or a heap dump cannot be used to test
 * guesses of a weak password offline. Tokens are cached per process, so nothing needs it stable.
 */
const CACHE_KEY_SALT = randomBytes(32);

/**
 * The cache key of a subscription's credentials: its id plus a truncated HMAC-SHA-256 of every
 * credential field, so an edited credential (secret, scope, token URL...) never reuses a token
 * fetched with the old one.
 */
export function authCacheKey(subscriptionId: string, auth: EndpointAuth): string {
  const fields =
    auth.type === 'basic'
      ? [auth.type, auth.username, auth.password]
      : auth.type === 'bearer'
        ? [auth.type, auth.token]
        : [
            auth.type,
            auth.tokenUrl,
            auth.clientId,
            auth.clientSecret,
            auth.scope ?? null,
            auth.audience ?? null,
          ];
  const digest = createHmac('sha256', CACHE_KEY_SALT).update(JSON.stringify(fields)).digest('hex');
  return `${subscriptionId}#${digest.slice(0, 24)}`;
}

/**
 * The token endpoint's JSON answer (RFC 6749 §5.1). `token_type` is required by the RFC but some
 * servers leave it out; when present it must be Bearer (we only know how to present those).
 * `expires_in` is a number of seconds; a few servers send it as a string of digits.
 */
const TokenResponseSchema = z.object({
  // Sent as `Authorization: Bearer <token>`: visible ASCII only (RFC 6750 b64token is narrower).
  access_token: z.string().check(z.minLength(1), z.maxLength(16_384), z.regex(/^[\x21-\x7e]+$/)),
  token_type: z.optional(z.string().check(z.refine((t) => t.toLowerCase() === 'bearer'))),
  expires_in: z.optional(z.union([z.number().check(z.gte(0)), z.string().check(z.regex(/^\d{1,10}$/))])),
});

/** Without `expires_in`, a token is reused this long. */
export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;
/** However long a token claims to live, it is fetched again after this. */
export const MAX_TOKEN_LIFETIME_MS = 24 * 3600_000;
/** Refresh this long before expiry, or 10% of the lifetime when that is shorter. */
export const TOKEN_EXPIRY_MARGIN_MS = 60_000;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_ENTRIES = 1000;

/** How long a token with this `expires_in` (seconds) may be used, from when it was requested. */
export function tokenLifetimeMs(expiresInSeconds: number | undefined): number {
  if (expiresInSeconds === undefined) return DEFAULT_TOKEN_LIFETIME_MS;
  const lifetime = Math.min(expiresInSeconds * 1000, MAX_TOKEN_LIFETIME_MS);
  return lifetime - Math.min(TOKEN_EXPIRY_MARGIN_MS, lifetime * 0.1);
}

/** application/x-www-form-urlencoded encoding of one value (as RFC 6749 §2.3.1 asks for client ids). */
const formEncode = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);

/*
 * Error classification. A token failure fails the attempt, never the delivery: every answer of
 * the token endpoint (5xx, 429, but also 400 invalid_client, 401, 403, a 3xx, a 2xx that is not
 * a token) is retryable, like network trouble and timeouts. The tenant fixes wrong credentials or
 * a wrong token URL by editing the subscription, and the next attempt reads the edited one (a new
 * cache key); an identity provider's bad deploy is fixed by its owner. This is what EventBridge
 * API destinations do: a connection whose token cannot be fetched is deauthorized, its events
 * stay under the rule's retry policy and go to the DLQ once that is exhausted, never dropped;
 * and it is how the relay treats a receiver's own 4xx (errors.ts classifyStatus). The retry
 * schedule is bounded, so an IdP is not hammered, and the DLQ catches exhaustion with the reason.
 * Only what the sender itself calls permanent stays permanent: a token URL the SSRF policy
 * refuses (or an invalid one) cannot work without an edit, exactly like a refused webhook URL.
 * `timedOut` is not passed on: the circuit breaker is about the receiver, not its IdP, and
 * concurrent attempts already share one token request.
 */

/** Fetches and caches OAuth 2.0 client-credentials tokens, per cache key ({@link authCacheKey}). */
export class OAuthTokenCache {
  private readonly sender: HttpSender;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  /** Least recently used first (a Map keeps insertion order; a hit moves the entry to the end). */
  private readonly cached = new Map<string, { token: string; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(opts: { sender: HttpSender; clock: Clock; timeoutMs?: number; maxEntries?: number }) {
    this.sender = opts.sender;
    this.clock = opts.clock;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
  }

  /** A valid access token for these credentials: the cached one, or a fresh one (shared by concurrent callers). */
  token(auth: OAuth2Auth, cacheKey: string): Promise<string> {
    const hit = this.cached.get(cacheKey);
    if (hit) {
      this.cached.delete(cacheKey);
      if (hit.expiresAt > this.clock.now().getTime()) {
        this.cached.set(cacheKey, hit);
        return Promise.resolve(hit.token);
      }
    }
    const pending = this.inFlight.get(cacheKey);
    if (pending) return pending;
    const request = this.fetchToken(auth, cacheKey).finally(() => {
      if (this.inFlight.get(cacheKey) === request) this.inFlight.delete(cacheKey);
    });
    this.inFlight.set(cacheKey, request);
    return request;
  }

  /**
   * Forgets the cached token (the receiver answered 401 with it). With `rejected`, only if the
   * cached token is still that one: a token another attempt fetched meanwhile is kept.
   */
  invalidate(cacheKey: string, rejected?: string): void {
    const hit = this.cached.get(cacheKey);
    if (hit && (rejected === undefined || hit.token === rejected)) this.cached.delete(cacheKey);
  }

  /** Cached tokens (for tests and metrics). */
  get size(): number {
    return this.cached.size;
  }

  private async fetchToken(auth: OAuth2Auth, cacheKey: string): Promise<string> {
    const origin = URL.canParse(auth.tokenUrl) ? new URL(auth.tokenUrl).origin : 'an invalid URL';
    const fail = (why: string, retryable = true) =>
      new DeliveryFailure(`OAuth token request to ${origin} failed: ${why}`, retryable);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope !== undefined) form.set('scope', auth.scope);
    if (auth.audience !== undefined) form.set('audience', auth.audience);
    const basic = Buffer.from(`${formEncode(auth.clientId)}:${formEncode(auth.clientSecret)}`).toString(
      'base64',
    );
    const redact = (text: string) =>
      [auth.clientSecret, formEncode(auth.clientSecret), basic].reduce(
        (t, secret) => t.split(secret).join('[redacted]'),
        text,
      );
    const requestedAt = this.clock.now().getTime();
    let res: Awaited<ReturnType<HttpSender['post']>>;
    try {
      res = await this.sender.post(
        auth.tokenUrl,
        {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${basic}`,
          'user-agent': 'webhook-relay/0.1',
        },
        form.toString(),
        this.timeoutMs,
      );
    } catch (err) {
      if (err instanceof DeliveryFailure) throw fail(redact(err.reason), err.retryable);
      const e = err as NodeJS.ErrnoException;
      throw fail(redact(e?.code ?? String(e?.message ?? err)));
    }
    if (res.status < 200 || res.status >= 300) {
      const redirect = res.status >= 300 && res.status < 400 ? ': redirects are not followed' : '';
      throw fail(`HTTP ${res.status}${redirect}${oauthErrorCode(res.body, redact)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      throw fail(`HTTP ${res.status} answer is not JSON`);
    }
    const parsed = TokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      // Names the fields only: their values may be the token itself.
      const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '(body)')))];
      throw fail(`HTTP ${res.status} answer is not a bearer token response (bad ${fields.join(', ')})`);
    }
    const { access_token: token, expires_in } = parsed.data;
    const lifetime = tokenLifetimeMs(expires_in === undefined ? undefined : Number(expires_in));
    if (lifetime > 0) this.store(cacheKey, { token, expiresAt: requestedAt + lifetime });
    return token;
  }

  private store(cacheKey: string, entry: { token: string; expiresAt: number }) {
    this.cached.delete(cacheKey);
    this.cached.set(cacheKey, entry);
    while (this.cached.size > this.maxEntries) {
      const oldest = this.cached.keys().next().value as string;
      this.cached.delete(oldest);
    }
  }
}

/** The RFC 6749 §5.2 `error` code of a failed token answer, when it has a well-formed one. */
function oauthErrorCode(body: string, redact: (t: string) => string): string {
  try {
    const error = (JSON.parse(body) as { error?: unknown })?.error;
    // The RFC's charset for error codes; anything else (or longer) is not repeated.
    if (typeof error === 'string' && /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(error))
      return ` (${redact(error)})`;
  } catch {
    // Not JSON: the status says enough.
  }
  return '';
}

/** The headers that authenticate a request to the endpoint: `{authorization}`, or none. */
export async function authHeaders(
  auth: EndpointAuth | undefined,
  tokens: OAuthTokenCache,
  cacheKey: string,
): Promise<Record<string, string>> {
  if (!auth) return {};
  switch (auth.type) {
    case 'basic':
      // RFC 7617 with charset UTF-8; unlike OAuth client authentication, nothing is form-encoded.
      return {
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`,
      };
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'oauth2':
      return { authorization: `Bearer ${await tokens.token(auth, cacheKey)}` };
  }
}
