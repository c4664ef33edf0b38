/**
 * The relay's HTTP API from the outside: the same calls against `npm start` on a laptop and a
 * deployed HTTP API. Errors keep the API's JSON error (`code`, `message`, `details`).
 */
export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ path?: string; message?: string }> = [],
  ) {
    super(message);
  }
}

/** No answer at all: wrong URL, relay not running, network down. */
export class Unreachable extends Error {
  override name = 'Unreachable';
}

export class RelayClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string | undefined,
    private readonly timeoutMs = 30_000,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Unreachable(
        `cannot reach the relay at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: [] } } | undefined)
        ?.error;
      throw new ApiFailure(
        res.status,
        error?.code ?? 'http_error',
        error?.message ?? `${method} ${path} answered HTTP ${res.status}`,
        error?.details ?? [],
      );
    }
    return parsed as T;
  }
}
