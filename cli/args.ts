import { readFile } from 'node:fs/promises';

/**
 * Parsing of the CLI's structured options (`--filter`, `--header`, `--auth`, `--format`, JSON
 * values given inline or as `@file`) into API fields. The API validates every field again and
 * names what is wrong; these only turn words into JSON and catch what cannot be sent at all.
 */

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

export type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `--name <json>` or `--name @file.json`: the parsed JSON. */
export async function readJson(name: string, raw: string): Promise<unknown> {
  let text = raw;
  if (raw.startsWith('@')) {
    const path = raw.slice(1);
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(
        `--${name} ${raw}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${name} is not valid JSON: ${(err as Error).message}`);
  }
}

/** As {@link readJson}, and the value must be a JSON object. */
export async function readJsonObject(name: string, raw: string, what: string): Promise<JsonObject> {
  const value = await readJson(name, raw);
  if (!isObject(value)) throw new UsageError(`--${name} must be a JSON object (${what})`);
  return value;
}

/** `--header name:value`, repeated: the `headers` object. Each name once (case-insensitively). */
export function parseHeaders(raw: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const h of raw) {
    const colon = h.indexOf(':');
    const name = colon < 0 ? '' : h.slice(0, colon).trim();
    if (!name) throw new UsageError(`--header must be name:value, got "${h}"`);
    if (seen.has(name.toLowerCase())) throw new UsageError(`--header ${name} is given twice`);
    seen.add(name.toLowerCase());
    headers[name] = h.slice(colon + 1).trim();
  }
  return headers;
}

const AUTH_FORMS =
  'basic:<user>:<password>, bearer:<token>, oauth2:<json of tokenUrl, clientId, clientSecret, scope, audience>, a JSON object or @file';

/**
 * `--auth basic:<user>:<password> | bearer:<token> | oauth2:<json> | <json> | @file`: the `auth`
 * object. The password may hold colons (a user name may not, as in HTTP basic auth). Errors
 * never echo the value: it is a credential.
 */
export async function parseAuth(raw: string): Promise<JsonObject> {
  if (raw.startsWith('{') || raw.startsWith('@')) {
    const auth = await readJsonObject('auth', raw, AUTH_FORMS);
    if (typeof auth.type !== 'string') throw new UsageError('--auth: the JSON object needs a "type"');
    return auth;
  }
  const colon = raw.indexOf(':');
  const kind = colon < 0 ? '' : raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  switch (kind) {
    case 'basic': {
      const sep = rest.indexOf(':');
      if (sep < 1) throw new UsageError('--auth basic needs basic:<user>:<password>');
      return { type: 'basic', username: rest.slice(0, sep), password: rest.slice(sep + 1) };
    }
    case 'bearer':
      if (!rest) throw new UsageError('--auth bearer needs bearer:<token>');
      return { type: 'bearer', token: rest };
    case 'oauth2': {
      let fields: unknown;
      try {
        fields = JSON.parse(rest);
      } catch (err) {
        throw new UsageError(`--auth oauth2:<json>: not valid JSON: ${(err as Error).message}`);
      }
      if (!isObject(fields))
        throw new UsageError('--auth oauth2:<json> needs a JSON object of tokenUrl, clientId, clientSecret');
      return { ...fields, type: 'oauth2' };
    }
    default:
      throw new UsageError(`--auth must be one of ${AUTH_FORMS}`);
  }
}

export function parseFormat(raw: string): 'json' | 'xml' {
  if (raw !== 'json' && raw !== 'xml') throw new UsageError(`--format must be "json" or "xml", got "${raw}"`);
  return raw;
}

/** Fields of an `auth` that are credentials; the human output never shows them. */
const SECRET_AUTH_FIELDS = new Set(['password', 'token', 'clientSecret']);

/** `basic (username=alice)`: an auth's type and its non-secret fields. */
export function describeAuth(auth: JsonObject | undefined): string | undefined {
  if (!auth) return undefined;
  const shown = Object.entries(auth)
    .filter(([k, v]) => k !== 'type' && !SECRET_AUTH_FIELDS.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return shown.length ? `${String(auth.type)} (${shown.join(', ')})` : String(auth.type);
}
