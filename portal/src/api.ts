/*
 * The relay's HTTP API as the portal uses it: same origin, JSON, `Authorization: Bearer` with a
 * portal session token (`ps_...`) or a tenant API key (`rk_...`).
 */

export type HealthCircuit = { openUntil: string; timeouts: number; probeUntil?: string };

export interface Endpoint {
  id: string;
  url: string;
  description?: string;
  eventTypes: string[];
  enabled: boolean;
  format: 'json' | 'xml';
  filter?: unknown;
  headers?: Record<string, string>;
  /** Type and non-secret fields only: the API never shows a password, token or client secret. */
  auth?: PublicAuth;
  failingSince?: string;
  circuit?: HealthCircuit;
  disabledReason?: string;
  disabledAt?: string;
  previousSecretExpiresAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Attempt {
  attempt: number;
  at: string;
  status: number;
  durationMs: number;
  error?: string;
  responseBody?: string;
  trigger: 'scheduled' | 'manual';
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'dead';

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  subscriptionId: string;
  url: string;
  status: DeliveryStatus;
  attempts: Attempt[];
  nextAttemptAt?: string;
  lastError?: string;
  createdAt: string;
  updatedAt: string;
}

export interface RelayEvent {
  id: string;
  type: string;
  data: unknown;
  timestamp: string;
  receivedAt?: string;
  deliveries: Delivery[];
}

export interface EventType {
  name: string;
  description?: string;
  schema?: unknown;
  example?: unknown;
  deprecated?: boolean;
}

export type AuthType = 'basic' | 'bearer' | 'oauth2';

/** What the API shows of an endpoint's auth. */
export type PublicAuth =
  | { type: 'basic'; username: string }
  | { type: 'bearer' }
  | { type: 'oauth2'; tokenUrl: string; clientId: string; scope?: string; audience?: string };

/** An auth as sent: with its secret (write-only). */
export type AuthInput =
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | {
      type: 'oauth2';
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      scope?: string;
      audience?: string;
    };

export interface EndpointInput {
  url: string;
  eventTypes: string[];
  description?: string;
  enabled?: boolean;
  format?: 'json' | 'xml';
  /** `null` (in a patch) removes it. */
  filter?: Record<string, unknown> | null;
  headers?: Record<string, string> | null;
  auth?: AuthInput | null;
}

/** `GET /v1/subscriptions/{id}/stats`: the last 24 h. */
export interface EndpointStats {
  from: string;
  to: string;
  deliveries: number;
  succeeded: number;
  failed: number;
  dead: number;
  pending: number;
  /** Succeeded of the settled ones, 0..1; null when none settled. */
  successRate: number | null;
  /** False when the window held more deliveries than the relay looks at. */
  complete: boolean;
}

/** The delivery log's filters (`GET /v1/subscriptions/{id}/deliveries?...`). */
export interface DeliveryQuery {
  status?: DeliveryStatus;
  eventType?: string;
  /** ISO instants. */
  from?: string;
  to?: string;
}

export interface RecoverResult {
  queued: number;
  scanned: number;
  next: string | null;
}

/** An error answer of the API, or a network failure (`status` 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
  /** The token was refused: expired, revoked or mistyped. */
  get unauthorized() {
    return this.status === 401;
  }
}

/**
 * One same-origin call of the relay's API with a Bearer token: its JSON answer, or an ApiError
 * (status 0: the relay was not reached). `onUnauthorized` hears of every 401.
 */
export async function relayCall<T>(
  token: string,
  method: string,
  path: string,
  body: unknown,
  onUnauthorized: (err: ApiError) => void,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(
      0,
      'network_error',
      'The relay could not be reached: check your connection and retry.',
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string; details?: ApiError['details'] } })
      ?.error;
    const err = new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? `The relay answered ${res.status} ${res.statusText}.`,
      Array.isArray(e?.details) ? e.details : [],
    );
    if (err.unauthorized) onUnauthorized(err);
    throw err;
  }
  return parsed as T;
}

export class Api {
  /** Called on any 401, so the app can show the sign-in state. */
  onUnauthorized: (err: ApiError) => void = () => {};

  constructor(private readonly token: string) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return relayCall<T>(this.token, method, path, body, (err) => this.onUnauthorized(err));
  }

  listEndpoints = () =>
    this.call<{ subscriptions: Endpoint[] }>('GET', '/v1/subscriptions').then((r) => r.subscriptions);
  getEndpoint = (id: string) => this.call<Endpoint>('GET', `/v1/subscriptions/${enc(id)}`);
  createEndpoint = (input: EndpointInput) =>
    this.call<Endpoint & { secret: string }>('POST', '/v1/subscriptions', input);
  updateEndpoint = (id: string, patch: Partial<EndpointInput>) =>
    this.call<Endpoint>('PATCH', `/v1/subscriptions/${enc(id)}`, patch);
  deleteEndpoint = (id: string) => this.call<void>('DELETE', `/v1/subscriptions/${enc(id)}`);
  getSecret = (id: string) =>
    this.call<{ secret: string }>('GET', `/v1/subscriptions/${enc(id)}/secret`).then((r) => r.secret);
  rotateSecret = (id: string) =>
    this.call<Endpoint & { secret: string }>('POST', `/v1/subscriptions/${enc(id)}/rotate-secret`);
  sendTest = (id: string, eventType?: string) =>
    this.call<{ id: string; type: string }>(
      'POST',
      `/v1/subscriptions/${enc(id)}/test`,
      eventType ? { eventType } : undefined,
    );
  listDeliveries = (id: string, query: DeliveryQuery & { limit?: number; cursor?: string } = {}) => {
    const q = new URLSearchParams({ limit: String(query.limit ?? 25) });
    for (const k of ['status', 'eventType', 'from', 'to', 'cursor'] as const) {
      const v = query[k];
      if (v) q.set(k, v);
    }
    return this.call<{ deliveries: Delivery[]; next: string | null }>(
      'GET',
      `/v1/subscriptions/${enc(id)}/deliveries?${q}`,
    );
  };
  /** The 24 h health figures; undefined where the relay has no such route yet (404). */
  getStats = (id: string) =>
    this.call<EndpointStats>('GET', `/v1/subscriptions/${enc(id)}/stats`).catch((err: ApiError) => {
      if (err.status === 404 || err.status === 405) return undefined;
      throw err;
    });
  /** Queues again the failed deliveries of events received in the window (a page: follow `next`). */
  recover = (id: string, window: { from: string; to: string; cursor?: string }) =>
    this.call<RecoverResult>('POST', `/v1/subscriptions/${enc(id)}/recover`, window);
  getDelivery = (id: string) => this.call<Delivery>('GET', `/v1/deliveries/${enc(id)}`);
  retryDelivery = (id: string) => this.call<{ id: string }>('POST', `/v1/deliveries/${enc(id)}/retry`);
  getEvent = (id: string) => this.call<RelayEvent>('GET', `/v1/events/${enc(id)}`);

  /** The whole catalog (a few pages at most: a tenant keeps up to 500 types). */
  async listEventTypes(): Promise<EventType[]> {
    const all: EventType[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const r: { eventTypes: EventType[]; next: string | null } = await this.call(
        'GET',
        `/v1/event-types?limit=100${q}`,
      );
      all.push(...r.eventTypes);
      cursor = r.next;
      if (!cursor) break;
    }
    return all;
  }
}

const enc = encodeURIComponent;

/** `order.*` covers `order.created`; `*` covers everything (the relay's own matching rule). */
export function matchesEventType(filter: string, type: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) return type.startsWith(filter.slice(0, -1));
  return filter === type;
}
