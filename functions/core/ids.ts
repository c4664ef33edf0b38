import { createHash, randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32. Ids sort by creation
 * time, which keeps "newest first" listings cheap, and contain no `.` (Standard Webhooks forbids
 * it in `webhook-id`).
 */
export function ulid(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let rand = '';
  for (let i = 0; i < 16; i++) rand += CROCKFORD[(bytes[i] ?? 0) % 32];
  return time + rand;
}

export const newEventId = (now?: number) => `evt_${ulid(now)}`;
export const newSubscriptionId = (now?: number) => `sub_${ulid(now)}`;

/**
 * A delivery is one (event, subscription) pair, so its id is derived from both: fanning the same
 * event out twice yields the same delivery, never a second one. A replay is a new delivery of
 * the pair, once per replay.
 */
export function deliveryId(tenant: string, eventId: string, subscriptionId: string, replay?: string): string {
  const key = `${tenant}\n${eventId}\n${subscriptionId}${replay === undefined ? '' : `\n${replay}`}`;
  const digest = createHash('sha256').update(key).digest('base64url');
  return `dlv_${digest.slice(0, 26)}`;
}
