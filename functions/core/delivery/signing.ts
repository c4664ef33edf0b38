import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A fresh secret: `whsec_` + base64 of 24 random bytes, as Svix and Standard Webhooks issue them. */
export function generateSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** The key bytes of a secret, with or without the `whsec_` prefix; throws on an empty key. */
export function secretKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  if (key.length === 0) throw new Error('webhook secret is empty');
  return key;
}

/**
 * Standard Webhooks v1: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
 * @param timestamp Unix seconds at attempt time.
 */
export function sign(secret: string, webhookId: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${webhookId}.${timestamp}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers; one signature per active secret, space-separated. */
export function webhookHeaders(
  secrets: readonly string[],
  webhookId: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => sign(s, webhookId, timestamp, body)).join(' '),
  };
}
