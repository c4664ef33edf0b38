/**
 * The HTTP contract's routes and which function serves each. The local server and the AWS HTTP
 * API are both built from this table; anything not listed goes to the management API function,
 * which answers 404 or 405 in JSON.
 */
export type RouteTarget = 'ingest' | 'api';
export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  target: RouteTarget;
  /** Operator routes take the admin key; every other /v1 route a tenant's key. */
  admin?: true;
  /** Answered without any key (the API function answers these before authenticating). */
  public?: true;
  /** A portal session may call it too (endpoints, their log, the catalog: the portal's views). */
  portal?: true;
  /** Either a tenant's key or the admin key (which names the tenant). */
  either?: true;
}

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/health', target: 'api', public: true },
  // The OpenAPI 3.1 document of this table (openapi.ts).
  { method: 'GET', path: '/openapi.json', target: 'api', public: true },
  // The endpoint portal's page and files (handlers/portal.ts): no key, the page holds no data.
  { method: 'GET', path: '/portal', target: 'api', public: true },
  { method: 'GET', path: '/portal/app.js', target: 'api', public: true },
  { method: 'GET', path: '/portal/app.css', target: 'api', public: true },
  // The operator console's (portal/src/console): the admin key is pasted into the page.
  { method: 'GET', path: '/console', target: 'api', public: true },
  { method: 'GET', path: '/console/app.js', target: 'api', public: true },
  { method: 'GET', path: '/console/app.css', target: 'api', public: true },
  { method: 'POST', path: '/v1/events', target: 'ingest' },
  { method: 'POST', path: '/v1/events/batch', target: 'ingest' },
  { method: 'GET', path: '/v1/events', target: 'api' },
  { method: 'GET', path: '/v1/events/{id}', target: 'api', portal: true },
  { method: 'GET', path: '/v1/subscriptions', target: 'api', portal: true },
  { method: 'POST', path: '/v1/subscriptions', target: 'api', portal: true },
  { method: 'GET', path: '/v1/subscriptions/{id}', target: 'api', portal: true },
  { method: 'PATCH', path: '/v1/subscriptions/{id}', target: 'api', portal: true },
  { method: 'DELETE', path: '/v1/subscriptions/{id}', target: 'api', portal: true },
  { method: 'GET', path: '/v1/subscriptions/{id}/secret', target: 'api', portal: true },
  { method: 'POST', path: '/v1/subscriptions/{id}/test', target: 'api', portal: true },
  { method: 'POST', path: '/v1/subscriptions/{id}/rotate-secret', target: 'api', portal: true },
  { method: 'GET', path: '/v1/subscriptions/{id}/deliveries', target: 'api', portal: true },
  { method: 'GET', path: '/v1/subscriptions/{id}/stats', target: 'api', portal: true },
  { method: 'GET', path: '/v1/deliveries/{id}', target: 'api', portal: true },
  { method: 'POST', path: '/v1/deliveries/{id}/retry', target: 'api', portal: true },
  { method: 'GET', path: '/v1/dlq', target: 'api' },
  // The tenant's event-type catalog (core/catalog/): schemas ingest enforces, test-event examples.
  { method: 'POST', path: '/v1/event-types', target: 'api' },
  { method: 'GET', path: '/v1/event-types', target: 'api', portal: true },
  { method: 'GET', path: '/v1/event-types/{name}', target: 'api', portal: true },
  { method: 'PATCH', path: '/v1/event-types/{name}', target: 'api' },
  { method: 'DELETE', path: '/v1/event-types/{name}', target: 'api' },
  // The DLQ queue and the bus archive are shared by every tenant: moving or replaying them is
  // the operator's call.
  { method: 'POST', path: '/v1/dlq/redrive', target: 'api', admin: true },
  { method: 'GET', path: '/v1/dlq/redrive', target: 'api', admin: true },
  { method: 'POST', path: '/v1/subscriptions/{id}/recover', target: 'api', portal: true },
  { method: 'POST', path: '/v1/replays', target: 'api', admin: true },
  { method: 'GET', path: '/v1/replays/{id}', target: 'api', admin: true },
  { method: 'GET', path: '/v1/replays', target: 'api', admin: true },
  { method: 'GET', path: '/v1/admin/dlq', target: 'api', admin: true },
  // Links to the endpoint portal for one tenant (core/portal/session.ts).
  { method: 'POST', path: '/v1/portal-sessions', target: 'api', either: true },
  { method: 'DELETE', path: '/v1/portal-sessions/{id}', target: 'api', either: true },
  { method: 'POST', path: '/v1/admin/api-keys', target: 'api', admin: true },
  { method: 'GET', path: '/v1/admin/api-keys', target: 'api', admin: true },
  { method: 'DELETE', path: '/v1/admin/api-keys/{id}', target: 'api', admin: true },
];

/** Path parameters longer than this match no route (a 404). */
export const MAX_ID_LENGTH = 256;

/** Matches `/v1/subscriptions/{id}` against a concrete path; returns the path parameters or undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const a = path.split('/');
  if (p.length !== a.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i] as string;
    const actual = a[i] as string;
    if (seg.startsWith('{') && seg.endsWith('}')) {
      // No id of ours is longer; longer ones could not even be looked up (DynamoDB key limits).
      if (actual === '' || actual.length > MAX_ID_LENGTH) return undefined;
      try {
        params[seg.slice(1, -1)] = decodeURIComponent(actual);
      } catch {
        return undefined; // a malformed escape (%ZZ) matches no route: a 404, never a crash
      }
    } else if (seg !== actual) {
      return undefined;
    }
  }
  return params;
}

/** The route for a request, or the methods the path allows (for a 405), or nothing (404). */
export function findRoute(
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined {
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  return allowed.length ? { allowed } : undefined;
}
