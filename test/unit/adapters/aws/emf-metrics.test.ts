import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfMetrics } from '../../../../functions/adapters/aws/emf-metrics.ts';
import { METRICS } from '../../../../functions/core/metrics.ts';

/** Captures what Powertools writes to stdout: one EMF JSON document per flush. */
function capture() {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return { lines, restore: () => spy.mockRestore() };
}

describe('EmfMetrics (Powertools Metrics, CloudWatch EMF)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('publishes counts and durations in the WebhookRelay namespace with the service dimension', () => {
    const out = capture();
    const metrics = new EmfMetrics(new Metrics({ namespace: 'WebhookRelay', serviceName: 'relay-test' }));
    metrics.count(METRICS.deliveriesSucceeded);
    metrics.count(METRICS.deliveriesSucceeded);
    metrics.count(METRICS.eventsIngested, 10);
    metrics.duration(METRICS.attemptDuration, 12);
    metrics.duration(METRICS.attemptDuration, 30);
    metrics.flush();
    out.restore();
    const emf = out.lines.map((l) => JSON.parse(l)).find((d) => d._aws);
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'WebhookRelay',
      Dimensions: [['service']],
    });
    const defs = Object.fromEntries(
      emf._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string; Unit: string }) => [m.Name, m.Unit]),
    );
    expect(defs).toEqual({
      DeliveriesSucceeded: 'Count',
      EventsIngested: 'Count',
      AttemptDuration: 'Milliseconds',
    });
    expect(emf.service).toBe('relay-test');
    expect(emf.DeliveriesSucceeded).toEqual([1, 1]);
    expect(emf.EventsIngested).toBe(10);
    expect(emf.AttemptDuration).toEqual([12, 30]);
  });

  it('writes nothing when an invocation recorded nothing', () => {
    const out = capture();
    new EmfMetrics(new Metrics({ namespace: 'WebhookRelay', serviceName: 'relay-test' })).flush();
    out.restore();
    expect(out.lines.filter((l) => l.includes('_aws'))).toEqual([]);
  });
});
