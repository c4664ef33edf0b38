import { randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { ApiError, notFound } from '../errors.ts';
import { TenantSchema } from '../keys.ts';
import type { Clock } from '../ports.ts';
import '../zod.ts';
import {
  hashPortalToken,
  PORTAL_TOKEN_PREFIX,
  type PortalSession,
  type PortalSessionStore,
  portalSessionIdOf,
  SESSION_ID,
} from './token.ts';

export {
  hashPortalToken,
  PORTAL_TOKEN_PREFIX,
  type PortalSession,
  type PortalSessionStore,
  portalSessionForbidden,
  portalSessionIdOf,
} from './token.ts';

/** How long a portal link works unless the request says: an hour, as Svix's app portal. */
export const DEFAULT_PORTAL_SESSION_SECONDS = 3600;
export const PORTAL_SESSION_SECONDS_RANGE = { min: 60, max: 86_400 } as const;

/** `POST /v1/portal-sessions` body: the tenant (with the admin key only) and the link's lifetime. */
export const PortalSessionCreateSchema = z.strictObject({
  tenant: z.optional(TenantSchema),
  expiresInSeconds: z.optional(
    z
      .int('must be a whole number of seconds')
      .check(
        z.gte(
          PORTAL_SESSION_SECONDS_RANGE.min,
          `must be at least ${PORTAL_SESSION_SECONDS_RANGE.min} seconds`,
        ),
        z.lte(
          PORTAL_SESSION_SECONDS_RANGE.max,
          `must be at most ${PORTAL_SESSION_SECONDS_RANGE.max} seconds (24 h)`,
        ),
      ),
  ),
});
export type PortalSessionCreate = z.infer<typeof PortalSessionCreateSchema>;

/**
 * Portal sessions: short-lived, single-tenant tokens for the endpoint portal, which a provider
 * puts in a link (or an iframe of its own dashboard) for one customer. The token goes in the
 * link's fragment, so it reaches no server log and no Referer.
 */
export class PortalSessions {
  constructor(private readonly deps: { store: PortalSessionStore; clock: Clock }) {}

  async create(
    tenant: string,
    input: PortalSessionCreate,
    portalUrl: string,
  ): Promise<{ id: string; tenant: string; url: string; expiresAt: string }> {
    const token = `${PORTAL_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const hash = hashPortalToken(token);
    const now = this.deps.clock.now();
    const seconds = input.expiresInSeconds ?? DEFAULT_PORTAL_SESSION_SECONDS;
    const session: PortalSession = {
      id: portalSessionIdOf(hash),
      tenant,
      hash,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
    };
    await this.deps.store.putPortalSession(session);
    return { id: session.id, tenant, url: `${portalUrl}#token=${token}`, expiresAt: session.expiresAt };
  }

  /** Ends a session at once (within the authenticators' short cache); only its tenant's, or the admin. */
  async revoke(id: string, by: { tenant: string } | { admin: true }): Promise<void> {
    const session = SESSION_ID.test(id) ? await this.deps.store.getPortalSession(id) : undefined;
    if (!session || ('tenant' in by && session.tenant !== by.tenant)) throw notFound('portal session', id);
    await this.deps.store.deletePortalSession(id);
  }
}

/** The tenant a portal session is for: a tenant key's own, or the one the admin names. */
export function sessionTenant(
  principal: { tenant: string } | { admin: true },
  input: PortalSessionCreate,
): string {
  if ('admin' in principal) {
    if (!input.tenant) {
      throw new ApiError(
        400,
        'invalid_request',
        'request body is invalid: tenant: the admin key must name the tenant',
        [{ path: 'tenant', message: 'is required with the admin key' }],
      );
    }
    return input.tenant;
  }
  if (input.tenant !== undefined && input.tenant !== principal.tenant) {
    throw new ApiError(403, 'forbidden', "a tenant's key makes portal sessions for its own tenant only", [
      { path: 'tenant', message: `must be ${principal.tenant} (or absent)` },
    ]);
  }
  return principal.tenant;
}
