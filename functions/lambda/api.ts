import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeBus } from '../adapters/aws/event-bus.ts';
import { ArchiveReplayer } from '../adapters/aws/replayer.ts';
import { systemClock } from '../core/ports.ts';
import { makeApiHandler } from '../handlers/api.ts';
import { makePortalHandler, makeStaticAppHandler, portalAssetsFromDir } from '../handlers/portal.ts';
import { authenticator, config, dynamoStore, targets, taskQueue } from './clients.ts';
import { requireEnv } from './env.ts';

/** Lambda entry: the management API (HTTP API `$default` and management routes). Wiring only. */
const eventBridge = new EventBridgeClient({});

const store = dynamoStore();

export const handler = makeApiHandler({
  store,
  bus: new EventBridgeBus(eventBridge, requireEnv('RELAY_EVENT_BUS_NAME')),
  replayer: new ArchiveReplayer(eventBridge, {
    archiveArn: requireEnv('RELAY_ARCHIVE_ARN'),
    eventBusArn: requireEnv('RELAY_EVENT_BUS_ARN'),
    fanoutRuleArn: requireEnv('RELAY_FANOUT_RULE_ARN'),
  }),
  tasks: taskQueue(),
  targets,
  secretGraceSeconds: config.secretGraceSeconds,
  clock: systemClock,
  auth: authenticator(store),
  openApi: bundledOpenApi,
  portal: { sessions: store },
  // The portal's files, bundled into the asset beside this module (infra/bundling.ts).
  portalPage: makePortalHandler(
    // `RELAY_PORTAL_DIR` points elsewhere (tests).
    () =>
      portalAssetsFromDir(
        process.env.RELAY_PORTAL_DIR ?? fileURLToPath(new URL('./portal/', import.meta.url)),
      ),
    {
      frameAncestors: config.portalFrameAncestors,
    },
  ),
  // The operator console's, beside them (`RELAY_CONSOLE_DIR` elsewhere, for tests); never framed.
  consolePage: makeStaticAppHandler(
    '/console',
    () =>
      portalAssetsFromDir(
        process.env.RELAY_CONSOLE_DIR ?? fileURLToPath(new URL('./console/', import.meta.url)),
      ),
    { frameAncestors: [] },
  ),
});

let openApi: Promise<unknown> | undefined;
/**
 * The OpenAPI document the bundling step generated beside this module (scripts/openapi.ts, run by
 * the function's afterBundling hook), read once; undefined where none was bundled.
 * `RELAY_OPENAPI_FILE` points elsewhere (tests).
 */
function bundledOpenApi(): Promise<unknown> {
  const file = process.env.RELAY_OPENAPI_FILE ?? new URL('./openapi.json', import.meta.url);
  openApi ??= readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as unknown,
    () => undefined,
  );
  return openApi;
}
