import { createHash } from 'node:crypto';
import { ApiError } from '../errors.ts';

/*
 * What authenticating a portal token needs, apart from the session use cases (session.ts), so
 * every function that authenticates carries no more than this.
 */

/** A portal session as stored: the token's SHA-256, never the token. */
export interface PortalSession {
  id: string;
  tenant: string;
  hash: string;
  createdAt: string;
  expiresAt: string;
}

/** Where portal sessions are kept. */
export interface PortalSessionStore {
  putPortalSession(session: PortalSession): Promise<void>;
  getPortalSession(id: string): Promise<PortalSession | undefined>;
  deletePortalSession(id: string): Promise<boolean>;
}

/** Portal tokens: `ps_` and 32 random bytes. Their id is derived from their hash (one GetItem). */
export const PORTAL_TOKEN_PREFIX = 'ps_';
export const hashPortalToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const portalSessionIdOf = (hash: string) => `pss_${hash.slice(0, 24)}`;
export const SESSION_ID = /^pss_[0-9a-f]{24}$/;

export const portalSessionForbidden = () =>
  new ApiError(
    403,
    'portal_session_forbidden',
    'a portal session manages endpoints and reads their log; this route needs the tenant API key',
  );
