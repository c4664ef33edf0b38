import {
  DescribeReplayCommand,
  EventBridgeClient,
  ListReplaysCommand,
  ResourceNotFoundException,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ArchiveReplayer } from '../../../../functions/adapters/aws/replayer.ts';

const ARCHIVE = 'arn:aws:events:us-east-1:123456789012:archive/relay-events-archive';
const BUS = 'arn:aws:events:us-east-1:123456789012:event-bus/relay-events';
const RULE = 'arn:aws:events:us-east-1:123456789012:rule/relay-events/EventsToFanout';
const eb = mockClient(EventBridgeClient);
const replayer = () =>
  new ArchiveReplayer(new EventBridgeClient({}), {
    archiveArn: ARCHIVE,
    eventBusArn: BUS,
    fanoutRuleArn: RULE,
  });
const window = { from: new Date('2026-11-23T08:00:00Z'), to: new Date('2026-11-23T09:00:00Z') };

describe('ArchiveReplayer (EventBridge archive replay)', () => {
  beforeEach(() => eb.reset());

  it('replays the window from the archive to the bus, through the fanout rule only', async () => {
    eb.on(StartReplayCommand).resolves({ State: 'STARTING' });
    const status = await replayer().start(window);
    const input = eb.commandCalls(StartReplayCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      EventSourceArn: ARCHIVE,
      EventStartTime: window.from,
      EventEndTime: window.to,
      Destination: { Arn: BUS, FilterArns: [RULE] },
    });
    expect(input?.ReplayName).toMatch(/^replay-[0-9A-Z]{26}$/);
    expect(status).toEqual({
      id: input?.ReplayName,
      status: 'STARTING',
      from: '2026-11-23T08:00:00.000Z',
      to: '2026-11-23T09:00:00.000Z',
    });
  });

  it('gives every replay its own name', async () => {
    eb.on(StartReplayCommand).resolves({ State: 'STARTING' });
    const [a, b] = await Promise.all([replayer().start(window), replayer().start(window)]);
    expect(a.id).not.toBe(b.id);
  });

  it('reads progress from DescribeReplay: state and the time of the last event replayed', async () => {
    eb.on(DescribeReplayCommand).resolves({
      State: 'RUNNING',
      EventStartTime: window.from,
      EventEndTime: window.to,
      EventLastReplayedTime: new Date('2026-11-23T08:30:00Z'),
    });
    expect(await replayer().status('replay-1')).toEqual({
      id: 'replay-1',
      status: 'RUNNING',
      from: '2026-11-23T08:00:00.000Z',
      to: '2026-11-23T09:00:00.000Z',
      lastReplayedAt: '2026-11-23T08:30:00.000Z',
    });
    expect(eb.commandCalls(DescribeReplayCommand)[0]?.args[0].input).toEqual({ ReplayName: 'replay-1' });
  });

  it('passes on why a replay failed', async () => {
    eb.on(DescribeReplayCommand).resolves({ State: 'FAILED', StateReason: 'archive is disabled' });
    expect(await replayer().status('replay-1')).toMatchObject({
      status: 'FAILED',
      reason: 'archive is disabled',
    });
  });

  it('knows no replay EventBridge does not know (404 upstream)', async () => {
    eb.on(DescribeReplayCommand).rejects(new ResourceNotFoundException({ message: 'nope', $metadata: {} }));
    expect(await replayer().status('replay-x')).toBeUndefined();
  });

  it('propagates other failures (a 5xx the caller may retry)', async () => {
    eb.on(StartReplayCommand).rejects(new Error('ThrottlingException'));
    await expect(replayer().start(window)).rejects.toThrow('ThrottlingException');
  });
});

describe('ArchiveReplayer.list', () => {
  beforeEach(() => eb.reset());

  it("lists the relay's replays of its archive, newest first, with their progress", async () => {
    eb.on(ListReplaysCommand).resolves({
      Replays: [
        {
          ReplayName: 'replay-01A',
          State: 'COMPLETED',
          EventStartTime: window.from,
          EventEndTime: window.to,
        },
        {
          ReplayName: 'replay-01B',
          State: 'RUNNING',
          EventStartTime: window.from,
          EventEndTime: window.to,
          EventLastReplayedTime: new Date('2026-11-23T08:30:00Z'),
        },
      ],
    });
    expect(await replayer().list()).toEqual([
      {
        id: 'replay-01B',
        status: 'RUNNING',
        from: '2026-11-23T08:00:00.000Z',
        to: '2026-11-23T09:00:00.000Z',
        lastReplayedAt: '2026-11-23T08:30:00.000Z',
      },
      {
        id: 'replay-01A',
        status: 'COMPLETED',
        from: '2026-11-23T08:00:00.000Z',
        to: '2026-11-23T09:00:00.000Z',
      },
    ]);
    expect(eb.commandCalls(ListReplaysCommand)[0]?.args[0].input).toEqual({
      EventSourceArn: ARCHIVE,
      NamePrefix: 'replay-',
      Limit: 100,
    });
  });

  it('reads every page, so the newest replays are listed whatever order EventBridge answers in', async () => {
    const replay = (n: number) => ({
      ReplayName: `replay-${String(n).padStart(3, '0')}`,
      State: 'COMPLETED' as const,
    });
    eb.on(ListReplaysCommand)
      .resolvesOnce({ Replays: Array.from({ length: 100 }, (_, i) => replay(i)), NextToken: 't1' })
      .resolvesOnce({ Replays: [replay(100), replay(101)] });
    const listed = await replayer().list();
    expect(listed).toHaveLength(100);
    expect(listed.slice(0, 2).map((r) => r.id)).toEqual(['replay-101', 'replay-100']);
    expect(eb.commandCalls(ListReplaysCommand)[1]?.args[0].input).toMatchObject({ NextToken: 't1' });
  });
});
