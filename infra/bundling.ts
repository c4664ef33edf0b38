/**
 * How every Lambda is bundled, shared by the CDK functions and the bundle report, so the report
 * measures exactly what is deployed.
 */
export const BUNDLING = {
  format: 'esm',
  target: 'node24',
  minify: true,
  sourceMap: true,
  // The Node.js 24 runtime ships the AWS SDK v3; bundling it again would only add weight.
  external: ['@aws-sdk/*'],
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  mainFields: ['module', 'main'],
} as const;

/** The Lambda entry modules, by function. */
export const ENTRIES = {
  ingest: 'functions/lambda/ingest.ts',
  api: 'functions/lambda/api.ts',
  fanout: 'functions/lambda/fanout.ts',
  delivery: 'functions/lambda/delivery.ts',
  ordered: 'functions/lambda/ordered.ts',
} as const;

/**
 * The API function's bundling hook: writes the OpenAPI document, generated from the schemas by
 * scripts/openapi.ts, and the endpoint portal's and operator console's files (portal/build.ts)
 * into the asset beside the bundle (`portal/`, `console/`), where functions/lambda/api.ts reads them.
 */
export const OPENAPI_HOOKS = {
  beforeBundling: (): string[] => [],
  beforeInstall: (): string[] => [],
  afterBundling: (inputDir: string, outputDir: string): string[] => [
    `node --import tsx "${inputDir}/scripts/openapi.ts" "${outputDir}/openapi.json"`,
    `node --import tsx "${inputDir}/portal/build.ts" --portal "${outputDir}/portal" --console "${outputDir}/console"`,
  ],
};
