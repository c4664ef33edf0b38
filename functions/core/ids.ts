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

/**
 * A generated event id. The relay makes it at the instant it receives the event (`receivedAt`),
 * so the id says when that was ({@link receivedAtOfEventId}): the event's storage key needs it.
 */
export const newEventId = (now?: number) => `evt_${ulid(now)}`;

/** When a generated event id (`evt_` + ULID) was made, as an ISO string; undefined for others. */
export function receivedAtOfEventId(id: string): string | undefined {
  if (!/^evt_[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return undefined;
  const ms = parseTimeCode(id.slice(4, 14));
  return ms === undefined || ms > 8.64e15 ? undefined : new Date(ms).toISOString();
}
export const newSubscriptionId = (now?: number) => `sub_${ulid(now)}`;

/** `ms` as 10 Crockford base32 characters: strings that sort as the instants do. */
export function timeCode(ms: number): string {
  let out = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/** The inverse of {@link timeCode}; undefined for anything it cannot have made. */
export function parseTimeCode(code: string): number | undefined {
  if (!/^[0-9A-HJKMNP-TV-Z]{10}$/.test(code)) return undefined;
  let t = 0;
  for (const c of code) t = t * 32 + CROCKFORD.indexOf(c);
  return t;
}

const DELIVERY_ID = /^dlv_([0-9A-HJKMNP-TV-Z]{10})([0-9A-HJKMNP-TV-Z]{12})(.+)$/;

/**
 * A delivery is one (event, subscription) pair, so its id is derived from both: fanning the same
 * event out twice yields the same delivery, never a second one. A replay is a new delivery of
 * the pair, once per replay.
 *
 * The id also says where its record is stored (see adapters/dynamodb/table.ts):
 * `dlv_{receivedAt as timeCode}{12 hash characters}{subscriptionId}`. The time and hash are the
 * record's sort key within its subscription's partition (newest first is a key order), the
 * subscription id its partition.
 */
export function deliveryId(
  tenant: string,
  eventId: string,
  subscriptionId: string,
  receivedAt: string,
  replay?: string,
): string {
  const key = `${tenant}\n${eventId}\n${subscriptionId}${replay === undefined ? '' : `\n${replay}`}`;
  const digest = createHash('sha256').update(key).digest();
  let hash = '';
  for (let i = 0; i < 12; i++) hash += CROCKFORD[(digest[i] ?? 0) % 32];
  return `dlv_${timeCode(Date.parse(receivedAt))}${hash}${subscriptionId}`;
}

/**
 * The parts of a delivery id made by {@link deliveryId}. Ids of earlier versions
 * (`dlv_` + 26 base64url characters, kept in their own items until they expire) give undefined.
 */
export function parseDeliveryId(
  id: string,
): { sortKey: string; subscriptionId: string; receivedAtMs: number } | undefined {
  const m = DELIVERY_ID.exec(id);
  if (!m) return undefined;
  const [, time = '', hash = '', subscriptionId = ''] = m;
  const receivedAtMs = parseTimeCode(time);
  return receivedAtMs === undefined ? undefined : { sortKey: time + hash, subscriptionId, receivedAtMs };
}
