import { describe, expect, it } from 'vitest';
import {
  attemptsPerRound,
  DEFAULT_JITTER,
  DEFAULT_RETRY_SCHEDULE,
  nextDelaySeconds,
  parseSchedule,
  type RetryPolicy,
} from '../../../../functions/core/delivery/retry.ts';
import { MAX_DELAY_SECONDS } from '../../../../functions/core/delivery/scheduling.ts';

describe('parseSchedule', () => {
  it('parses the default schedule written as a list', () => {
    expect(parseSchedule('5,300,1800,7200,18000,36000,36000')).toEqual([...DEFAULT_RETRY_SCHEDULE]);
  });

  it('ignores spaces around entries', () => {
    expect(parseSchedule(' 5 , 300,1800 ')).toEqual([5, 300, 1800]);
  });

  it('reads an empty string as no retries', () => {
    expect(parseSchedule('')).toEqual([]);
    expect(parseSchedule('   ')).toEqual([]);
  });

  it('accepts zero and the 12 h maximum', () => {
    expect(parseSchedule(`0,${MAX_DELAY_SECONDS}`)).toEqual([0, MAX_DELAY_SECONDS]);
  });

  it('rejects a negative delay, naming the entry', () => {
    expect(() => parseSchedule('5,-1,30')).toThrow(
      `retry schedule entry 2 ("-1") must be seconds between 0 and ${MAX_DELAY_SECONDS}`,
    );
  });

  it('rejects a delay that is not a number, naming the entry', () => {
    expect(() => parseSchedule('5,300,soon')).toThrow('retry schedule entry 3 ("soon")');
    expect(() => parseSchedule('NaN')).toThrow('retry schedule entry 1 ("NaN")');
    expect(() => parseSchedule('Infinity')).toThrow('retry schedule entry 1 ("Infinity")');
  });

  it('rejects a delay beyond the 12 h SQS visibility limit, naming the entry', () => {
    expect(() => parseSchedule(`5,${MAX_DELAY_SECONDS + 1}`)).toThrow(
      `retry schedule entry 2 ("${MAX_DELAY_SECONDS + 1}")`,
    );
  });

  it('rejects empty entries such as a doubled or trailing comma', () => {
    expect(() => parseSchedule('5,,30')).toThrow('retry schedule entry 2 ("")');
    expect(() => parseSchedule('5,')).toThrow('retry schedule entry 2 ("")');
  });
});

describe('attemptsPerRound', () => {
  it('gives one attempt more than there are delays', () => {
    expect(attemptsPerRound({ delays: DEFAULT_RETRY_SCHEDULE, jitter: DEFAULT_JITTER })).toBe(8);
    expect(attemptsPerRound({ delays: [10, 20], jitter: 0 })).toBe(3);
    expect(attemptsPerRound({ delays: [], jitter: 0 })).toBe(1);
  });
});

describe('nextDelaySeconds', () => {
  const policy: RetryPolicy = { delays: [10, 300, 36000], jitter: 0.2 };

  it('waits the delay listed for the attempt that failed', () => {
    const exact: RetryPolicy = { ...policy, jitter: 0 };
    expect(nextDelaySeconds(exact, 1)).toBe(10);
    expect(nextDelaySeconds(exact, 2)).toBe(300);
    expect(nextDelaySeconds(exact, 3)).toBe(36000);
  });

  it('keeps the delay unchanged when the random draw is in the middle', () => {
    expect(nextDelaySeconds(policy, 2, 0.5)).toBe(300);
  });

  it('shortens the delay by the jitter fraction at the lowest random draw', () => {
    expect(nextDelaySeconds(policy, 2, 0)).toBeCloseTo(240, 9);
  });

  it('lengthens the delay by the jitter fraction at the highest random draw', () => {
    expect(nextDelaySeconds(policy, 2, 0.999_999_999)).toBeCloseTo(360, 5);
  });

  it('stays within +/- jitter for any random draw', () => {
    for (let i = 0; i <= 100; i++) {
      const d = nextDelaySeconds(policy, 2, Math.min(i / 100, 0.999_999_999)) as number;
      expect(d).toBeGreaterThanOrEqual(240);
      expect(d).toBeLessThanOrEqual(360);
    }
  });

  it('never exceeds the 12 h maximum, even with jitter', () => {
    expect(nextDelaySeconds({ delays: [MAX_DELAY_SECONDS], jitter: 0.2 }, 1, 0.999)).toBe(MAX_DELAY_SECONDS);
  });

  it('uses Math.random when no draw is given, staying within bounds', () => {
    for (let i = 0; i < 50; i++) {
      const d = nextDelaySeconds(policy, 1) as number;
      expect(d).toBeGreaterThanOrEqual(8);
      expect(d).toBeLessThanOrEqual(12);
    }
  });

  it('returns undefined once the round is exhausted', () => {
    expect(nextDelaySeconds(policy, 4, 0.5)).toBeUndefined();
    expect(nextDelaySeconds(policy, 99, 0.5)).toBeUndefined();
    expect(nextDelaySeconds({ delays: [], jitter: 0 }, 1)).toBeUndefined();
  });
});
