/**
 * A realistic webhook payload of about `bytes` bytes of JSON: a delivered shipment with its
 * stops, ids that look random (UUIDs, tracking numbers) and ordinary field names. Storage and
 * cost figures use it instead of a run of one character, which would compress to nothing and
 * flatter the design. Deterministic (a seeded generator), so figures repeat.
 */
export function samplePayload(bytes = 1024, seed = 1): Record<string, unknown> {
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const at = (offsetMs: number) => new Date(Date.UTC(2026, 11, 2, 9, 0, 0) - offsetMs).toISOString();
  const stops: unknown[] = [];
  const data: Record<string, unknown> = {
    shipmentId: `SHP-${Math.floor(next() * 1e9)}`,
    orderId: uuid(),
    status: 'delivered',
    carrier: { name: 'Nordic Freight AS', scac: 'NFAS', trackingNumber: `NF${Math.floor(next() * 1e12)}` },
    deliveredAt: at(0),
    recipient: { name: 'Ingrid Johansen', signature: true },
    address: { line1: 'Storgata 12', city: 'Oslo', postalCode: '0155', country: 'NO' },
    weightKg: 12.4,
    packages: 3,
    stops,
  };
  for (;;) {
    const stop = {
      seq: stops.length + 1,
      location: { lat: Number((59.9 + next()).toFixed(6)), lon: Number((10.7 + next()).toFixed(6)) },
      arrivedAt: at(Math.floor(next() * 1e7)),
      scanId: uuid(),
    };
    stops.push(stop);
    if (JSON.stringify(data).length > bytes) {
      stops.pop();
      break;
    }
  }
  // The rest to the byte: a reference of random-looking hex.
  const rest = bytes - JSON.stringify({ ...data, reference: '' }).length;
  if (rest > 0) data.reference = hex(rest);
  return data;
}
