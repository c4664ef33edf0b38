/**
 * Bundles the endpoint portal (portal/src) and the operator console (portal/src/console), each
 * into three files: one ES module, one stylesheet and a static page that loads them. No framework
 * and nothing fetched at run time from anywhere else.
 *
 *   node --import tsx portal/build.ts --portal <dir> --console <dir>
 *       writes index.html, app.js and app.css of each app named into its <dir>
 *   node --import tsx portal/build.ts <dir>    the portal alone into <dir> (as before)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';
import { type AppBase, assetVersion, PORTAL_FILES, type PortalAssets } from '../functions/handlers/portal.ts';

const SRC = fileURLToPath(new URL('./src/', import.meta.url));
const CONSOLE_SRC = join(SRC, 'console');

function pageHtml(base: AppBase, title: string, noscript: string, js: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="${base}/app.css?v=${assetVersion(css)}">
<script type="module" src="${base}/app.js?v=${assetVersion(js)}"></script>
</head>
<body>
<div id="app"></div>
<noscript><p>${noscript}</p></noscript>
</body>
</html>
`;
}

/** The page: links to the bundle under its content hash, and a word for those without JavaScript. */
export function portalHtml(js: string, css: string): string {
  return pageHtml(
    '/portal',
    'Webhook endpoints',
    'This webhook portal needs JavaScript: allow it for this site, then reload the page.',
    js,
    css,
  );
}

/** The console's page, likewise. */
export function consoleHtml(js: string, css: string): string {
  return pageHtml(
    '/console',
    'Webhook relay console',
    'The operator console needs JavaScript: allow it for this site, then reload the page.',
    js,
    css,
  );
}

const bundleScript = async (entry: string, what: string): Promise<string> => {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
  });
  const out = bundle.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no ${what} bundle`);
  return out.text;
};

export async function buildPortal(): Promise<PortalAssets> {
  const [js, styles] = await Promise.all([
    bundleScript(join(SRC, 'main.ts'), 'portal'),
    readFile(join(SRC, 'styles.css'), 'utf8').then((css) =>
      transform(css, { loader: 'css', minify: true, target: 'es2022', logLevel: 'silent' }),
    ),
  ]);
  const css = styles.code;
  return { js, css, html: portalHtml(js, css) };
}

/**
 * The operator console: its script (portal/src/console/main.ts, which shares the portal's DOM and
 * API helpers) and its stylesheet, whose `@import` of the portal's esbuild inlines.
 */
export async function buildConsole(): Promise<PortalAssets> {
  const [js, styles] = await Promise.all([
    bundleScript(join(CONSOLE_SRC, 'main.ts'), 'console'),
    build({
      entryPoints: [join(CONSOLE_SRC, 'styles.css')],
      bundle: true,
      minify: true,
      target: 'es2022',
      write: false,
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
    }),
  ]);
  const out = styles.outputFiles[0];
  if (!out) throw new Error('esbuild produced no console stylesheet');
  const css = out.text;
  return { js, css, html: consoleHtml(js, css) };
}

async function writeAssets(assets: PortalAssets, dir: string): Promise<PortalAssets & { files: string[] }> {
  await mkdir(dir, { recursive: true });
  const files = [
    [PORTAL_FILES.html, assets.html],
    [PORTAL_FILES.js, assets.js],
    [PORTAL_FILES.css, assets.css],
  ] as const;
  await Promise.all(files.map(([name, body]) => writeFile(join(dir, name), body)));
  return { ...assets, files: files.map(([name]) => join(dir, name)) };
}

/** Builds and writes the portal's files into `dir` (created if need be); returns what it wrote. */
export async function writePortal(dir: string): Promise<PortalAssets & { files: string[] }> {
  return writeAssets(await buildPortal(), dir);
}

/** Builds and writes the console's files into `dir` (created if need be); returns what it wrote. */
export async function writeConsole(dir: string): Promise<PortalAssets & { files: string[] }> {
  return writeAssets(await buildConsole(), dir);
}

/** Raw and gzipped bytes of each asset (the budget: JS under 60 KB gzipped). */
export function portalSizes(assets: PortalAssets): Record<keyof PortalAssets, { raw: number; gzip: number }> {
  const size = (s: string) => ({ raw: Buffer.byteLength(s), gzip: gzipSync(s, { level: 9 }).length });
  return { js: size(assets.js), css: size(assets.css), html: size(assets.html) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const usage =
    'usage: node --import tsx portal/build.ts --portal <dir> --console <dir>   (or: <dir>, the portal alone)';
  let args: { portal?: string | undefined; console?: string | undefined };
  try {
    const parsed = parseArgs({
      options: { portal: { type: 'string' }, console: { type: 'string' } },
      allowPositionals: true,
    });
    const [positional, ...extra] = parsed.positionals;
    if (extra.length > 0 || (positional && parsed.values.portal)) throw new Error('too many directories');
    args = { portal: parsed.values.portal ?? positional, console: parsed.values.console };
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (!args.portal && !args.console) {
    console.error(usage);
    process.exit(2);
  }
  const jobs: Array<[string, Promise<PortalAssets & { files: string[] }>]> = [];
  if (args.portal) jobs.push(['portal', writePortal(resolve(args.portal))]);
  if (args.console) jobs.push(['console', writeConsole(resolve(args.console))]);
  for (const [app, job] of jobs) {
    const written = await job;
    for (const [name, s] of Object.entries(portalSizes(written))) {
      console.log(
        `${app.padEnd(8)} ${name.padEnd(4)} ${String(s.raw).padStart(7)} B  ${String(s.gzip).padStart(6)} B gzipped`,
      );
    }
    console.log(`wrote ${written.files.join(', ')}`);
  }
}
