import { logger } from '../commons/logger.ts';
import { configFromEnv } from '../core/config.ts';
import { startLocalRelay } from './runtime.ts';

/** `npm start`: the relay on this machine, configured from the environment (README table). */
async function main() {
  const env = process.env;
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  // Locally the SSRF defence is off unless asked for, so a receiver on localhost works.
  const config = configFromEnv({ RELAY_ALLOW_PRIVATE_TARGETS: 'true', ...env });
  const relay = await startLocalRelay({
    config,
    port,
    host: env.RELAY_HOST ?? '127.0.0.1',
    ...(env.RELAY_API_KEY ? { apiKey: env.RELAY_API_KEY } : {}),
    ...(env.RELAY_ADMIN_KEY ? { adminKey: env.RELAY_ADMIN_KEY } : {}),
    ...(env.RELAY_DATA_DIR ? { dataDir: env.RELAY_DATA_DIR } : {}),
    storageProcess: true,
  });
  const keyNote = env.RELAY_API_KEY ? '(from RELAY_API_KEY)' : '(generated; set RELAY_API_KEY to choose one)';
  process.stdout.write(
    [
      '',
      `  webhook relay listening on ${relay.url}`,
      `  API key of tenant default ${keyNote}: ${relay.apiKey}`,
      `  admin key ${env.RELAY_ADMIN_KEY ? '(from RELAY_ADMIN_KEY)' : '(generated; set RELAY_ADMIN_KEY to choose one)'}: ${relay.adminKey}`,
      config.allowPrivateTargets
        ? '  warning: private targets allowed (localhost, 10/8, 169.254.169.254, ...): fine on a laptop,\n' +
          '           never on a shared host; RELAY_ALLOW_PRIVATE_TARGETS=false turns the SSRF defence on'
        : '  SSRF defence on: private, loopback and metadata addresses are refused',
      `  storage: ${env.RELAY_DATA_DIR ? `on disk in ${env.RELAY_DATA_DIR}` : 'in memory (set RELAY_DATA_DIR to keep it)'}`,
      '',
      `  export RELAY_URL=${relay.url} RELAY_API_KEY=${relay.apiKey}`,
      '',
      `  endpoint portal: npx relay portal link   (a link to ${relay.url}/portal for tenant default)`,
      `  operator console: ${relay.url}/console   (sign in with the admin key)`,
      '',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    await relay.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`relay failed to start: ${err.message}\n`);
  process.exit(1);
});
