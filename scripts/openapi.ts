/**
 * Writes the OpenAPI document (functions/handlers/openapi.ts, generated from the zod schemas) to
 * a file, or to stdout without one. The API function's bundling runs it into its asset, so the
 * deployed function serves the document without carrying its generator:
 *
 *   tsx scripts/openapi.ts cdk.out/asset.../openapi.json
 */
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../functions/handlers/openapi.ts';

const text = JSON.stringify(openApiDocument());
const out = process.argv[2];
if (out) writeFileSync(out, text);
else process.stdout.write(`${text}\n`);
