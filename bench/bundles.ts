/**
 * Bundle report: `npm run bundles`. Builds each Lambda entry exactly as the stack deploys it
 * (infra/bundling.ts) and prints its minified size and cold module-init time: the median over
 * fresh Node processes (the version running this script: Node 24 via the project's devDependency)
 * of `await import(bundle)`, less the same for an empty module. The AWS SDK is external, as on
 * Lambda, where the runtime provides it; here it resolves from node_modules.
 *
 * Environment: BUNDLE_RUNS (default 9) fresh processes per bundle.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLING, ENTRIES } from '../infra/bundling.ts';

const SIZE_TARGET_KB = 200;
const INIT_TARGET_MS = 80;
const RUNS = Number(process.env.BUNDLE_RUNS ?? 9);
const outRoot = resolve('.bundle-report');

// What the functions read at module init (names only; nothing is called at init).
const lambdaEnv = {
  ...process.env,
  AWS_REGION: 'us-east-1',
  RELAY_TABLE_NAME: 't',
  RELAY_EVENT_BUS_NAME: 'b',
  RELAY_DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q',
  RELAY_DELIVERY_DLQ_ARN: 'arn:aws:sqs:us-east-1:1:q-dlq',
  RELAY_ADMIN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:k',
  RELAY_ARCHIVE_ARN: 'arn:aws:events:us-east-1:1:archive/a',
  RELAY_EVENT_BUS_ARN: 'arn:aws:events:us-east-1:1:event-bus/b',
  RELAY_FANOUT_RULE_ARN: 'arn:aws:events:us-east-1:1:rule/b/r',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

function importMs(file: string): number {
  const script = `const t=performance.now();await import(${JSON.stringify(`file://${file}`)});process.stdout.write(String(performance.now()-t));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: lambdaEnv,
    encoding: 'utf8',
  });
  return Number(out);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

rmSync(outRoot, { recursive: true, force: true });
mkdirSync(outRoot, { recursive: true });
const empty = join(outRoot, 'empty.mjs');
writeFileSync(empty, 'export {};\n');
const baseline = median(Array.from({ length: RUNS }, () => importMs(empty)));

const rows: string[][] = [];
let allMet = true;
for (const [name, entry] of Object.entries(ENTRIES)) {
  const outfile = join(outRoot, name, 'index.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: BUNDLING.format,
    target: BUNDLING.target,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    external: [...BUNDLING.external],
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    logLevel: 'error',
  });
  const kb = statSync(outfile).size / 1024;
  const gzKb = gzipSync(readFileSync(outfile)).length / 1024;
  const init = median(Array.from({ length: RUNS }, () => importMs(outfile))) - baseline;
  const met = kb <= SIZE_TARGET_KB && init <= INIT_TARGET_MS;
  allMet &&= met;
  rows.push([
    name,
    `${kb.toFixed(1)} KB`,
    `${gzKb.toFixed(1)} KB`,
    `${init.toFixed(1)} ms`,
    met ? 'PASS' : 'MISS',
  ]);
}

const header = [
  'function',
  'minified',
  'gzipped',
  'cold init',
  `<= ${SIZE_TARGET_KB} KB, <= ${INIT_TARGET_MS} ms`,
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
process.stdout.write(
  [
    `Lambda bundles (esbuild ${BUNDLING.format}, ${BUNDLING.target}, minified; AWS SDK external)`,
    `node ${process.version}; cold init = median of ${RUNS} fresh processes, less ${baseline.toFixed(1)} ms for an empty module`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    allMet ? 'all bundles within target' : 'some bundles miss their target',
    '',
  ].join('\n'),
);
rmSync(outRoot, { recursive: true, force: true });
