import { createHash } from 'node:crypto';
import type { Delivery } from '../../functions/core/delivery/model.ts';
import type { RelayEvent } from '../../functions/core/event.ts';

/**
 * Items exactly as version 0.1 of the relay wrote them (its DynamoStore's eventItem and
 * deliveryItem, and its deliveryId), so tests can check that this version reads what a deployed
 * older one left in the table.
 */
export function legacyDeliveryId(tenant: string, eventId: string, subscriptionId: string, replay?: string) {
  const key = `${tenant}\n${eventId}\n${subscriptionId}${replay === undefined ? '' : `\n${replay}`}`;
  const digest = createHash('sha256').update(key).digest('base64url');
  return `dlv_${digest.slice(0, 26)}`;
}

const ttl = (fromIso: string, retentionDays = 30) =>
  Math.floor(Date.parse(fromIso) / 1000) + retentionDays * 86_400;

export function legacyEventItem(e: RelayEvent): Record<string, unknown> {
  const { data, ...rest } = e;
  return {
    pk: `EVT#${e.tenant}#${e.id}`,
    sk: 'EVT',
    ...rest,
    data: JSON.stringify(data),
    ttl: ttl(e.receivedAt),
  };
}

export function legacyDeliveryItem(d: Delivery): Record<string, unknown> {
  return {
    pk: `DLV#${d.id}`,
    sk: 'DLV',
    ...d,
    gsi1pk: `SUBDLV#${d.subscriptionId}`,
    gsi1sk: `${d.createdAt}#${d.id}`,
    gsi2pk: `EVTDLV#${d.tenant}#${d.eventId}`,
    gsi2sk: d.subscriptionId,
    ...(d.status === 'dead' ? { gsi3pk: `DEAD#${d.tenant}`, gsi3sk: `${d.updatedAt}#${d.id}` } : {}),
    ttl: ttl(d.createdAt),
  };
}
