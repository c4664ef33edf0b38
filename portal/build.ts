/**
 * Bundles the endpoint portal (portal/src) into three files: one ES module, one stylesheet and a
 * static page that loads them. No framework and nothing fetched at run time from anywhere else.
 *
 *   node --import tsx portal/build.ts <dir>    writes index.html, app.js and app.css into <dir>
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';
import { assetVersion, PORTAL_FILES, type PortalAssets } from '../functions/handlers/portal.ts';

const SRC = fileURLToPath(new URL('./src/', import.meta.url));

/** The page: links to the bundle under its content hash, and a word for those without JavaScript. */
export function portalHtml(js: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Webhook endpoints</title>
<link rel="stylesheet" href="/portal/app.css?v=${assetVersion(css)}">
<script type="module" src="/portal/app.js?v=${assetVersion(js)}"></script>
</head>
<body>
<div id="app"></div>
<noscript><p>This webhook portal needs JavaScript: allow it for this site, then reload the page.</p></noscript>
</body>
</html>
`;
}

export async function buildPortal(): Promise<PortalAssets> {
  const [bundle, styles] = await Promise.all([
    build({
      entryPoints: [join(SRC, 'main.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
    }),
    readFile(join(SRC, 'styles.css'), 'utf8').then((css) =>
      transform(css, { loader: 'css', minify: true, target: 'es2022', logLevel: 'silent' }),
    ),
  ]);
  const out = bundle.outputFiles[0];
  if (!out) throw new Error('esbuild produced no portal bundle');
  const js = out.text;
  const css = styles.code;
  return { js, css, html: portalHtml(js, css) };
}

/** Builds and writes the portal's files into `dir` (created if need be); returns what it wrote. */
export async function writePortal(dir: string): Promise<PortalAssets & { files: string[] }> {
  const assets = await buildPortal();
  await mkdir(dir, { recursive: true });
  const files = [
    [PORTAL_FILES.html, assets.html],
    [PORTAL_FILES.js, assets.js],
    [PORTAL_FILES.css, assets.css],
  ] as const;
  await Promise.all(files.map(([name, body]) => writeFile(join(dir, name), body)));
  return { ...assets, files: files.map(([name]) => join(dir, name)) };
}

/** Raw and gzipped bytes of each asset (the budget: JS under 60 KB gzipped). */
export function portalSizes(assets: PortalAssets): Record<keyof PortalAssets, { raw: number; gzip: number }> {
  const size = (s: string) => ({ raw: Buffer.byteLength(s), gzip: gzipSync(s, { level: 9 }).length });
  return { js: size(assets.js), css: size(assets.css), html: size(assets.html) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node --import tsx portal/build.ts <dir>');
    process.exit(2);
  }
  const written = await writePortal(resolve(dir));
  const sizes = portalSizes(written);
  for (const [name, s] of Object.entries(sizes)) {
    console.log(`${name.padEnd(4)} ${String(s.raw).padStart(7)} B  ${String(s.gzip).padStart(6)} B gzipped`);
  }
  console.log(`wrote ${written.files.join(', ')}`);
}
