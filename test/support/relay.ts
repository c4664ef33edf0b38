import { configFromEnv } from '../../functions/core/config.ts';
import { type LocalRelay, type LocalRelayOptions, startLocalRelay } from '../../functions/local/runtime.ts';
import { waitFor } from './receiver.ts';

export const API_KEY = 'test-key';
export const ADMIN_KEY = 'test-admin-key';

/** A local relay on a free loopback port with a fast retry schedule (seconds). */
export async function startTestRelay(
  delays: number[] = [0.05, 0.05],
  extra: Partial<LocalRelayOptions> = {},
) {
  const base = configFromEnv({});
  const relay = await startLocalRelay({
    config: { ...base, retry: { delays, jitter: 0 }, attemptTimeoutMs: 2000, allowPrivateTargets: true },
    port: 0,
    apiKey: API_KEY,
    adminKey: ADMIN_KEY,
    ...extra,
  });
  return { relay, api: client(relay) };
}

export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
  contentType: string | null;
}

/**
 * A small client of the HTTP contract, authenticated with tenant `default`'s key unless told
 * otherwise; `admin` is the same client with the admin key.
 */
export function client(
  relay: LocalRelay,
  key = relay.apiKey,
): ReturnType<typeof tenantClient> & {
  admin: ReturnType<typeof tenantClient>;
} {
  return { ...tenantClient(relay, key), admin: tenantClient(relay, relay.adminKey) };
}

function tenantClient(relay: LocalRelay, key: string) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${relay.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // leave as text
    }
    return { status: res.status, body: parsed, contentType: res.headers.get('content-type') } as ApiResponse;
  };
  return {
    call,
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body ?? {}),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
    del: (path: string) => call('DELETE', path),
    subscribe: async (url: string, eventTypes: string[], more: Record<string, unknown> = {}) => {
      const res = await call('POST', '/v1/subscriptions', { url, eventTypes, ...more });
      if (res.status !== 201) throw new Error(`subscribe failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as { id: string; secret: string };
    },
    send: async (type: string, data: Record<string, unknown> = {}) => {
      const res = await call('POST', '/v1/events', { type, data });
      if (res.status !== 202) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
  };
}

/** Waits until no queue holds visible or in-flight work and no handler runs, twice in a row. */
export async function settle(relay: LocalRelay): Promise<void> {
  await waitFor('the relay to go idle', async () => {
    if (!relay.idle()) return false;
    await new Promise((r) => setTimeout(r, 50));
    return relay.idle();
  });
}
