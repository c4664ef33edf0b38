import { makePortalHandler, makeStaticAppHandler } from '../handlers/portal.ts';

/**
 * The endpoint portal in local mode: bundled from portal/src by esbuild on the first request
 * (makePortalHandler keeps the result), so `npm start` needs no build step and esbuild is not
 * even loaded until someone opens `/portal`.
 */
export function localPortalHandler(frameAncestors: readonly string[] = []) {
  return makePortalHandler(async () => (await import('../../portal/build.ts')).buildPortal(), {
    frameAncestors,
  });
}

/** The operator console in local mode, likewise bundled on its first request; never framed. */
export function localConsoleHandler() {
  return makeStaticAppHandler(
    '/console',
    async () => (await import('../../portal/build.ts')).buildConsole(),
    {
      frameAncestors: [],
    },
  );
}
