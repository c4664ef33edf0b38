import { classifyStatus, DeliveryFailure } from '../errors.ts';
import { type RelayEvent, webhookBody } from '../event.ts';
import type { Clock, HttpSender } from '../ports.ts';
import { activeSecrets, type Subscription } from '../subscriptions/model.ts';
import { authCacheKey, authHeaders, OAuthTokenCache } from '../subscriptions/tokens.ts';
import type { Attempt } from './model.ts';
import { parseRetryAfter } from './retry.ts';
import { webhookHeaders } from './signing.ts';
import { webhookXml, XML_CONTENT_TYPE } from './xml.ts';

export type AttemptOutcome = 'success' | 'retryable' | 'permanent';

export interface AttemptResult {
  record: Attempt;
  outcome: AttemptOutcome;
  /** A 429 or 503 with `Retry-After`: the receiver's wish, in seconds (bounded). */
  retryAfterSeconds?: number;
  /** No answer within the timeout (a hanging receiver). */
  timedOut?: boolean;
}

/**
 * How much of a 2xx answer's body the log keeps (at most; the configured excerpt applies to
 * failures). A success's body rarely matters, and this keeps a first-attempt success record
 * within one DynamoDB write unit (adapters/dynamodb/table.ts).
 */
export const SUCCESS_EXCERPT_BYTES = 256;

/**
 * One delivery attempt: sign the payload for this instant, POST it, and sort the answer.
 * Never throws for receiver or network trouble: that is an outcome, recorded in the log.
 * The `webhook-id` is the event id, so every retry, manual retry and redrive of the same
 * delivery carries the same one and receivers can deduplicate.
 */
export async function attemptDelivery(args: {
  sender: HttpSender;
  clock: Clock;
  subscription: Subscription;
  event: RelayEvent;
  attempt: number;
  trigger: Attempt['trigger'];
  timeoutMs: number;
  excerptBytes: number;
  /** OAuth2 tokens of subscriptions with `auth.type: oauth2`; one cache per sender by default. */
  tokens?: OAuthTokenCache;
}): Promise<AttemptResult> {
  const { sender, clock, subscription, event } = args;
  const started = clock.now();
  const payload = webhookPayload(subscription, event);
  const headers = {
    'user-agent': USER_AGENT,
    ...subscription.headers,
    'content-type': payload.contentType,
    // During a rotation's grace period both secrets sign, so receivers can switch at their pace.
    // The signature covers the exact bytes sent, JSON or XML.
    ...webhookHeaders(
      activeSecrets(subscription, started),
      event.id,
      Math.floor(started.getTime() / 1000),
      payload.body,
    ),
  };
  const base = { attempt: args.attempt, at: started.toISOString(), trigger: args.trigger };
  const t0 = performance.now();
  try {
    const auth = subscription.auth;
    const tokens = args.tokens ?? defaultTokens(sender, clock);
    const cacheKey = auth ? authCacheKey(subscription.id, auth) : '';
    let authorization = await authHeaders(auth, tokens, cacheKey);
    let res = await sender.post(
      subscription.url,
      { ...headers, ...authorization },
      payload.body,
      args.timeoutMs,
    );
    if (res.status === 401 && auth?.type === 'oauth2') {
      // The token may have been revoked before its expiry: fetch a fresh one, once. Only this
      // token is dropped, so a newer one another attempt fetched meanwhile is kept.
      tokens.invalidate(cacheKey, authorization.authorization?.replace(/^Bearer /, ''));
      authorization = await authHeaders(auth, tokens, cacheKey);
      // Within what is left of the attempt's time (at least a second), so one attempt stays one.
      const left = Math.max(1000, args.timeoutMs - Math.round(performance.now() - t0));
      res = await sender.post(subscription.url, { ...headers, ...authorization }, payload.body, left);
    }
    const durationMs = Math.round(performance.now() - t0);
    const outcome = classifyStatus(res.status);
    const responseBody = utf8Prefix(
      res.body,
      outcome === 'success' ? Math.min(args.excerptBytes, SUCCESS_EXCERPT_BYTES) : args.excerptBytes,
    );
    const record: Attempt = {
      ...base,
      status: res.status,
      durationMs,
      ...(responseBody ? { responseBody } : {}),
    };
    if (outcome !== 'success') record.error = describeStatus(res.status);
    const retryAfterSeconds =
      res.status === 429 || res.status === 503
        ? parseRetryAfter(res.headers['retry-after'], clock.now())
        : undefined;
    return { record, outcome, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  } catch (err) {
    const durationMs = Math.round(performance.now() - t0);
    const failure =
      err instanceof DeliveryFailure
        ? err
        : new DeliveryFailure(String((err as Error)?.message ?? err), true);
    return {
      record: { ...base, status: 0, durationMs, error: failure.reason },
      outcome: failure.retryable ? 'retryable' : 'permanent',
      ...(failure.timedOut ? { timedOut: true } : {}),
    };
  }
}

const USER_AGENT = 'webhook-relay/0.1';

/** The body a subscription gets, in its format: JSON (Standard Webhooks' shape) or XML. */
export function webhookPayload(
  subscription: Pick<Subscription, 'format'>,
  event: RelayEvent,
): { body: string; contentType: string } {
  return subscription.format === 'xml'
    ? { body: webhookXml(event), contentType: XML_CONTENT_TYPE }
    : { body: webhookBody(event), contentType: 'application/json' };
}

const tokenCaches = new WeakMap<HttpSender, OAuthTokenCache>();
/** One token cache per sender (per function instance): tokens outlive an invocation. */
function defaultTokens(sender: HttpSender, clock: Clock): OAuthTokenCache {
  let cache = tokenCaches.get(sender);
  if (!cache) {
    cache = new OAuthTokenCache({ sender, clock });
    tokenCaches.set(sender, cache);
  }
  return cache;
}

function describeStatus(status: number): string {
  if (status >= 300 && status < 400) return `HTTP ${status}: redirects are not followed`;
  if (status === 410) return 'HTTP 410 Gone: the receiver asked to stop sending';
  return `HTTP ${status}`;
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut at a character boundary. */
export function utf8Prefix(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}
