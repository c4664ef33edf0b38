/**
 * Event-type filters of a subscription: `shipment.delivered` (exact), `shipment.*` (that prefix
 * and anything below it) and `*` (everything).
 */
export const EVENT_FILTER_PATTERN = /^(\*|[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(\.\*)?)$/;

export function matchesEventType(filter: string, type: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) return type.startsWith(filter.slice(0, -1));
  return filter === type;
}

export function matchesAny(filters: readonly string[], type: string): boolean {
  return filters.some((f) => matchesEventType(f, type));
}
