import { Agent, type IncomingHttpHeaders, request } from 'node:http';

/** mulberry32: a small seeded PRNG, so a failing fuzz run can be replayed from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }
  /** Picks by weight: `[[3, a], [1, b]]` gives a three times as often as b. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((sum, [w]) => sum + w, 0);
    let x = this.next() * total;
    for (const [w, item] of items) {
      x -= w;
      if (x < 0) return item;
    }
    return (items.at(-1) as readonly [number, T])[1];
  }
  /** `length` characters drawn from `alphabet`. */
  chars(alphabet: string, length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

/**
 * Odd text that is never a valid event type, id, tenant, URL or timestamp: each piece holds at
 * least one character outside ASCII letters, digits, `_`, `-` and `.`.
 */
export const ODD_PIECES: readonly string[] = [
  '😀🎉',
  '👩‍👩‍👧‍👦🏳️‍🌈', // zero-width-joiner sequences
  'مرحبا بالعالم', // Arabic, right to left
  'שלום עולם', // Hebrew, right to left
  '\u202eevil\u202c', // right-to-left override
  '\u200f\u200e\u200b\u2060', // bidi marks, zero-width space and joiner
  'e\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308', // stacked combining marks
  'Z\u0324\u031c\u0339a\u033a\u0329l\u0319\u034eg\u032fo', // "zalgo"
  '\ud800', // lone high surrogate: JSON.stringify writes "\ud800"
  '\udfff', // lone low surrogate
  'a\ud800b\udc00c', // surrogates in the wrong places
  '\u0000', // NUL
  'a\u0000b',
  '\u0001\u001f\u007f\u0085', // control characters
  '\ufeff', // BOM
  '\ufffe\uffff', // non-characters
  '\u2028\u2029', // JS line terminators
  '\u00a0\u3000', // no-break and ideographic spaces
  '𝕳𝖊𝖑𝖑𝖔', // astral letters
  '\u{10ffff}',
  'İıßﬀ', // case-mapping oddities
  '٣৩', // non-ASCII digits
  '<script>alert(1)</script>',
  "'; DROP TABLE relay; --",
  '\u0024{process.exit(1)}', // a template placeholder
  '{{7*7}}%s%n%x',
  '../../../etc/passwd',
  '\\"\\u0000',
  ' ',
];

/** 1..4 odd pieces, repeated up to about `maxLength` UTF-16 code units. */
export function oddString(rng: Rng, maxLength = 200): string {
  let s = '';
  const n = rng.int(1, 4);
  for (let i = 0; i < n; i++) s += rng.pick(ODD_PIECES);
  const target = rng.int(s.length, Math.max(s.length, maxLength));
  while (s.length < target) s += s;
  return s.slice(0, Math.max(target, 1));
}

/** Percent-encodes every UTF-8 byte of `s` (lone surrogates become U+FFFD, never a URIError). */
export function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

export interface RawRequest {
  method: string;
  /** Sent as is: no normalisation, no encoding. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Keep-alive connections to the relay under test, at most `sockets` at once. */
export function fuzzAgent(sockets = 16): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets });
}

/**
 * One request through `node:http`, whose request target is sent exactly as given (fetch would
 * normalise `..`, `//` and percent-encoding away). Rejects on a transport error or after
 * `timeoutMs` without a complete response.
 */
export function rawRequest(
  target: { port: number; agent: Agent },
  req: RawRequest,
  timeoutMs = 30_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const headers: Record<string, string | string[]> = { ...req.headers };
    if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
      headers['content-length'] = String(body.length);
    }
    const r = request(
      {
        host: '127.0.0.1',
        port: target.port,
        agent: target.agent,
        method: req.method,
        path: req.path,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      },
    );
    const timer = setTimeout(() => {
      r.destroy(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    r.end(body);
  });
}

/** Runs `work` over `items`, `concurrency` at a time, in order of the items. */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** A printable preview of a request or response body: escaped text, or hex when not UTF-8. */
export function preview(body: string | Buffer | undefined, max = 200): string {
  if (body === undefined) return '(none)';
  const buf = Buffer.from(body);
  if (buf.length === 0) return '(empty)';
  const text = buf.toString('utf8');
  const size = buf.length > max ? ` (${buf.length} bytes)` : '';
  if (Buffer.from(text, 'utf8').equals(buf)) return `${JSON.stringify(text.slice(0, max))}${size}`;
  return `hex:${buf.subarray(0, max / 2).toString('hex')}${size}`;
}
