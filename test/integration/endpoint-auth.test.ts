import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeHttpSender, type Resolver } from '../../functions/adapters/http/sender.ts';
import { configFromEnv, targetPolicy } from '../../functions/core/config.ts';
import {
  authCacheKey,
  authHeaders,
  type OAuth2Auth,
  OAuthTokenCache,
} from '../../functions/core/subscriptions/auth.ts';
import { parseCidr, TargetPolicy } from '../../functions/core/targets.ts';

const CLIENT_ID = 'relay:client';
const CLIENT_SECRET = 'p%ss w0rd:&=';

/** The relay's default SSRF defence (nothing private allowed), as production runs it. */
const defaultPolicy = targetPolicy(configFromEnv({}));
/** The defence with loopback allow-listed, as an operator would for a receiver on the same host. */
const loopbackAllowed = new TargetPolicy({ allowPrivate: false, allowCidrs: [parseCidr('127.0.0.0/8')] });

interface TokenRequest {
  headers: IncomingHttpHeaders;
  form: Record<string, string>;
}

/**
 * A real OAuth 2.0 token endpoint on 127.0.0.1: checks client_secret_basic (RFC 6749 §2.3.1:
 * id and secret form-encoded, then Basic) and the client-credentials grant, and answers with a
 * token living `expiresIn` seconds. Counts connections, so a refusal can be shown to open none.
 */
async function startTokenServer(expiresIn = 120) {
  const requests: TokenRequest[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      requests.push({ headers: req.headers, form });
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
      };
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const [id, secret] = Buffer.from(basic ?? '', 'base64')
        .toString('utf8')
        .split(':')
        .map((part) => new URLSearchParams(`v=${part}`).get('v'));
      if (id !== CLIENT_ID || secret !== CLIENT_SECRET) return answer(401, { error: 'invalid_client' });
      if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
        return answer(400, { error: 'invalid_request' });
      if (form.grant_type !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type' });
      answer(200, { access_token: `token-${requests.length}`, token_type: 'Bearer', expires_in: expiresIn });
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    port,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function fakeClock() {
  let t = Date.now();
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('OAuth endpoint auth against a real token server (NodeHttpSender on 127.0.0.1)', () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });
  const setup = async (policy: TargetPolicy, opts: { resolve?: Resolver } = {}) => {
    const idp = await startTokenServer();
    const sender = new NodeHttpSender(policy, opts);
    closers.push(idp.close, () => sender.close());
    const clock = fakeClock();
    const tokens = new OAuthTokenCache({ sender, clock, timeoutMs: 2000 });
    const auth: OAuth2Auth = {
      type: 'oauth2',
      tokenUrl: idp.url,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scope: 'hooks:write',
    };
    return { idp, tokens, clock, auth, key: authCacheKey('sub_1', auth) };
  };

  it('fetches one token for many deliveries, concurrent and sequential, with Basic client auth and the grant', async () => {
    const { idp, tokens, auth, key } = await setup(loopbackAllowed);
    const concurrent = await Promise.all(Array.from({ length: 25 }, () => authHeaders(auth, tokens, key)));
    for (let i = 0; i < 25; i++) await authHeaders(auth, tokens, key);
    expect(new Set(concurrent.map((h) => h.authorization))).toEqual(new Set(['Bearer token-1']));
    expect(await authHeaders(auth, tokens, key)).toEqual({ authorization: 'Bearer token-1' });
    expect(idp.requests).toHaveLength(1);
    expect(idp.requests[0]?.form).toEqual({ grant_type: 'client_credentials', scope: 'hooks:write' });
    expect(idp.requests[0]?.headers.accept).toBe('application/json');
  });

  it('fetches a new token once the old one is within its expiry margin', async () => {
    const { idp, tokens, clock, auth, key } = await setup(loopbackAllowed);
    expect(await tokens.token(auth, key)).toBe('token-1');
    // expires_in 120 s: the margin is 10% (12 s), so the token is reused for 108 s.
    clock.advance(107_000);
    expect(await tokens.token(auth, key)).toBe('token-1');
    clock.advance(1_000);
    expect(await tokens.token(auth, key)).toBe('token-2');
    expect(idp.requests).toHaveLength(2);
  });

  it('fetches a new token after the receiver rejected the cached one (invalidate)', async () => {
    const { idp, tokens, auth, key } = await setup(loopbackAllowed);
    await tokens.token(auth, key);
    tokens.invalidate(key, 'token-1');
    expect(await tokens.token(auth, key)).toBe('token-2');
    expect(idp.requests).toHaveLength(2);
  });

  it('fails a wrong client secret as a retryable delivery failure that names neither secret nor token', async () => {
    const { idp, tokens, auth } = await setup(loopbackAllowed);
    const wrong = { ...auth, clientSecret: 'wrong-secret' };
    await expect(tokens.token(wrong, authCacheKey('sub_1', wrong))).rejects.toMatchObject({
      name: 'DeliveryFailure',
      retryable: true,
      reason: `OAuth token request to http://127.0.0.1:${idp.port} failed: HTTP 401 (invalid_client)`,
    });
  });

  it('refuses the cloud metadata address as a token URL under the default policy, before any socket', async () => {
    const { tokens, auth } = await setup(defaultPolicy);
    const metadata = { ...auth, tokenUrl: 'http://169.254.169.254/latest/meta-data/iam/' };
    const started = performance.now();
    await expect(tokens.token(metadata, authCacheKey('sub_1', metadata))).rejects.toMatchObject({
      name: 'DeliveryFailure',
      retryable: false,
      reason:
        'OAuth token request to http://169.254.169.254 failed: target address 169.254.169.254 is in a refused range (link-local, cloud metadata); an operator can allow-list it',
    });
    // A refusal in the sender's URL check: no connect attempt, so no connect timeout to wait for.
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses a loopback token URL under the default policy: the token server sees no connection', async () => {
    const { idp, tokens, auth, key } = await setup(defaultPolicy);
    await expect(tokens.token(auth, key)).rejects.toMatchObject({
      retryable: false,
      reason: expect.stringMatching(/failed: target address 127\.0\.0\.1 is in a refused range \(loopback\)/),
    });
    expect(idp.connections()).toBe(0);
    expect(idp.requests).toHaveLength(0);
  });

  it('refuses a token host name that resolves to loopback, checked in the socket lookup, without connecting', async () => {
    const resolve: Resolver = (_hostname, _family, callback) =>
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    const { idp, tokens, auth } = await setup(defaultPolicy, { resolve });
    const named = { ...auth, tokenUrl: `http://idp.internal:${idp.port}/oauth/token` };
    await expect(tokens.token(named, authCacheKey('sub_1', named))).rejects.toMatchObject({
      retryable: false,
      reason: `OAuth token request to http://idp.internal:${idp.port} failed: idp.internal resolves to a refused address (loopback)`,
    });
    expect(idp.connections()).toBe(0);
  });
});
