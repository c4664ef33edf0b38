import http from 'node:http';
import https from 'node:https';
import { networkFailure, targetRefused } from '../../core/errors.ts';
import type { HttpResponse, HttpSender } from '../../core/ports.ts';

/** Responses are read up to this size (to reuse the connection); the log keeps an excerpt. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs webhooks with node:http(s): keep-alive connection pools, a hard per-attempt timeout
 * covering connect, headers and body, and no redirect following (node:http never follows).
 * Lambda's runtime has these modules built in, so delivery adds nothing to the bundle.
 */
export class NodeHttpSender implements HttpSender {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(opts: { maxSockets?: number } = {}) {
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256, scheduling: 'lifo' as const };
    this.httpAgent = new http.Agent(agentOpts);
    this.httpsAgent = new https.Agent(agentOpts);
  }

  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpResponse> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(targetRefused(`invalid URL: ${url}`));
    }
    const isHttps = target.protocol === 'https:';
    if (!isHttps && target.protocol !== 'http:') {
      return Promise.reject(targetRefused(`unsupported URL scheme ${target.protocol}`));
    }
    const payload = Buffer.from(body);
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = (isHttps ? https : http).request(target, {
        method: 'POST',
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        headers: { ...headers, 'content-length': String(payload.length) },
      });
      const timer = setTimeout(() => {
        req.destroy(networkFailure(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) res.destroy();
        });
        const done = () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          });
        };
        res.on('end', done);
        res.on('close', () => {
          if (!res.complete) done();
        });
        res.on('error', () => undefined);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err.name === 'DeliveryFailure' ? err : networkFailure(describeNetworkError(err)));
      });
      req.end(payload);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function describeNetworkError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by the receiver';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `DNS lookup failed for the receiver's host (${err.code})`;
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}
