import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { attemptTimedOut, networkFailure, targetRefused } from '../../core/errors.ts';
import type { HttpResponse, HttpSender } from '../../core/ports.ts';
import type { TargetPolicy } from '../../core/targets.ts';

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

  private readonly lookup: LookupFunction;

  /**
   * @param policy the SSRF defence: checked against the URL's literal host before connecting,
   * and against every address its host name resolves to, inside the socket's own DNS lookup,
   * so the socket connects to exactly the addresses that were checked.
   */
  constructor(
    private readonly policy: TargetPolicy,
    opts: { maxSockets?: number; resolve?: Resolver } = {},
  ) {
    this.lookup = checkedLookup(policy, opts.resolve ?? defaultResolver);
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
    const refusal = this.policy.refusalForUrl(target);
    if (refusal) return Promise.reject(targetRefused(refusal));
    const payload = Buffer.from(body);
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = (isHttps ? https : http).request(target, {
        method: 'POST',
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        lookup: this.lookup,
        headers: { ...headers, 'content-length': String(payload.length) },
      });
      const timer = setTimeout(() => {
        req.destroy(attemptTimedOut(timeoutMs));
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

/** Every address of a host name (the system resolver: /etc/hosts, then DNS). Replaceable in tests. */
export type Resolver = (
  hostname: string,
  family: number | string | undefined,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const defaultResolver: Resolver = (hostname, family, callback) => {
  const fam = family === 'IPv4' || family === 4 ? 4 : family === 'IPv6' || family === 6 ? 6 : 0;
  dnsLookup(hostname, { all: true, family: fam }, callback);
};

/**
 * A DNS lookup for sockets that refuses a host when any address it resolves to is refused (one
 * bad answer among good ones is how rebinding attacks hide), and hands the socket the checked
 * addresses themselves: there is no second lookup between check and connect.
 */
function checkedLookup(policy: TargetPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options.family, (err, addresses) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const range = policy.refusedRange(a.address);
        // The tenant reads this in the delivery log: name the range, not the address, so the
        // relay's resolver cannot be used to map names it can see and the tenant cannot.
        if (range)
          return callback(targetRefused(`${hostname} resolves to a refused address (${range})`), '', 0);
      }
      if (options.all)
        return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
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
