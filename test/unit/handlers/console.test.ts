import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assetVersion,
  CONSOLE_PATHS,
  isConsolePath,
  makeStaticAppHandler,
  type PortalAssets,
} from '../../../functions/handlers/portal.ts';
import { ROUTES } from '../../../functions/handlers/routes.ts';
import { buildConsole } from '../../../portal/build.ts';

const assets: PortalAssets = {
  html: '<!doctype html><p>console</p>',
  js: 'console.log(2)',
  css: 'p{color:blue}',
};

const get = (path: string, method = 'GET'): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    requestContext: { http: { method, path } },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

describe('the console handler', () => {
  it('serves the page, the script and the stylesheet under /console with the strict CSP, never framed', async () => {
    const handler = makeStaticAppHandler('/console', async () => assets, { frameAncestors: [] });
    const expected = {
      '/console': ['text/html; charset=utf-8', assets.html],
      '/console/app.js': ['text/javascript; charset=utf-8', assets.js],
      '/console/app.css': ['text/css; charset=utf-8', assets.css],
    } as const;
    for (const path of CONSOLE_PATHS) {
      const res = await handler(get(path));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(expected[path][1]);
      expect(res.headers).toMatchObject({
        'content-type': expected[path][0],
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
      });
      expect(String(res.headers?.['content-security-policy'])).toContain("frame-ancestors 'none'");
      expect(String(res.headers?.['content-security-policy'])).toContain("script-src 'self'");
    }
    // Only its own paths: the portal's are not the console's.
    expect((await handler(get('/portal'))).statusCode).toBe(404);
    expect((await handler(get('/console/other.js'))).statusCode).toBe(404);
    expect((await handler(get('/console', 'POST'))).statusCode).toBe(405);
    expect(isConsolePath('/console/app.js')).toBe(true);
    expect(isConsolePath('/console/../v1')).toBe(false);
  });

  it('says the console, not the portal, is unavailable when its files cannot be read', async () => {
    const handler = makeStaticAppHandler(
      '/console',
      async () => {
        throw new Error('no files');
      },
      { frameAncestors: [] },
    );
    const res = await handler(get('/console'));
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('the console is not available');
  });

  it('has its three routes in the table, public, on the API function', () => {
    for (const path of CONSOLE_PATHS) {
      expect(ROUTES).toContainEqual({ method: 'GET', path, target: 'api', public: true });
    }
  });
});

describe('the console bundle', () => {
  let built: PortalAssets;
  beforeAll(async () => {
    built = await buildConsole();
  });

  it('is one small ES module that never writes HTML from strings, and a self-contained stylesheet', () => {
    expect(gzipSync(built.js).length).toBeLessThan(60 * 1024);
    expect(built.js).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
    expect(built.js).not.toMatch(/https?:\/\/(?!example\.com)[a-z]/i);
    // The portal's styles are inlined: no @import left to fetch.
    expect(built.css).not.toMatch(/@import|url\(/);
    expect(built.css).toContain('.notice');
  });

  it('has a page with no inline script or style that links the bundle under its hash', () => {
    const { html } = built;
    expect(html).toContain(
      `<script type="module" src="/console/app.js?v=${assetVersion(built.js)}"></script>`,
    );
    expect(html).toContain(`<link rel="stylesheet" href="/console/app.css?v=${assetVersion(built.css)}">`);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });
});
