#!/usr/bin/env node
// `npx relay ...`: the relay's CLI (cli/main.ts), run through tsx so it needs no build step.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../cli/main.ts');
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());
process.exitCode = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
  env: process.env,
  signal: controller.signal,
});
