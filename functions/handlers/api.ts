import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { EventTypes } from '../core/catalog/catalog.ts';
import {
  EventTypeCreateSchema,
  EventTypePatchSchema,
  TestEventSchema,
  toPublicEventType,
} from '../core/catalog/event-type.ts';
import { toPublicDelivery } from '../core/delivery/model.ts';
import { ApiError, badRequest, methodNotAllowed, routeNotFound } from '../core/errors.ts';
import { EventTypeSchema, type RelayEvent } from '../core/event.ts';
import { Management, type ManagementDeps } from '../core/management.ts';
import {
  RotateSecretSchema,
  SubscriptionCreateSchema,
  SubscriptionPatchSchema,
  toPublic,
} from '../core/subscription.ts';
import '../core/zod.ts';
import { ApiKeyCreateSchema, ApiKeys, adminRequired, TenantSchema, tenantKeyRequired } from '../core/keys.ts';
import {
  PortalSessionCreateSchema,
  type PortalSessionStore,
  PortalSessions,
  portalSessionForbidden,
  sessionTenant,
} from '../core/portal/session.ts';
import {
  type Authenticator,
  authenticate,
  errorResponse,
  type HttpResult,
  json,
  type Principal,
  parseBody,
  parseValue,
} from './http.ts';
import { isConsolePath, isPortalPath } from './portal.ts';
import { findRoute } from './routes.ts';

export interface ApiDeps extends ManagementDeps {
  auth: Authenticator;
  /**
   * Portal sessions and where the portal is served (`https://{host}/portal` on AWS; local mode
   * says its own origin). Without them, `/v1/portal-sessions` answers 404.
   */
  portal?: { sessions: PortalSessionStore; url?: (event: APIGatewayProxyEventV2) => string };
  /** The OpenAPI document served at `/openapi.json` (openapi.ts makes it). */
  openApi?: () => Promise<unknown>;
  /** The endpoint portal's page and files (handlers/portal.ts); absent: 404. */
  portalPage?: (event: APIGatewayProxyEventV2) => Promise<HttpResult>;
  /** The operator console's page and files (handlers/portal.ts makeStaticAppHandler); absent: 404. */
  consolePage?: (event: APIGatewayProxyEventV2) => Promise<HttpResult>;
}

/** `?limit=&cursor=` of the paged listings. */
export const PageQuerySchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 50),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});

const isoDateTime = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z',
});

/** `GET /v1/events?type=&from=&to=&limit=&cursor=`. */
export const EventListQuerySchema = z.extend(PageQuerySchema, {
  type: z.optional(EventTypeSchema),
  from: z.optional(isoDateTime),
  to: z.optional(isoDateTime),
});

/** `GET /v1/subscriptions/{id}/deliveries?status=&eventType=&from=&to=&limit=&cursor=`. */
export const DeliveryListQuerySchema = z.extend(PageQuerySchema, {
  status: z.optional(
    z.enum(['pending', 'succeeded', 'failed', 'dead'], {
      error: 'must be pending, succeeded, failed or dead',
    }),
  ),
  eventType: z.optional(EventTypeSchema),
  from: z.optional(isoDateTime),
  to: z.optional(isoDateTime),
});

/** An event as the API shows it: no tenant, no internal target. */
const publicEvent = ({ tenant: _t, subscriptionId: _s, ...rest }: RelayEvent) => rest;

/** A listing's `from`/`to` query values as UTC ISO strings; `to` earlier than `from` is a 400. */
function orderedWindow(rawFrom: string | undefined, rawTo: string | undefined) {
  const iso = (t: string | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  const from = iso(rawFrom);
  const to = iso(rawTo);
  if (from && to && from > to) {
    throw badRequest('query string is invalid: to: must not be earlier than from', [
      { path: 'to', message: `must not be earlier than from (${from})` },
    ]);
  }
  return { from, to };
}

/** A time window `{from, to?}`; `to` defaults to now. */
export const WindowSchema = z.strictObject({
  from: isoDateTime,
  to: z.optional(isoDateTime),
});
export const KeyListQuerySchema = z.object({ tenant: z.optional(TenantSchema) });
export const RecoverSchema = z.extend(WindowSchema, {
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});

function toWindow(input: { from: string; to?: string | undefined }, now: Date): { from: Date; to: Date } {
  const from = new Date(input.from);
  const to = input.to ? new Date(input.to) : now;
  if (from.getTime() >= to.getTime()) {
    throw badRequest('request body is invalid: to: must be later than from', [
      { path: 'to', message: `must be later than from (${from.toISOString()})` },
    ]);
  }
  return { from, to };
}

type Action = (req: {
  tenant: string;
  params: Record<string, string>;
  event: APIGatewayProxyEventV2;
  principal: Principal;
}) => Promise<HttpResult>;

/** The management API: subscriptions, deliveries, DLQ. Routes in {@link ROUTES}. */
export function makeApiHandler(deps: ApiDeps) {
  const m = new Management(deps);
  const keys = new ApiKeys({ store: deps.store, clock: deps.clock });
  const catalog = new EventTypes({ store: deps.store, clock: deps.clock });
  const page = (event: APIGatewayProxyEventV2) =>
    parseValue(event.queryStringParameters ?? {}, PageQuerySchema, 'query string is invalid');

  const portalOr404 = (event: APIGatewayProxyEventV2) => {
    if (!deps.portal) throw routeNotFound(event.requestContext.http.method, event.rawPath);
    return deps.portal;
  };

  const actions: Record<string, Action> = {
    'POST /v1/subscriptions': async ({ tenant, event }) => {
      const sub = await m.createSubscription(tenant, parseBody(event, SubscriptionCreateSchema));
      // The secret and the auth's credentials, once: listings never show the credentials again.
      return json(201, { ...toPublic(sub), secret: sub.secret, ...(sub.auth ? { auth: sub.auth } : {}) });
    },
    'GET /v1/subscriptions': async ({ tenant }) =>
      json(200, { subscriptions: (await m.listSubscriptions(tenant)).map(toPublic) }),
    'GET /v1/subscriptions/{id}': async ({ tenant, params }) =>
      json(200, toPublic(await m.getSubscription(tenant, params.id as string))),
    'PATCH /v1/subscriptions/{id}': async ({ tenant, params, event }) =>
      json(
        200,
        toPublic(
          await m.updateSubscription(tenant, params.id as string, parseBody(event, SubscriptionPatchSchema)),
        ),
      ),
    'DELETE /v1/subscriptions/{id}': async ({ tenant, params }) => {
      await m.deleteSubscription(tenant, params.id as string);
      return { statusCode: 204, body: '' };
    },
    'GET /v1/subscriptions/{id}/secret': async ({ tenant, params }) =>
      json(200, { secret: (await m.getSubscription(tenant, params.id as string)).secret }),
    'POST /v1/subscriptions/{id}/rotate-secret': async ({ tenant, params, event }) => {
      const body = event.body ? parseBody(event, RotateSecretSchema) : {};
      const sub = await m.rotateSecret(tenant, params.id as string, body.secret);
      return json(200, { ...toPublic(sub), secret: sub.secret });
    },
    'POST /v1/subscriptions/{id}/test': async ({ tenant, params, event }) => {
      // Optional body: `{"eventType": "order.created"}` sends that type's catalog example.
      const body = event.body ? parseBody(event, TestEventSchema) : {};
      const sent = await m.sendTestEvent(tenant, params.id as string, body.eventType);
      return json(202, { id: sent.id, type: sent.type });
    },
    'POST /v1/event-types': async ({ tenant, event }) =>
      json(201, toPublicEventType(await catalog.create(tenant, parseBody(event, EventTypeCreateSchema)))),
    'GET /v1/event-types': async ({ tenant, event }) => {
      const q = page(event);
      const result = await catalog.list(tenant, { limit: q.limit, cursor: q.cursor });
      return json(200, { eventTypes: result.items.map(toPublicEventType), next: result.next ?? null });
    },
    'GET /v1/event-types/{name}': async ({ tenant, params }) =>
      json(200, toPublicEventType(await catalog.get(tenant, params.name as string))),
    'PATCH /v1/event-types/{name}': async ({ tenant, params, event }) =>
      json(
        200,
        toPublicEventType(
          await catalog.update(tenant, params.name as string, parseBody(event, EventTypePatchSchema)),
        ),
      ),
    'DELETE /v1/event-types/{name}': async ({ tenant, params }) => {
      await catalog.delete(tenant, params.name as string);
      return { statusCode: 204, body: '' };
    },
    'GET /v1/subscriptions/{id}/deliveries': async ({ tenant, params, event }) => {
      const q = parseValue(
        event.queryStringParameters ?? {},
        DeliveryListQuerySchema,
        'query string is invalid',
      );
      const { from, to } = orderedWindow(q.from, q.to);
      const result = await m.listDeliveries(tenant, params.id as string, q.limit, q.cursor, {
        from,
        to,
        status: q.status,
        eventType: q.eventType,
      });
      return json(200, { deliveries: result.items.map(toPublicDelivery), next: result.next ?? null });
    },
    'GET /v1/events': async ({ tenant, event }) => {
      const q = parseValue(
        event.queryStringParameters ?? {},
        EventListQuerySchema,
        'query string is invalid',
      );
      const { from, to } = orderedWindow(q.from, q.to);
      const result = await m.listEvents(tenant, { limit: q.limit, cursor: q.cursor, type: q.type, from, to });
      return json(200, { events: result.items.map(publicEvent), next: result.next ?? null });
    },
    'GET /v1/subscriptions/{id}/stats': async ({ tenant, params }) =>
      json(200, await m.subscriptionStats(tenant, params.id as string)),
    'GET /v1/events/{id}': async ({ tenant, params }) => {
      const { event, deliveries } = await m.getEvent(tenant, params.id as string);
      return json(200, { ...publicEvent(event), deliveries: deliveries.map(toPublicDelivery) });
    },
    'GET /v1/deliveries/{id}': async ({ tenant, params }) =>
      json(200, toPublicDelivery(await m.getDelivery(tenant, params.id as string))),
    'POST /v1/deliveries/{id}/retry': async ({ tenant, params }) => {
      const d = await m.retryDelivery(tenant, params.id as string);
      return json(202, { id: d.id, status: 'retry_enqueued' });
    },
    'GET /v1/dlq': async ({ tenant, event }) => {
      const q = page(event);
      const result = await m.listDlq(tenant, q.limit, q.cursor);
      return json(200, {
        count: result.count,
        deliveries: result.items.map(toPublicDelivery),
        next: result.next ?? null,
      });
    },
    'POST /v1/dlq/redrive': async () => json(202, await m.redriveDlq()),
    'GET /v1/dlq/redrive': async () => json(200, await m.redriveStatus()),
    'POST /v1/portal-sessions': async ({ event, principal }) => {
      const portal = portalOr404(event);
      const input = event.body ? parseBody(event, PortalSessionCreateSchema) : {};
      const tenant = sessionTenant(principal as { tenant: string } | { admin: true }, input);
      const sessions = new PortalSessions({ store: portal.sessions, clock: deps.clock });
      const url = portal.url?.(event) ?? `https://${event.requestContext.domainName}/portal`;
      return json(201, await sessions.create(tenant, input, url));
    },
    'DELETE /v1/portal-sessions/{id}': async ({ event, params, principal }) => {
      const portal = portalOr404(event);
      const sessions = new PortalSessions({ store: portal.sessions, clock: deps.clock });
      await sessions.revoke(params.id as string, principal as { tenant: string } | { admin: true });
      return { statusCode: 204, body: '' };
    },
    'POST /v1/admin/api-keys': async ({ event }) =>
      json(201, await keys.create(parseBody(event, ApiKeyCreateSchema))),
    'GET /v1/admin/api-keys': async ({ event }) => {
      const { tenant } = parseValue(
        event.queryStringParameters ?? {},
        KeyListQuerySchema,
        'query string is invalid',
      );
      return json(200, { apiKeys: await keys.list(tenant) });
    },
    'DELETE /v1/admin/api-keys/{id}': async ({ params }) => {
      await keys.revoke(params.id as string);
      return { statusCode: 204, body: '' };
    },
    'POST /v1/subscriptions/{id}/recover': async ({ tenant, params, event }) => {
      const body = parseBody(event, RecoverSchema);
      const window = toWindow(body, deps.clock.now());
      const result = await m.recover(
        tenant,
        params.id as string,
        { from: window.from.toISOString(), to: window.to.toISOString() },
        body.cursor,
      );
      return json(202, { ...result, next: result.next ?? null });
    },
    'POST /v1/replays': async ({ event }) => {
      const now = deps.clock.now();
      const window = toWindow(parseBody(event, WindowSchema), now);
      // Nothing after now is archived yet; a replay's end may not lie in the future.
      if (window.to > now) window.to = now;
      return json(202, await m.replay(window));
    },
    'GET /v1/replays/{id}': async ({ params }) => json(200, await m.replayStatus(params.id as string)),
    'GET /v1/replays': async () => json(200, { replays: await m.listReplays() }),
    'GET /v1/admin/dlq': async () => json(200, await m.deadLetterCount()),
  };

  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const method = event.requestContext.http.method.toUpperCase();
      const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
      if (method === 'GET' && path === '/health') return json(200, { status: 'ok' });
      // Public like /health. The document is generated from the schemas at bundle time (on AWS)
      // or on first use (locally): its generator never weighs on the function's cold start.
      if (method === 'GET' && path === '/openapi.json') {
        const doc = await deps.openApi?.();
        if (!doc) throw new ApiError(404, 'not_found', 'this deployment serves no OpenAPI document');
        return json(200, doc);
      }
      if (method === 'GET' && isPortalPath(path)) {
        if (!deps.portalPage) throw routeNotFound(method, path);
        return await deps.portalPage(event);
      }
      if (method === 'GET' && isConsolePath(path)) {
        if (!deps.consolePage) throw routeNotFound(method, path);
        return await deps.consolePage(event);
      }
      const found = findRoute(method, path);
      // Authenticate before saying anything about routes, so the API's shape is not probeable.
      const principal = await authenticate(deps.auth, event);
      if (!found) throw routeNotFound(method, path);
      if ('allowed' in found) throw methodNotAllowed(method, path, found.allowed);
      const action = actions[`${found.route.method} ${found.route.path}`];
      if (!action) throw routeNotFound(method, path);
      const req = { params: found.params, event, principal };
      if (found.route.admin) {
        if (!('admin' in principal)) throw adminRequired();
        return await action({ ...req, tenant: '' });
      }
      if ('admin' in principal) {
        if (!found.route.either) throw tenantKeyRequired();
        return await action({ ...req, tenant: '' });
      }
      if (principal.portal && !found.route.portal) throw portalSessionForbidden();
      return await action({ ...req, tenant: principal.tenant });
    } catch (err) {
      return errorResponse(err);
    }
  };
}
