import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { logger } from '../commons/logger.ts';
import { frameAncestorsDirective, parseFrameAncestors } from '../core/portal/frame-ancestors.ts';
import type { HttpResult } from './http.ts';

/**
 * The endpoint portal's static files (portal/, bundled by portal/build.ts), served from the same
 * origin as the API it calls, before any authentication: the page holds no data, the token
 * travels in the URL fragment and then only as the Bearer of the API calls. The operator console
 * (portal/src/console, at `/console`) is served the same way; its key is pasted into its page.
 */

/** What the portal handler serves: add these to ROUTES (public, target api). */
export const PORTAL_PATHS = ['/portal', '/portal/app.js', '/portal/app.css'] as const;
export type PortalPath = (typeof PORTAL_PATHS)[number];

export const isPortalPath = (path: string): path is PortalPath =>
  (PORTAL_PATHS as readonly string[]).includes(path);

/** What the operator console's handler serves: in ROUTES too (public, target api). */
export const CONSOLE_PATHS = ['/console', '/console/app.js', '/console/app.css'] as const;
export type ConsolePath = (typeof CONSOLE_PATHS)[number];

export const isConsolePath = (path: string): path is ConsolePath =>
  (CONSOLE_PATHS as readonly string[]).includes(path);

/** Where a static app lives: its page at `base`, its files at `base/app.js` and `base/app.css`. */
export type AppBase = '/portal' | '/console';

export interface PortalAssets {
  js: string;
  css: string;
  html: string;
}

/** The file names portal/build.ts writes and {@link portalAssetsFromDir} reads. */
export const PORTAL_FILES = { html: 'index.html', js: 'app.js', css: 'app.css' } as const;

export interface PortalHandlerOptions {
  /**
   * Origins allowed to frame the portal (`https://dashboard.example.com`): the providers that
   * embed it in their own dashboard. Empty: `'none'`, no one may.
   */
  frameAncestors: readonly string[];
}

/**
 * The Content-Security-Policy of every portal response: this origin only, no inline script or
 * style, no framing but by the named dashboards. Throws on a source parseFrameAncestors refuses.
 */
export function portalCsp(frameAncestors: readonly string[]): string {
  // Checked again here (config.ts checks at start): a stray `;` would smuggle in a directive.
  const sources = parseFrameAncestors(frameAncestors.join(' '));
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    frameAncestorsDirective(sources),
  ].join('; ');
}

const CONTENT_TYPES: Record<keyof PortalAssets, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** The asset a path under `base` names, if any: the page, the script or the style. */
function assetOf(base: AppBase, path: string): keyof PortalAssets | undefined {
  if (path === base) return 'html';
  if (path === `${base}/app.js`) return 'js';
  if (path === `${base}/app.css`) return 'css';
  return undefined;
}

/** The short content hash build.ts puts in `?v=` of the page's links (see {@link assetVersion}). */
export function assetVersion(content: string): string {
  return createHash('sha256').update(content).digest('base64url').slice(0, 12);
}

/**
 * `GET /portal`, `/portal/app.js`, `/portal/app.css`. The page is never cached (`no-cache`,
 * revalidated by ETag); the script and style are immutable under their `?v=` content hash (the
 * page links them so), and revalidated otherwise.
 * @param assets the bundle: read once, on the first request (memoised here)
 */
export function makePortalHandler(
  assets: () => Promise<PortalAssets>,
  opts: PortalHandlerOptions,
): (event: APIGatewayProxyEventV2) => Promise<HttpResult> {
  return makeStaticAppHandler('/portal', assets, opts);
}

/**
 * {@link makePortalHandler} for any of the static apps: `/portal` or `/console` (the operator
 * console, which no one frames: pass `frameAncestors: []`). Same CSP, headers and caching.
 */
export function makeStaticAppHandler(
  base: AppBase,
  assets: () => Promise<PortalAssets>,
  opts: PortalHandlerOptions,
): (event: APIGatewayProxyEventV2) => Promise<HttpResult> {
  const name = base === '/portal' ? 'portal' : 'console';
  const csp = portalCsp(opts.frameAncestors);
  const security: Record<string, string> = {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    // Older browsers that ignore frame-ancestors: refuse framing when no one may frame.
    ...(opts.frameAncestors.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
  };
  type Loaded = { body: PortalAssets; etag: Record<keyof PortalAssets, string> };
  let loaded: Promise<Loaded> | undefined;
  const load = (): Promise<Loaded> => {
    loaded ??= assets().then(
      (a) => ({
        body: a,
        etag: {
          html: `"${assetVersion(a.html)}"`,
          js: `"${assetVersion(a.js)}"`,
          css: `"${assetVersion(a.css)}"`,
        },
      }),
      (err) => {
        loaded = undefined; // not memoised: the next request tries again
        throw err;
      },
    );
    return loaded;
  };

  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
    const key = assetOf(base, path);
    if (!key) return plain(404, 'not found', security);
    if (method !== 'GET' && method !== 'HEAD') {
      return { ...plain(405, 'method not allowed', security), headers: { ...security, allow: 'GET, HEAD' } };
    }
    let a: Loaded;
    try {
      a = await load();
    } catch (err) {
      logger.error(`${name} assets could not be loaded`, { error: err as Error });
      return plain(503, `the ${name} is not available right now; retry in a moment`, security);
    }
    const etag = a.etag[key];
    const versioned = key !== 'html' && event.queryStringParameters?.v === etag.slice(1, -1);
    const headers = {
      ...security,
      'content-type': CONTENT_TYPES[key],
      'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag,
    };
    const inm = event.headers?.['if-none-match'];
    if (inm?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
      return { statusCode: 304, headers, body: '' };
    }
    return { statusCode: 200, headers, body: method === 'HEAD' ? '' : a.body[key] };
  };
}

function plain(statusCode: number, text: string, security: Record<string, string>): HttpResult {
  return {
    statusCode,
    headers: { ...security, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: text,
  };
}

/** The files portal/build.ts wrote into `dir` (the Lambda bundle's copy, on AWS); the console's too. */
export async function portalAssetsFromDir(dir: string): Promise<PortalAssets> {
  const [html, js, css] = await Promise.all(
    [PORTAL_FILES.html, PORTAL_FILES.js, PORTAL_FILES.css].map((f) => readFile(join(dir, f), 'utf8')),
  );
  return { html: html as string, js: js as string, css: css as string };
}
