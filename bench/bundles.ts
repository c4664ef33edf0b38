/**
 * Bundle report: `npm run bundles`. Builds each Lambda entry exactly as the stack deploys it
 * (infra/bundling.ts) and prints its minified size and cold module-init time: the median over
 * fresh Node processes (the version running this script: Node 24 via the project's devDependency)
 * of `await import(bundle)`, less the same for an empty module. The AWS SDK is external, as on
 * Lambda, where the runtime provides it; here it resolves from node_modules.
 *
 * Absolute milliseconds depend on the machine, so the init target is a ratio: the bundle's init
 * over the init of an "SDK alone" module that imports the same @aws-sdk packages (from esbuild's
 * metafile) and creates the same clients at module scope, with the same arguments (recorded by
 * importing a copy of the bundle whose SDK imports are wrapped). Whatever the ratio exceeds 1 by is
 * the relay's own code. The three modules run interleaved (bundle, SDK alone, empty, bundle, ...)
 * and the ratio is the median of each round's, so a noisy machine slows both sides of it alike.
 *
 * Environment: BUNDLE_RUNS (default 9) fresh processes per module.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { BUNDLING, ENTRIES } from '../infra/bundling.ts';

const SIZE_TARGET_KB = 200;
const RATIO_TARGET = 1.4;
const RUNS = Number(process.env.BUNDLE_RUNS ?? 9);
const outRoot = resolve('.bundle-report');
const SDK = /^@aws-sdk\//;

// What the functions read at module init (names only; nothing is called at init).
const lambdaEnv = {
  ...process.env,
  AWS_REGION: 'us-east-1',
  RELAY_TABLE_NAME: 't',
  RELAY_EVENT_BUS_NAME: 'b',
  RELAY_DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q',
  RELAY_DELIVERY_DLQ_ARN: 'arn:aws:sqs:us-east-1:1:q-dlq',
  RELAY_ORDERED_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/o.fifo',
  RELAY_ADMIN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:k',
  RELAY_ARCHIVE_ARN: 'arn:aws:events:us-east-1:1:archive/a',
  RELAY_EVENT_BUS_ARN: 'arn:aws:events:us-east-1:1:event-bus/b',
  RELAY_FANOUT_RULE_ARN: 'arn:aws:events:us-east-1:1:rule/b/r',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** Runs `script` as a module in a fresh Node process with the Lambda environment; its stdout. */
function runModule(script: string): string {
  try {
    return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: lambdaEnv,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    const cause = stderr.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? (err as Error).message;
    throw new Error(`a bundle failed at init: ${cause.slice(0, 300)}`);
  }
}

const importMs = (file: string): number =>
  Number(
    runModule(
      `const t=performance.now();await import(${JSON.stringify(`file://${file}`)});process.stdout.write(String(performance.now()-t));`,
    ),
  );

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const buildOptions = (entry: string, outfile: string, plugins: Plugin[] = []): BuildOptions => ({
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
  metafile: true,
  logLevel: 'error',
  plugins,
});

/** One SDK call made at module init: `new X(args)` or a static factory such as `X.from(args)`. */
interface SdkCall {
  pkg: string;
  name: string;
  call: string;
  /** JSON arguments; `{ $ref: i }` stands for the client made by call i. */
  args: unknown[];
}

// Loaded into the probe copy of a bundle: wraps each SDK client class so that constructing it, or
// a static factory returning one, is written to globalThis.__sdkCalls.
const RECORDER = `
const calls = (globalThis.__sdkCalls = []);
const made = new Map();
let depth = 0;
const arg = (v) => {
  if (made.has(v)) return { $ref: made.get(v) };
  if (typeof v === 'function' || typeof v === 'symbol') throw new Error('an SDK client is given a ' + typeof v + ' at init; the report cannot replay it');
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(arg);
  if (Object.getPrototypeOf(v) !== Object.prototype) throw new Error('an SDK client is given a ' + (v.constructor?.name ?? 'object') + ' at init; the report cannot replay it');
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, arg(x)]));
};
const note = (pkg, name, call, args, result) => {
  made.set(result, calls.length);
  calls.push({ pkg, name, call, args });
};
export function record(pkg, name, cls) {
  return new Proxy(cls, {
    construct(target, args, newTarget) {
      const outer = depth === 0, saved = outer ? args.map(arg) : [];
      depth++;
      try {
        const result = Reflect.construct(target, args, newTarget);
        if (outer) note(pkg, name, 'new', saved, result);
        return result;
      } finally { depth--; }
    },
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || typeof value !== 'function' || !Object.hasOwn(target, key)) return value;
      return (...args) => {
        const outer = depth === 0, saved = outer ? args.map(arg) : [];
        depth++;
        try {
          const result = value.apply(target, args);
          if (outer && result instanceof target) note(pkg, name, key, saved, result);
          return result;
        } finally { depth--; }
      };
    },
  });
}
`;

const isClientClass = (name: string, value: unknown) =>
  typeof value === 'function' && name.endsWith('Client') && !name.startsWith('_');

/** Redirects every @aws-sdk import to a module re-exporting the package with its clients wrapped. */
const recordSdkCalls: Plugin = {
  name: 'record-sdk-calls',
  setup(b) {
    b.onResolve({ filter: /^sdk-recorder$/ }, () => ({ path: 'recorder', namespace: 'sdk-recorder' }));
    b.onResolve({ filter: SDK }, (args) =>
      args.namespace === 'sdk-wrapped'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'sdk-wrapped' },
    );
    b.onLoad({ filter: /.*/, namespace: 'sdk-recorder' }, () => ({ contents: RECORDER, loader: 'js' }));
    b.onLoad({ filter: /.*/, namespace: 'sdk-wrapped' }, async (args) => {
      const real = (await import(args.path)) as Record<string, unknown>;
      const pkg = JSON.stringify(args.path);
      const lines = Object.entries(real)
        .filter(([name]) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name))
        .map(([name, value]) =>
          isClientClass(name, value)
            ? `export const ${name} = record(${pkg}, ${JSON.stringify(name)}, real.${name});`
            : `export const ${name} = real.${name};`,
        );
      const head = [`import * as real from ${pkg};`, `import { record } from 'sdk-recorder';`];
      return { contents: [...head, ...lines].join('\n'), loader: 'js' };
    });
  },
};

/** The SDK calls an entry makes at module scope, found by importing its probe copy once. */
async function sdkCallsAtInit(entry: string, dir: string): Promise<SdkCall[]> {
  const probe = join(dir, 'probe.mjs');
  await build(buildOptions(entry, probe, [recordSdkCalls]));
  return JSON.parse(
    runModule(
      `await import(${JSON.stringify(`file://${probe}`)});process.stdout.write(JSON.stringify(globalThis.__sdkCalls));`,
    ),
  ) as SdkCall[];
}

/** A module importing `packages` and making `calls` exactly as recorded: the SDK's share of an init. */
function sdkAloneModule(packages: string[], calls: SdkCall[]): string {
  const alias = new Map(packages.map((p, i) => [p, `m${i}`]));
  const render = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(render).join(',')}]`;
    if (v !== null && typeof v === 'object') {
      if ('$ref' in v) return `c${(v as { $ref: number }).$ref}`;
      return `{${Object.entries(v)
        .map(([k, x]) => `${JSON.stringify(k)}:${render(x)}`)
        .join(',')}}`;
    }
    return v === undefined ? 'undefined' : JSON.stringify(v);
  };
  return [
    ...packages.map((p) => `import * as ${alias.get(p)} from ${JSON.stringify(p)};`),
    ...calls.map((c, i) => {
      const target = `${alias.get(c.pkg)}.${c.name}`;
      const args = c.args.map(render).join(',');
      return `const c${i} = ${c.call === 'new' ? `new ${target}(${args})` : `${target}.${c.call}(${args})`};`;
    }),
    'export {};',
    '',
  ].join('\n');
}

/** "DynamoDB x2, DynamoDBDocument.from x2, SQS" from the recorded calls. */
function describeCalls(calls: SdkCall[]): string {
  const counts = new Map<string, number>();
  for (const c of calls) {
    const key = `${c.name.replace(/Client$/, '')}${c.call === 'new' ? '' : `.${c.call}`}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(', ') || 'none';
}

/** The bundle's inputs summed by package (node_modules) or first-party folder, largest first. */
function largestInputs(output: Metafile['outputs'][string], top: number): string {
  const sums = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const key = pkg ?? path.split('/').slice(0, -1).join('/');
    sums.set(key, (sums.get(key) ?? 0) + bytesInOutput);
  }
  return [...sums]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, bytes]) => `${k} ${(bytes / 1024).toFixed(1)} KB`)
    .join(', ');
}

rmSync(outRoot, { recursive: true, force: true });
mkdirSync(outRoot, { recursive: true });
const empty = join(outRoot, 'empty.mjs');
writeFileSync(empty, 'export {};\n');

interface Measured {
  name: string;
  kb: number;
  gzKb: number;
  bundleMs: number[];
  sdkMs: number[];
  /** Per round: the bundle's init over the SDK alone's, each less that round's empty module. */
  ratios: number[];
  calls: SdkCall[];
  packages: string[];
  output: Metafile['outputs'][string];
}
const measured: Measured[] = [];
const emptyMs: number[] = [];
for (const [name, entry] of Object.entries(ENTRIES)) {
  const dir = join(outRoot, name);
  const outfile = join(dir, 'index.mjs');
  const { metafile } = await build(buildOptions(entry, outfile));
  const output = metafile?.outputs[relative(process.cwd(), outfile)];
  if (!output) throw new Error(`esbuild's metafile has no output for ${name}`);
  const packages = [
    ...new Set(output.imports.filter((i) => i.external && SDK.test(i.path)).map((i) => i.path)),
  ].sort();
  const calls = await sdkCallsAtInit(entry, dir);
  const sdkAlone = join(dir, 'sdk-alone.mjs');
  writeFileSync(sdkAlone, sdkAloneModule(packages, calls));

  const bundleMs: number[] = [];
  const sdkMs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const b = importMs(outfile);
    const s = importMs(sdkAlone);
    const e = importMs(empty);
    bundleMs.push(b);
    sdkMs.push(s);
    emptyMs.push(e);
    ratios.push((b - e) / (s - e));
  }
  measured.push({
    name,
    kb: statSync(outfile).size / 1024,
    gzKb: gzipSync(readFileSync(outfile)).length / 1024,
    bundleMs,
    sdkMs,
    ratios,
    calls,
    packages,
    output,
  });
}

const baseline = median(emptyMs);
const rows: string[][] = [];
const notes: string[] = [];
let allMet = true;
for (const m of measured) {
  const init = median(m.bundleMs) - baseline;
  const sdk = median(m.sdkMs) - baseline;
  const ratio = median(m.ratios);
  const met = m.kb <= SIZE_TARGET_KB && ratio <= RATIO_TARGET;
  allMet &&= met;
  rows.push([
    m.name,
    `${m.kb.toFixed(1)} KB`,
    `${m.gzKb.toFixed(1)} KB`,
    `${init.toFixed(1)} ms`,
    `${sdk.toFixed(1)} ms`,
    ratio.toFixed(2),
    met ? 'PASS' : 'MISS',
    `${m.packages.map((p) => p.replace('@aws-sdk/', '')).join(' ')}; ${describeCalls(m.calls)}`,
  ]);
  if (!met) notes.push(`${m.name}: largest inputs ${largestInputs(m.output, 4)}`);
}

const header = [
  'function',
  'minified',
  'gzipped',
  'cold init',
  'SDK alone',
  'init / SDK',
  `<= ${SIZE_TARGET_KB} KB, <= ${RATIO_TARGET}`,
  'SDK packages; clients made at init',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (r: string[]) =>
  r
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
process.stdout.write(
  [
    `Lambda bundles (esbuild ${BUNDLING.format}, ${BUNDLING.target}, minified; AWS SDK external)`,
    `node ${process.version}; cold init = median of ${RUNS} fresh processes, less ${baseline.toFixed(1)} ms for an empty module;`,
    "SDK alone = the same for a module importing only the bundle's @aws-sdk packages and making its clients;",
    'init / SDK = median of the per-round ratios, the rounds interleaved bundle, SDK alone, empty',
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    allMet ? 'all bundles within target' : 'some bundles miss their target',
    ...(notes.length > 0 ? ['', 'by bytes in the bundle (the likeliest init cost):', ...notes] : []),
    '',
  ].join('\n'),
);
rmSync(outRoot, { recursive: true, force: true });
