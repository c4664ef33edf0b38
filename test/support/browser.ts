import chromium from '@sparticuz/chromium';
import { type Browser, chromium as pw } from 'playwright-core';

/**
 * Headless Chromium from the npm registry (@sparticuz/chromium ships the binary; no download
 * step), without the background connections this closed network refuses.
 */
export async function launchChromium(): Promise<Browser> {
  return pw.launch({
    executablePath: await chromium.executablePath(),
    args: [
      ...chromium.args,
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    headless: true,
  });
}
