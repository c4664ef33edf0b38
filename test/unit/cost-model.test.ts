import { describe, expect, it } from 'vitest';
import {
  ASSUMED,
  batchFill,
  failingLines,
  fixedMonthly,
  floorOf,
  type Measured,
  PRICE,
  priceLines,
  totalOf,
} from '../../bench/cost-model.ts';

/** A webhook as simple as arithmetic allows: single ingest, one of everything. */
const single: Measured = {
  apiRequests: 1,
  busEntries: 1,
  busChunks: 1,
  busBytes: 1000,
  tasksPerFanoutMessage: 1,
  writeUnits: 2,
  fanoutReadUnitsPerInvocation: 1,
  deliveryReadUnitsPerTask: 2,
  cpuMs: { ingest: 0, fanout: 0, delivery: 0 },
  logBytes: 0,
  storedBytes: 1000,
  requestBytes: 600,
  accessLogBytes: 0,
};
const cost = (lines: ReturnType<typeof priceLines>, item: string) => lines.find((l) => l.item === item)?.cost;

describe('the cost model', () => {
  it('fills batches from the arrival rate: full at 1,000/s with a 1 s window, ~3 at 10/s, 1 without a window at low rates', () => {
    expect(batchFill(1000, 1)).toBe(10);
    expect(batchFill(10, 1)).toBeCloseTo(3, 5);
    expect(batchFill(10, 0)).toBe(1);
    // No window at 1,000/s: what arrives at one poller during a 20 ms poll.
    expect(batchFill(1000, 0)).toBeCloseTo(4, 5);
    expect(batchFill(0.01, 300)).toBeCloseTo(1.6, 5);
  });

  it('prices a known count: a million webhooks of one PutEvents chunk each is $1.00, of 2 write units $1.25', () => {
    const lines = priceLines(single, 1000, 1);
    expect(cost(lines, 'EventBridge PutEvents')).toBeCloseTo(1.0, 9);
    expect(cost(lines, 'API Gateway (HTTP API)')).toBeCloseTo(1.0, 9);
    expect(cost(lines, 'DynamoDB writes')).toBeCloseTo(1.25, 9);
    expect(cost(lines, 'SQS: rule -> fanout queue')).toBeCloseTo(0.4, 9);
    // Full batches of 10: 100 k receives and 100 k deletes per queue.
    expect(cost(lines, 'SQS: fanout receive + delete')).toBeCloseTo(0.08, 9);
    expect(cost(lines, 'SQS: delivery receive + delete')).toBeCloseTo(0.08, 9);
    // 1 KB for 30 days: 1 GB x 30/30.4 months x $0.25.
    expect(cost(lines, 'DynamoDB storage')).toBeCloseTo((30 / 30.4) * 0.25, 9);
    expect(cost(lines, 'DynamoDB PITR')).toBeCloseTo((30 / 30.4) * 0.2, 9);
    // (600 + 400) B to the receiver per webhook: 1 GB out.
    expect(cost(lines, 'Data transfer out')).toBeCloseTo(0.09, 9);
  });

  it('bills each invocation its AWS call rounds: a delivery batch is a read, the receiver and a write', () => {
    const lines = priceLines(single, 1000, 1);
    const L = ASSUMED.latencyMs;
    const invocations = 1e6 + 1e5 + 1e5;
    const gbs =
      ((1e6 * L.putEvents +
        1e5 * (L.dynamoRead + Math.max(L.dynamoWrite, L.sqsSend)) +
        1e5 * (L.dynamoRead + L.receiver + L.dynamoWrite) +
        (invocations / ASSUMED.invocationsPerColdStart) * ASSUMED.initMs) /
        1000) *
      ASSUMED.memoryGb;
    expect(lines.find((l) => l.item.startsWith('Lambda duration'))?.count).toBeCloseTo(gbs, 6);
    expect(cost(lines, 'Lambda requests')).toBeCloseTo(invocations * PRICE.lambdaRequest, 9);
  });

  it('makes every total the sum of its lines, and each line its unit price times its count', () => {
    for (const rate of [10, 1000]) {
      const lines = priceLines(single, rate, 1);
      for (const l of lines) expect(l.cost).toBeCloseTo(l.unitPrice * l.count, 12);
      expect(totalOf(lines)).toBeCloseTo(
        lines.reduce((s, l) => s + l.cost, 0),
        12,
      );
    }
    // Fewer, fuller batches at the higher rate.
    expect(totalOf(priceLines(single, 1000, 1))).toBeLessThan(totalOf(priceLines(single, 10, 1)));
    expect(totalOf(priceLines(single, 10, 1))).toBeLessThan(totalOf(priceLines(single, 10, 0)));
  });

  it('puts the single-ingest floor at about $2.80: API Gateway, ingest requests, EventBridge, SQS and Lambda at full batches', () => {
    expect(floorOf(single)).toBeCloseTo(1 + 0.2 + 1 + 0.4 * 1.5 + 0.2 * 0.2, 9);
  });

  it('counts the legs of long waits and the receives to the DLQ for a delivery that always fails', () => {
    // Waits 5, 300 and 1800 s: 1800 s is two 900 s legs, so one extra receive and send.
    const lines = failingLines([5, 300, 1800], [0, 1, 1, 1, 2], {
      rate: 1000,
      windowSeconds: 1,
      legSeconds: 900,
      receivesToDlq: 4,
    });
    // 3 retries + 1 leg = 4 copies per delivery, sent 10 to a request.
    const sends = lines.find((l) => l.item === 'SQS delayed copies sent');
    expect(sends?.count).toBeCloseTo(((3 + 1) / 10) * 1e6, 3);
    // 4 attempts + 1 leg + 4 DLQ receives = 9, in batches of 10: 0.9 invocations per delivery.
    expect(lines.find((l) => l.item === 'Lambda requests')?.count).toBeCloseTo(0.9e6, 3);
    // The record written after each attempt (1, 1, 1), the dead one with its DLQ index entry (2).
    expect(lines.find((l) => l.item.startsWith('DynamoDB writes'))?.count).toBe(5e6);
  });

  it('lists idle polling, alarms, the dashboard, metrics and the secret as fixed monthly items', () => {
    const lines = fixedMonthly({
      pollingSources: 4,
      alarms: 10,
      dashboards: 1,
      customMetrics: 6,
      secrets: 1,
    });
    // 4 sources x 5 pollers x (30.4 days / 20 s) long polls.
    expect(lines[0]?.count).toBeCloseTo(4 * 5 * ((30.4 * 86_400) / 20), 6);
    expect(totalOf(lines)).toBeCloseTo((lines[0]?.count ?? 0) * 0.4e-6 + 1 + 3 + 1.8 + 0.4, 9);
  });
});
