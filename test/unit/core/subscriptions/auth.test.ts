import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeliveryFailure } from '../../../../functions/core/errors.ts';
import type { HttpResponse, HttpSender } from '../../../../functions/core/ports.ts';
import {
  authCacheKey,
  authHeaders,
  type EndpointAuth,
  EndpointAuthSchema,
  type OAuth2Auth,
  OAuthTokenCache,
  publicAuth,
  tokenLifetimeMs,
} from '../../../../functions/core/subscriptions/auth.ts';
import { issuesOf } from '../../support/schema.ts';

const SECRET = 's3cr3t:with%special&chars';
const oauth: OAuth2Auth = {
  type: 'oauth2',
  tokenUrl: 'https://idp.example/oauth/token?tenant=1',
  clientId: 'client:id%1',
  clientSecret: SECRET,
};

interface Call {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** A token endpoint in memory: answers the n-th request (1-based) with `answer(n)`. */
function fakeSender(answer: (n: number, call: Call) => Partial<HttpResponse> | Error = tokenAnswer()) {
  const calls: Call[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const sender: HttpSender & { calls: Call[]; hold(): void; open(): void } = {
    calls,
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    open() {
      release?.();
    },
    async post(url, headers, body, timeoutMs) {
      const call = { url, headers, body, timeoutMs };
      calls.push(call);
      if (gate) await gate;
      const a = answer(calls.length, call);
      if (a instanceof Error) throw a;
      return { status: 200, headers: {}, body: '', ...a };
    },
  };
  return sender;
}

function tokenAnswer(extra: Record<string, unknown> = { expires_in: 3600 }) {
  return (n: number) => ({
    status: 200,
    body: JSON.stringify({ access_token: `tok-${n}`, token_type: 'Bearer', ...extra }),
  });
}

function fakeClock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let t = start;
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('EndpointAuthSchema', () => {
  it('accepts basic, bearer and oauth2 (with and without scope and audience)', () => {
    const inputs: EndpointAuth[] = [
      { type: 'basic', username: 'relay', password: 'p@ss word: ok' },
      { type: 'bearer', token: 'abc.DEF-123_~+/=' },
      oauth,
      { ...oauth, tokenUrl: 'http://idp.example/token', scope: 'hooks:write read', audience: 'https://api' },
    ];
    for (const input of inputs) expect(EndpointAuthSchema.parse(input)).toEqual(input);
  });

  it('refuses unknown types and unknown fields (strict objects)', () => {
    expect(EndpointAuthSchema.safeParse({ type: 'digest', username: 'a', password: 'b' }).success).toBe(
      false,
    );
    expect(issuesOf(EndpointAuthSchema, { type: 'bearer', token: 't', extra: 1 })[0]?.code).toBe(
      'unrecognized_keys',
    );
  });

  it.each([
    ['a username with a colon', { type: 'basic', username: 'a:b', password: 'p' }, 'username'],
    ['an empty username', { type: 'basic', username: '', password: 'p' }, 'username'],
    [
      'a password over 256 characters',
      { type: 'basic', username: 'u', password: 'p'.repeat(257) },
      'password',
    ],
    ['a password with a newline', { type: 'basic', username: 'u', password: 'p\nq' }, 'password'],
    ['a token with a space', { type: 'bearer', token: 'a b' }, 'token'],
    ['a token with a CRLF', { type: 'bearer', token: 'a\r\nX-Evil: 1' }, 'token'],
    ['a token over 4096 characters', { type: 'bearer', token: 't'.repeat(4097) }, 'token'],
    ['an empty token', { type: 'bearer', token: '' }, 'token'],
    ['a relative token URL', { ...oauth, tokenUrl: '/oauth/token' }, 'tokenUrl'],
    ['an ftp token URL', { ...oauth, tokenUrl: 'ftp://idp.example/token' }, 'tokenUrl'],
    ['a token URL with credentials', { ...oauth, tokenUrl: 'https://u:p@idp.example/token' }, 'tokenUrl'],
    [
      'a token URL over 2048 characters',
      { ...oauth, tokenUrl: `https://idp.example/${'a'.repeat(2040)}` },
      'tokenUrl',
    ],
    ['a client id over 1024 characters', { ...oauth, clientId: 'c'.repeat(1025) }, 'clientId'],
    ['an empty client secret', { ...oauth, clientSecret: '' }, 'clientSecret'],
    ['a scope over 1024 characters', { ...oauth, scope: 's'.repeat(1025) }, 'scope'],
  ])('refuses %s, pointing at the field', (_what, input, field) => {
    const issues = issuesOf(EndpointAuthSchema, input);
    expect(issues.map((i) => i.path.join('.'))).toContain(field);
  });
});

describe('publicAuth', () => {
  it('shows the type and the non-secret fields, never a password, token or client secret', () => {
    expect(publicAuth({ type: 'basic', username: 'relay', password: 'hunter2' })).toEqual({
      type: 'basic',
      username: 'relay',
    });
    expect(publicAuth({ type: 'bearer', token: 'tok' })).toEqual({ type: 'bearer' });
    expect(publicAuth(oauth)).toEqual({ type: 'oauth2', tokenUrl: oauth.tokenUrl, clientId: oauth.clientId });
    const full = publicAuth({ ...oauth, scope: 'a b', audience: 'aud' });
    expect(full).toEqual({
      type: 'oauth2',
      tokenUrl: oauth.tokenUrl,
      clientId: oauth.clientId,
      scope: 'a b',
      audience: 'aud',
    });
    expect(JSON.stringify(full)).not.toContain(SECRET);
  });
});

describe('authCacheKey', () => {
  it('is stable for the same credentials and changes when any credential field changes', () => {
    const key = authCacheKey('sub_1', oauth);
    expect(key).toMatch(/^sub_1#[0-9a-f]{24}$/);
    expect(authCacheKey('sub_1', { ...oauth })).toBe(key);
    for (const edited of [
      { ...oauth, clientSecret: 'other' },
      { ...oauth, clientId: 'other' },
      { ...oauth, tokenUrl: 'https://idp2.example/token' },
      { ...oauth, scope: 'x' },
      { ...oauth, audience: 'x' },
    ])
      expect(authCacheKey('sub_1', edited)).not.toBe(key);
    expect(authCacheKey('sub_2', oauth)).not.toBe(key);
  });

  it('does not contain the secret or its plain SHA-256', () => {
    const auth: EndpointAuth = { type: 'bearer', token: 'plain-token' };
    const key = authCacheKey('sub_1', auth);
    expect(key).not.toContain('plain-token');
    for (const text of ['plain-token', JSON.stringify(['bearer', 'plain-token'])]) {
      const plain = createHash('sha256').update(text).digest('hex');
      expect(key).not.toContain(plain.slice(0, 24));
    }
  });
});

describe('authHeaders', () => {
  it('sends Basic with the UTF-8 user and password, not form-encoded', async () => {
    const tokens = new OAuthTokenCache({ sender: fakeSender(), clock: fakeClock() });
    const headers = await authHeaders({ type: 'basic', username: 'rélay', password: 'p:w%d' }, tokens, 'k');
    expect(headers).toEqual({ authorization: `Basic ${Buffer.from('rélay:p:w%d').toString('base64')}` });
  });

  it('sends a static bearer token as is', async () => {
    const tokens = new OAuthTokenCache({ sender: fakeSender(), clock: fakeClock() });
    expect(await authHeaders({ type: 'bearer', token: 'tok_123' }, tokens, 'k')).toEqual({
      authorization: 'Bearer tok_123',
    });
  });

  it('sends an OAuth token as a bearer token', async () => {
    const tokens = new OAuthTokenCache({ sender: fakeSender(), clock: fakeClock() });
    expect(await authHeaders(oauth, tokens, 'k')).toEqual({ authorization: 'Bearer tok-1' });
  });

  it('adds nothing without auth', async () => {
    const sender = fakeSender();
    expect(await authHeaders(undefined, new OAuthTokenCache({ sender, clock: fakeClock() }), 'k')).toEqual(
      {},
    );
    expect(sender.calls).toHaveLength(0);
  });
});

describe('OAuthTokenCache', () => {
  it('makes a client-credentials request with HTTP Basic client authentication, ids form-encoded first', async () => {
    const sender = fakeSender();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock(), timeoutMs: 1234 });
    expect(await tokens.token(oauth, 'k')).toBe('tok-1');
    const [call] = sender.calls;
    expect(call?.url).toBe(oauth.tokenUrl);
    expect(call?.timeoutMs).toBe(1234);
    expect(call?.headers).toMatchObject({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    });
    expect(Object.fromEntries(new URLSearchParams(call?.body))).toEqual({ grant_type: 'client_credentials' });
    // RFC 6749 §2.3.1: both form-encoded, then joined with ':' and base64-encoded.
    const basic = call?.headers.authorization?.replace(/^Basic /, '') ?? '';
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    expect(decoded).toBe('client%3Aid%251:s3cr3t%3Awith%25special%26chars');
    const [id, secret] = decoded.split(':').map(decodeURIComponent);
    expect({ id, secret }).toEqual({ id: oauth.clientId, secret: SECRET });
    // The secret travels only in the Authorization header.
    expect(call?.body).not.toContain('s3cr3t');
  });

  it('form-encodes spaces as "+" (application/x-www-form-urlencoded)', async () => {
    const sender = fakeSender();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock() });
    await tokens.token({ ...oauth, clientId: 'my client', clientSecret: 'a b' }, 'k');
    const basic = sender.calls[0]?.headers.authorization?.replace(/^Basic /, '') ?? '';
    expect(Buffer.from(basic, 'base64').toString()).toBe('my+client:a+b');
  });

  it('sends scope and audience in the form body when set', async () => {
    const sender = fakeSender();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock() });
    await tokens.token({ ...oauth, scope: 'hooks:write orders.read', audience: 'https://api.example/' }, 'k');
    expect(Object.fromEntries(new URLSearchParams(sender.calls[0]?.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'hooks:write orders.read',
      audience: 'https://api.example/',
    });
  });

  it('reuses a token until 60 s before it expires, then fetches a new one', async () => {
    const sender = fakeSender();
    const clock = fakeClock();
    const tokens = new OAuthTokenCache({ sender, clock });
    expect(await tokens.token(oauth, 'k')).toBe('tok-1');
    clock.advance(3600_000 - 60_000 - 1);
    expect(await tokens.token(oauth, 'k')).toBe('tok-1');
    expect(sender.calls).toHaveLength(1);
    clock.advance(1);
    expect(await tokens.token(oauth, 'k')).toBe('tok-2');
    expect(sender.calls).toHaveLength(2);
  });

  it('keeps a margin of 10% for short-lived tokens', async () => {
    const sender = fakeSender(tokenAnswer({ expires_in: 100 }));
    const clock = fakeClock();
    const tokens = new OAuthTokenCache({ sender, clock });
    await tokens.token(oauth, 'k');
    clock.advance(89_999);
    expect(await tokens.token(oauth, 'k')).toBe('tok-1');
    clock.advance(1);
    expect(await tokens.token(oauth, 'k')).toBe('tok-2');
  });

  it('reuses a token without expires_in for 5 minutes', async () => {
    const sender = fakeSender(tokenAnswer({}));
    const clock = fakeClock();
    const tokens = new OAuthTokenCache({ sender, clock });
    await tokens.token(oauth, 'k');
    clock.advance(5 * 60_000 - 1);
    expect(await tokens.token(oauth, 'k')).toBe('tok-1');
    clock.advance(1);
    expect(await tokens.token(oauth, 'k')).toBe('tok-2');
  });

  it('accepts expires_in as a string of digits, and does not cache a token that expires at once', async () => {
    const clock = fakeClock();
    const s1 = fakeSender(tokenAnswer({ expires_in: '120' }));
    const t1 = new OAuthTokenCache({ sender: s1, clock });
    await t1.token(oauth, 'k');
    clock.advance(100_000);
    expect(await t1.token(oauth, 'k')).toBe('tok-1');
    const s2 = fakeSender(tokenAnswer({ expires_in: 0 }));
    const t2 = new OAuthTokenCache({ sender: s2, clock });
    expect(await t2.token(oauth, 'k')).toBe('tok-1');
    expect(await t2.token(oauth, 'k')).toBe('tok-2');
  });

  it('caps the lifetime of a token that claims to live for years', () => {
    expect(tokenLifetimeMs(10 * 365 * 86_400)).toBe(24 * 3600_000 - 60_000);
    expect(tokenLifetimeMs(undefined)).toBe(5 * 60_000);
    expect(tokenLifetimeMs(3600)).toBe(3540_000);
  });

  it('shares one in-flight request among concurrent callers', async () => {
    const sender = fakeSender();
    sender.hold();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock() });
    const all = Promise.all(Array.from({ length: 20 }, () => tokens.token(oauth, 'k')));
    await Promise.resolve();
    sender.open();
    expect(new Set(await all)).toEqual(new Set(['tok-1']));
    expect(sender.calls).toHaveLength(1);
  });

  it('shares a failure among concurrent callers, and the next call tries again', async () => {
    const sender = fakeSender((n) => (n === 1 ? { status: 503, body: 'down' } : tokenAnswer()(n)));
    sender.hold();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock() });
    const all = Promise.allSettled([tokens.token(oauth, 'k'), tokens.token(oauth, 'k')]);
    sender.open();
    const results = await all;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(sender.calls).toHaveLength(1);
    expect(await tokens.token(oauth, 'k')).toBe('tok-2');
  });

  it('caches per key: different credentials never share a token', async () => {
    const sender = fakeSender();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock() });
    const edited = { ...oauth, clientSecret: 'new-secret' };
    expect(await tokens.token(oauth, authCacheKey('sub_1', oauth))).toBe('tok-1');
    expect(await tokens.token(edited, authCacheKey('sub_1', edited))).toBe('tok-2');
    expect(await tokens.token(oauth, authCacheKey('sub_1', oauth))).toBe('tok-1');
  });

  it('fetches a new token after invalidate (the receiver answered 401)', async () => {
    const sender = fakeSender();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock() });
    await tokens.token(oauth, 'k');
    tokens.invalidate('k');
    expect(await tokens.token(oauth, 'k')).toBe('tok-2');
    expect(sender.calls).toHaveLength(2);
  });

  it('keeps a newer token when invalidating one that was already replaced', async () => {
    const sender = fakeSender();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock() });
    await tokens.token(oauth, 'k');
    tokens.invalidate('k', 'tok-1');
    expect(await tokens.token(oauth, 'k')).toBe('tok-2');
    tokens.invalidate('k', 'tok-1');
    expect(await tokens.token(oauth, 'k')).toBe('tok-2');
    expect(sender.calls).toHaveLength(2);
  });

  it('holds at most maxEntries tokens, dropping the least recently used', async () => {
    const sender = fakeSender();
    const tokens = new OAuthTokenCache({ sender, clock: fakeClock(), maxEntries: 2 });
    await tokens.token(oauth, 'a');
    await tokens.token(oauth, 'b');
    await tokens.token(oauth, 'a');
    await tokens.token(oauth, 'c');
    expect(tokens.size).toBe(2);
    expect(await tokens.token(oauth, 'a')).toBe('tok-1');
    expect(await tokens.token(oauth, 'b')).toBe('tok-4');
  });

  describe('failures', () => {
    const failureOf = async (answer: Partial<HttpResponse> | Error, auth: OAuth2Auth = oauth) => {
      const tokens = new OAuthTokenCache({ sender: fakeSender(() => answer), clock: fakeClock() });
      const err = await tokens.token(auth, 'k').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DeliveryFailure);
      const failure = err as DeliveryFailure;
      expect(failure.message).not.toContain(SECRET);
      expect(failure.message).not.toContain(encodeURIComponent(SECRET));
      return failure;
    };

    it.each([400, 401, 403, 404, 429, 500, 503])(
      'fails an HTTP %i token answer as retryable, naming the origin and the status',
      async (status) => {
        const f = await failureOf({ status, body: 'nope' });
        expect(f.retryable).toBe(true);
        expect(f.reason).toBe(`OAuth token request to https://idp.example failed: HTTP ${status}`);
      },
    );

    it('repeats a well-formed RFC 6749 error code, never the error description', async () => {
      const f = await failureOf({
        status: 401,
        body: JSON.stringify({ error: 'invalid_client', error_description: `bad secret ${SECRET}` }),
      });
      expect(f.reason).toBe('OAuth token request to https://idp.example failed: HTTP 401 (invalid_client)');
    });

    it('redacts the secret even from an error code that echoes it', async () => {
      const f = await failureOf({ status: 400, body: JSON.stringify({ error: SECRET }) }, oauth);
      expect(f.reason).toBe('OAuth token request to https://idp.example failed: HTTP 400 ([redacted])');
    });

    it('says redirects are not followed for a 3xx', async () => {
      const f = await failureOf({ status: 302, headers: { location: 'https://elsewhere' } });
      expect(f).toMatchObject({ retryable: true });
      expect(f.reason).toMatch(/HTTP 302: redirects are not followed$/);
    });

    it.each([
      ['not JSON', '<html>login</html>', /HTTP 200 answer is not JSON$/],
      [
        'without access_token',
        '{"token_type":"Bearer"}',
        /not a bearer token response \(bad access_token\)$/,
      ],
      ['of another token type', '{"access_token":"AT-9f8e7d","token_type":"mac"}', /\(bad token_type\)$/],
      [
        'whose token could split a header',
        '{"access_token":"AT-9f8e7d\\r\\nx-evil: 1"}',
        /\(bad access_token\)$/,
      ],
      ['with a negative expires_in', '{"access_token":"AT-9f8e7d","expires_in":-5}', /\(bad expires_in\)$/],
    ])('fails a 2xx answer %s as retryable without repeating the token', async (_what, body, reason) => {
      const f = await failureOf({ status: 200, body });
      expect(f.retryable).toBe(true);
      expect(f.reason).toMatch(reason);
      expect(f.reason).not.toContain('AT-9f8e7d');
    });

    it('accepts token_type in any case', async () => {
      const sender = fakeSender(() => ({ status: 200, body: '{"access_token":"t","token_type":"bEaReR"}' }));
      expect(await new OAuthTokenCache({ sender, clock: fakeClock() }).token(oauth, 'k')).toBe('t');
    });

    it('keeps the sender’s classification of transport failures: network retryable, refused target permanent', async () => {
      const net = await failureOf(new DeliveryFailure('connection refused', true));
      expect(net).toMatchObject({
        retryable: true,
        timedOut: false,
        reason: 'OAuth token request to https://idp.example failed: connection refused',
      });
      const timeout = await failureOf(new DeliveryFailure('timed out after 10 ms', true, true));
      expect(timeout).toMatchObject({ retryable: true, timedOut: false });
      const refused = await failureOf(
        new DeliveryFailure('target address 169.254.169.254 is in a refused range (link-local)', false),
      );
      expect(refused).toMatchObject({ retryable: false });
      expect(refused.reason).toMatch(/^OAuth token request to https:\/\/idp\.example failed: target address/);
    });

    it('fails an unexpected error as retryable, with the secret redacted', async () => {
      const f = await failureOf(new Error(`boom Basic ${SECRET}`));
      expect(f.retryable).toBe(true);
      expect(f.reason).toBe('OAuth token request to https://idp.example failed: boom Basic [redacted]');
    });
  });
});
