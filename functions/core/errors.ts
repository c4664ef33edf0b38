/**
 * Every failure the relay knows about, in one place.
 *
 * API errors carry the HTTP status they map to, so handlers never decide statuses themselves.
 * Delivery failures carry `retryable`, which alone decides "retry later" versus "dead-letter now".
 */

/** One problem with a request, pointing at the field that caused it. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** Base class of errors that become a 4xx JSON response: `{"error": {code, message, details}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, details: ErrorDetail[] = []) =>
  new ApiError(400, 'invalid_request', message, details);
export const unauthorized = (message = 'missing or invalid API key: send "Authorization: Bearer <key>"') =>
  new ApiError(401, 'unauthorized', message);
export const notFound = (what: string, id: string) =>
  new ApiError(404, 'not_found', `${what} ${id} not found`);
export const routeNotFound = (method: string, path: string) =>
  new ApiError(404, 'route_not_found', `no route for ${method} ${path}`);
export const methodNotAllowed = (method: string, path: string, allowed: string[]) =>
  new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${path}; use ${allowed.join(', ')}`);
export const payloadTooLarge = (limitBytes: number) =>
  new ApiError(413, 'payload_too_large', `request body is larger than ${limitBytes} bytes`);
export const unsupportedMediaType = (got: string) =>
  new ApiError(415, 'unsupported_media_type', `content-type must be application/json, got ${got || 'none'}`);

/**
 * Some events of a publish did not reach the bus; the others did. Ingest confirms the ids that
 * went through and frees the rest, so the producer's retry publishes exactly what is missing.
 */
export class PartialPublish extends Error {
  constructor(
    message: string,
    /** Ids of the events that are not on the bus. */
    readonly unpublished: ReadonlySet<string>,
  ) {
    super(message);
    this.name = 'PartialPublish';
  }
}

/** Why one delivery attempt did not succeed, and whether another attempt could. */
export class DeliveryFailure extends Error {
  constructor(
    readonly reason: string,
    readonly retryable: boolean,
    /** The receiver did not answer in time: what trips the circuit breaker. */
    readonly timedOut = false,
  ) {
    super(reason);
    this.name = 'DeliveryFailure';
  }
}

/**
 * Sorts a receiver's HTTP answer. Like Svix, every non-2xx is worth retrying (receivers fix a
 * bad deploy or a wrong secret within the schedule) except 410 Gone, which the Standard Webhooks
 * spec defines as "stop sending to this endpoint". 3xx is a failure: redirects are never followed.
 */
export function classifyStatus(status: number): 'success' | 'retryable' | 'permanent' {
  if (status >= 200 && status < 300) return 'success';
  if (status === 410) return 'permanent';
  return 'retryable';
}

/** Network-level failures (refused, reset, DNS, timeout) are always retryable. */
export const networkFailure = (reason: string) => new DeliveryFailure(reason, true);

/** No answer within the attempt timeout. */
export const attemptTimedOut = (ms: number) => new DeliveryFailure(`timed out after ${ms} ms`, true, true);

/** The endpoint's URL can never work (bad scheme, refused target): no attempt will. */
export const targetRefused = (reason: string) => new DeliveryFailure(reason, false);

/**
 * A record on its way to the DLQ: reported as a batch item failure so the queue counts another
 * receive, until its redrive policy moves it.
 */
export class DeadLetterPending extends Error {
  constructor(readonly reason: string) {
    super(`on its way to the DLQ: ${reason}`);
    this.name = 'DeadLetterPending';
  }
}

/** Turns a zod error's issues into our error details. */
export function zodDetails(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>) {
  return issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? p.toString() : String(p))).join('.') || '(body)',
    message: i.message,
  }));
}
