import * as z from 'zod/mini';
import '../zod.ts';

/** Custom headers one subscription may add to its webhooks, at most. */
export const MAX_CUSTOM_HEADERS = 20;
const MAX_HEADER_NAME = 256;
const MAX_HEADER_VALUE = 4096;
/** Names and values together, at most: well under what receivers' servers accept (8 KB is common). */
const MAX_HEADERS_BYTES = 8192;

/** An HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, space and tab inside; no CR/LF (no header injection), no other controls. */
const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$/;

/**
 * Headers the relay sets itself, that HTTP gives to the connection rather than the receiver
 * (hop-by-hop, RFC 9110 §7.6.1), or that would let a subscription forge its own signature.
 */
const RESERVED = new Set([
  'content-type',
  'content-length',
  'host',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** Why a header name may not be set, or undefined when it may. */
export function reservedHeaderReason(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.startsWith('webhook-')) return 'webhook-* headers are the signature headers the relay sets';
  if (RESERVED.has(lower)) return `${lower} is set by the relay or by HTTP itself`;
  if (lower === 'content-encoding')
    return 'content-encoding would tell the receiver the body is encoded; it is not';
  // Header values are listed with the subscription; credentials belong in `auth`, which is not.
  if (lower === 'authorization' || lower === 'cookie') {
    return `${lower} carries credentials, and headers are listed with the subscription: use auth (basic, bearer or oauth2)`;
  }
  return undefined;
}

/**
 * `headers` of a subscription: extra request headers on every webhook to it (a routing header, a
 * static key the receiver's gateway checks). Names are kept lower-case; each name once. They are
 * configuration, shown in listings: credentials go in `auth`, which never is.
 */
export const CustomHeadersSchema = z
  .record(
    z
      .string()
      .check(
        z.maxLength(MAX_HEADER_NAME, `header names must be at most ${MAX_HEADER_NAME} characters`),
        z.regex(HEADER_NAME, "header names must be HTTP tokens (letters, digits and !#$%&'*+-.^_`|~)"),
      ),
    z
      .string()
      .check(
        z.maxLength(MAX_HEADER_VALUE, `must be at most ${MAX_HEADER_VALUE} characters`),
        z.regex(
          HEADER_VALUE,
          'must be printable ASCII without line breaks, and not start or end with whitespace',
        ),
      ),
    { error: 'must be an object of header names to string values' },
  )
  .check(
    z.superRefine((headers, ctx) => {
      const names = Object.keys(headers);
      if (names.length > MAX_CUSTOM_HEADERS) {
        ctx.addIssue({
          code: 'custom',
          message: `must hold at most ${MAX_CUSTOM_HEADERS} headers`,
          input: headers,
        });
      }
      const seen = new Set<string>();
      let bytes = 0;
      for (const name of names) {
        const lower = name.toLowerCase();
        const reason = reservedHeaderReason(name);
        if (reason)
          ctx.addIssue({ code: 'custom', message: `may not be set: ${reason}`, path: [name], input: name });
        if (seen.has(lower)) {
          ctx.addIssue({
            code: 'custom',
            message: 'is given twice (names are case-insensitive)',
            path: [name],
            input: name,
          });
        }
        seen.add(lower);
        bytes += Buffer.byteLength(name) + Buffer.byteLength(headers[name] ?? '');
      }
      if (bytes > MAX_HEADERS_BYTES) {
        ctx.addIssue({
          code: 'custom',
          message: `must total at most ${MAX_HEADERS_BYTES} bytes`,
          input: headers,
        });
      }
    }),
  );

/** Header names lower-cased, as stored and sent. */
export function normalizeHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
