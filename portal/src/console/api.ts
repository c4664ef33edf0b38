/*
 * The relay's operator API as the console uses it: same origin, JSON, `Authorization: Bearer`
 * with the admin key. Errors are the portal's ApiError (status 0: the relay was not reached).
 */
import { ApiError, relayCall } from '../api.ts';

export { ApiError };

export interface ApiKey {
  id: string;
  tenant: string;
  description?: string;
  createdAt: string;
}

export type RedriveState = 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
export interface Redrive {
  status: RedriveState;
  moved: number;
  total: number;
}

export type ReplayState = 'STARTING' | 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
export interface Replay {
  id: string;
  status: ReplayState;
  from: string;
  to: string;
  lastReplayedAt?: string;
  replayed?: number;
  reason?: string;
}

export const redriveDone = (s: RedriveState) => s !== 'RUNNING';
export const replayDone = (s: ReplayState) => s === 'COMPLETED' || s === 'CANCELLED' || s === 'FAILED';

const enc = encodeURIComponent;

export class ConsoleApi {
  /** Called on any 401, so the app can show the sign-in state. */
  onUnauthorized: (err: ApiError) => void = () => {};

  constructor(private readonly key: string) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return relayCall<T>(this.key, method, path, body, (err) => this.onUnauthorized(err));
  }

  listKeys = () => this.call<{ apiKeys: ApiKey[] }>('GET', '/v1/admin/api-keys').then((r) => r.apiKeys);
  createKey = (tenant: string, description?: string) =>
    this.call<ApiKey & { key: string }>('POST', '/v1/admin/api-keys', {
      tenant,
      ...(description ? { description } : {}),
    });
  revokeKey = (id: string) => this.call<void>('DELETE', `/v1/admin/api-keys/${enc(id)}`);
  portalSession = (tenant: string) =>
    this.call<{ id: string; url: string; expiresAt: string }>('POST', '/v1/portal-sessions', { tenant });

  deadLetterCount = () => this.call<{ count: number }>('GET', '/v1/admin/dlq').then((r) => r.count);
  startRedrive = () => this.call<Redrive>('POST', '/v1/dlq/redrive');
  redriveStatus = () => this.call<Redrive>('GET', '/v1/dlq/redrive');

  listReplays = () => this.call<{ replays: Replay[] }>('GET', '/v1/replays').then((r) => r.replays);
  getReplay = (id: string) => this.call<Replay>('GET', `/v1/replays/${enc(id)}`);
  startReplay = (from: string, to?: string) =>
    this.call<Replay>('POST', '/v1/replays', { from, ...(to ? { to } : {}) });
}
