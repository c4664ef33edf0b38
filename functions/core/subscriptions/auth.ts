import * as z from 'zod/mini';
import '../zod.ts';

/**
 * How a subscription's endpoint authenticates the relay's requests: HTTP Basic, a static bearer
 * token, or OAuth 2.0 client credentials (RFC 6749 §4.4), the token fetched and cached here.
 * Credentials are secrets: they never appear in listings ({@link publicAuth}), error messages
 * or logs.
 */

/** No control characters (C0, DEL, C1): nothing that could split or corrupt a header or a form. */
const NO_CONTROL = /^[^\p{Cc}]*$/u;

const printable = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(max, `must be at most ${max} characters`),
      z.regex(NO_CONTROL, 'must not contain control characters'),
    );

const BasicSchema = z.strictObject({
  type: z.literal('basic'),
  // RFC 7617: the user-id cannot contain a colon (the first one separates it from the password).
  username: printable(256).check(z.refine((u) => !u.includes(':'), 'must not contain ":"')),
  password: printable(256),
});

const BearerSchema = z.strictObject({
  type: z.literal('bearer'),
  // Visible ASCII only: a header value cannot carry whitespace or control characters, and Node
  // refuses characters beyond Latin-1 at send time (every attempt would fail).
  token: z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(4096, 'must be at most 4096 characters'),
      z.regex(/^[\x21-\x7e]+$/, 'must be visible ASCII without whitespace or control characters'),
    ),
});

const TokenUrlSchema = z.string().check(
  z.maxLength(2048, 'must be at most 2048 characters'),
  z.refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), {
    message: 'must be an absolute http:// or https:// URL',
  }),
  // Credentials go in the Authorization header; a URL's user-info would fight it (and be logged).
  z.refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), {
    message: 'must not contain credentials (user:password@)',
  }),
);

const OAuth2Schema = z.strictObject({
  type: z.literal('oauth2'),
  tokenUrl: TokenUrlSchema,
  clientId: printable(1024),
  clientSecret: printable(1024),
  scope: z.optional(printable(1024)),
  audience: z.optional(printable(2048)),
});

/** A subscription's `auth`: how the relay authenticates to the endpoint. */
export const EndpointAuthSchema = z.discriminatedUnion('type', [BasicSchema, BearerSchema, OAuth2Schema]);
export type EndpointAuth = z.infer<typeof EndpointAuthSchema>;
export type OAuth2Auth = Extract<EndpointAuth, { type: 'oauth2' }>;

/** What listings may show of an endpoint's auth: never a password, token or client secret. */
export type PublicEndpointAuth =
  | { type: 'basic'; username: string }
  | { type: 'bearer' }
  | { type: 'oauth2'; tokenUrl: string; clientId: string; scope?: string; audience?: string };

export function publicAuth(auth: EndpointAuth): PublicEndpointAuth {
  switch (auth.type) {
    case 'basic':
      return { type: 'basic', username: auth.username };
    case 'bearer':
      return { type: 'bearer' };
    case 'oauth2':
      return {
        type: 'oauth2',
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        ...(auth.scope !== undefined ? { scope: auth.scope } : {}),
        ...(auth.audience !== undefined ? { audience: auth.audience } : {}),
      };
  }
}

export {
  authCacheKey,
  authHeaders,
  DEFAULT_TOKEN_LIFETIME_MS,
  MAX_TOKEN_LIFETIME_MS,
  OAuthTokenCache,
  TOKEN_EXPIRY_MARGIN_MS,
  tokenLifetimeMs,
} from './tokens.ts';
