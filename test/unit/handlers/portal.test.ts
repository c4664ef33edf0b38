import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assetVersion,
  isPortalPath,
  makePortalHandler,
  PORTAL_PATHS,
  type PortalAssets,
  portalCsp,
} from '../../../functions/handlers/portal.ts';
import { buildPortal } from '../../../portal/build.ts';

const assets: PortalAssets = { html: '<!doctype html><p>hi</p>', js: 'console.log(1)', css: 'p{color:red}' };

function get(
  path: string,
  extra: Partial<APIGatewayProxyEventV2> = {},
  method = 'GET',
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
    ...extra,
  };
}

describe('the portal handler', () => {
  it('serves the page, the script and the stylesheet with their content types and a strict CSP', async () => {
    const handler = makePortalHandler(async () => assets, { frameAncestors: [] });
    const expected = {
      '/portal': ['text/html; charset=utf-8', assets.html],
      '/portal/app.js': ['text/javascript; charset=utf-8', assets.js],
      '/portal/app.css': ['text/css; charset=utf-8', assets.css],
    } as const;
    for (const path of PORTAL_PATHS) {
      const res = await handler(get(path));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(expected[path][1]);
      expect(res.headers).toMatchObject({
        'content-type': expected[path][0],
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
        'content-security-policy':
          "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
          "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      });
    }
  });

  it('lets the listed origins frame it, and refuses anything that is not an origin', async () => {
    const handler = makePortalHandler(async () => assets, {
      frameAncestors: ['https://dashboard.example.com', 'https://*.example.org:8443'],
    });
    const res = await handler(get('/portal'));
    expect(res.headers?.['content-security-policy']).toMatch(
      /; frame-ancestors https:\/\/dashboard\.example\.com https:\/\/\*\.example\.org:8443$/,
    );
    expect(res.headers?.['x-frame-options']).toBeUndefined();
    for (const bad of [
      '*',
      "https://a.example; script-src 'unsafe-inline'",
      'javascript:x',
      'http://a.example',
    ]) {
      expect(() => portalCsp([bad])).toThrow(/is not a frame ancestor/);
    }
  });

  it('caches the bundle for good only under its content hash, and answers 304 to a matching ETag', async () => {
    const handler = makePortalHandler(async () => assets, { frameAncestors: [] });
    const v = assetVersion(assets.js);
    const pinned = await handler(get('/portal/app.js', { queryStringParameters: { v } }));
    expect(pinned.headers?.['cache-control']).toBe('public, max-age=31536000, immutable');
    const stale = await handler(get('/portal/app.js', { queryStringParameters: { v: 'old' } }));
    expect(stale.headers?.['cache-control']).toBe('no-cache');
    const page = await handler(get('/portal/'));
    expect(page.headers?.['cache-control']).toBe('no-cache');
    const again = await handler(get('/portal', { headers: { 'if-none-match': String(page.headers?.etag) } }));
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('loads the assets once, retries after a failure, and answers other methods 405', async () => {
    let calls = 0;
    const handler = makePortalHandler(
      async () => {
        calls++;
        if (calls === 1) throw new Error('not built');
        return assets;
      },
      { frameAncestors: [] },
    );
    expect((await handler(get('/portal'))).statusCode).toBe(503);
    expect((await handler(get('/portal'))).statusCode).toBe(200);
    expect((await handler(get('/portal/app.css'))).statusCode).toBe(200);
    expect(calls).toBe(2);
    const post = await handler(get('/portal', {}, 'POST'));
    expect(post.statusCode).toBe(405);
    expect(post.headers?.allow).toBe('GET, HEAD');
    expect((await handler(get('/portal/other.js'))).statusCode).toBe(404);
    expect(isPortalPath('/portal/app.js')).toBe(true);
    expect(isPortalPath('/portal/../v1')).toBe(false);
  });
});

describe('the portal bundle', () => {
  let built: PortalAssets;
  beforeAll(async () => {
    built = await buildPortal();
  });

  it('is one small ES module that never writes HTML from strings', () => {
    const gz = gzipSync(built.js).length;
    expect(gz).toBeLessThan(60 * 1024);
    expect(built.js).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
    // Nothing from another origin: no CDN, no font service (placeholders name example.com).
    expect(built.js).not.toMatch(/https?:\/\/(?!([a-z0-9-]+\.)*example\.com)[a-z]/i);
    expect(built.css).not.toMatch(/@import|url\(/);
  });

  it('has a page with no inline script or style that links the bundle under its hash', () => {
    const { html } = built;
    expect(html).toContain(
      `<script type="module" src="/portal/app.js?v=${assetVersion(built.js)}"></script>`,
    );
    expect(html).toContain(`<link rel="stylesheet" href="/portal/app.css?v=${assetVersion(built.css)}">`);
    expect(html).toContain('<noscript>');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });
});
