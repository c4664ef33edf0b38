/**
 * Content filters in EventBridge event-pattern syntax. Examples come from the Amazon EventBridge
 * User Guide ("Event pattern syntax", "Comparison operators for use in event patterns",
 * "Content filtering in event patterns", "Arrays in event patterns", "Matching null values and
 * empty strings", "Matching events on event field values") and, where the guide points to it,
 * from the README of Event Ruler (github.com/aws/event-ruler), the matcher behind EventBridge.
 * The guide's events keep their payload in `detail`; ours in `data`, with `detail-type` as `type`.
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  type EventFilter,
  FilterSchema,
  MAX_FILTER_BYTES,
  MAX_FILTER_DEPTH,
  MAX_FILTER_OR_BRANCHES,
  MAX_FILTER_VALUES,
  MAX_FILTER_WILDCARDS,
  matchesFilter,
} from '../../../../functions/core/subscriptions/filter.ts';

/** Validates the filter (so every test also proves the doc example is accepted) and matches. */
function matches(filter: unknown, data: Record<string, unknown>, type = 'order.created'): boolean {
  const parsed = FilterSchema.safeParse(filter);
  if (!parsed.success) throw new Error(`filter rejected: ${JSON.stringify(parsed.error.issues)}`);
  return matchesFilter(parsed.data, { type, data });
}

function firstIssue(filter: unknown): { path: PropertyKey[]; message: string } {
  const parsed = FilterSchema.safeParse(filter);
  expect(parsed.success).toBe(false);
  const issue = parsed.error?.issues[0];
  if (!issue) throw new Error('no issue');
  return { path: issue.path, message: issue.message };
}

/** The EC2 state-change event the guide's "Content filtering" examples run against, as {type, data}. */
const ec2 = {
  'instance-id': 'i-abcd1111',
  state: 'running',
  'c-count': 5,
  'd-count': 3,
  'x-limit': 301.8,
};

describe('matchesFilter: exact values, AND and OR (guide: "Event pattern syntax")', () => {
  // { "source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
  //   "detail": { "state": ["terminated"] } }
  const terminated = { type: ['EC2 Instance State-change Notification'], data: { state: ['terminated'] } };

  it('matches an event whose type and nested field both equal the pattern', () => {
    expect(
      matches(
        terminated,
        { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
        'EC2 Instance State-change Notification',
      ),
    ).toBe(true);
  });

  it('does not match when one of the ANDed fields differs', () => {
    expect(matches(terminated, { state: 'running' }, 'EC2 Instance State-change Notification')).toBe(false);
    expect(matches(terminated, { state: 'terminated' }, 'order.created')).toBe(false);
  });

  it('matches any of the values listed for a field', () => {
    // { "source": ["aws.ec2", "aws.fargate"] }
    const filter = { data: { source: ['aws.ec2', 'aws.fargate'] } };
    expect(matches(filter, { source: 'aws.fargate' })).toBe(true);
    expect(matches(filter, { source: 'aws.s3' })).toBe(false);
  });

  it('matches Location and Day together (comparison operators table: "And")', () => {
    // "Location": [ "New York" ], "Day": ["Monday"]
    const filter = { data: { Location: ['New York'], Day: ['Monday'] } };
    expect(matches(filter, { Location: 'New York', Day: 'Monday' })).toBe(true);
    expect(matches(filter, { Location: 'New York', Day: 'Tuesday' })).toBe(false);
  });

  it('matches exact strings case-sensitively ("Equals": "Name": [ "Alice" ])', () => {
    expect(matches({ data: { Name: ['Alice'] } }, { Name: 'Alice' })).toBe(true);
    expect(matches({ data: { Name: ['Alice'] } }, { Name: 'alice' })).toBe(false);
  });

  it('matches a nested severity score and a count (guide: "Matching events on event field values", Macie)', () => {
    // { "source": ["aws.macie"], "detail-type": ["Macie Finding"],
    //   "detail": { "severity": { "score": [1] }, "count": [2] } }
    const filter = { type: ['Macie Finding'], data: { severity: { score: [1] }, count: [2] } };
    const finding = {
      type: 'Policy:IAMUser/S3BucketEncryptionDisabled',
      severity: { score: 1, description: 'Low' },
      count: 2,
    };
    expect(matches(filter, finding, 'Macie Finding')).toBe(true);
    expect(matches(filter, { ...finding, severity: { score: 2 } }, 'Macie Finding')).toBe(false);
  });

  it('does not match a nested pattern against a scalar or missing object', () => {
    const filter = { data: { severity: { score: [1] } } };
    expect(matches(filter, { severity: 1 })).toBe(false);
    expect(matches(filter, {})).toBe(false);
  });

  it('keeps JSON types apart: a string is not a number, and true is not "true"', () => {
    expect(matches({ data: { n: ['5'] } }, { n: 5 })).toBe(false);
    expect(matches({ data: { n: [5] } }, { n: '5' })).toBe(false);
    expect(matches({ data: { flag: [true] } }, { flag: true })).toBe(true);
    expect(matches({ data: { flag: [true] } }, { flag: 'true' })).toBe(false);
  });

  it('compares exact numbers numerically: 3.018e2 matches 301.8 and 300 matches 300.0', () => {
    expect(matches({ data: { 'x-limit': [3.018e2] } }, ec2)).toBe(true);
    expect(matches({ data: { n: [300] } }, JSON.parse('{"n": 300.0}'))).toBe(true);
  });
});

describe('matchesFilter: null and empty strings (guide: "Matching null values and empty strings")', () => {
  // detail: { "eventVersion": "", "responseElements": null }
  const launch = { eventVersion: '', responseElements: null };

  it('matches an empty string with [""]', () => {
    expect(matches({ data: { eventVersion: [''] } }, launch)).toBe(true);
  });

  it('matches a null value with [null]', () => {
    expect(matches({ data: { responseElements: [null] } }, launch)).toBe(true);
  });

  it('does not treat null and the empty string as interchangeable', () => {
    expect(matches({ data: { responseElements: [''] } }, launch)).toBe(false);
    expect(matches({ data: { eventVersion: [null] } }, launch)).toBe(false);
  });
});

describe('matchesFilter: arrays in the event (guide: "Arrays in event patterns")', () => {
  it('matches when the pattern values and the event array intersect', () => {
    const filter = {
      data: {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
        ],
      },
    };
    const resources = [
      'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
    ];
    expect(matches(filter, { resources })).toBe(true);
    expect(matches(filter, { resources: [resources[0]] })).toBe(false);
    expect(matches(filter, { resources: [] })).toBe(false);
  });

  it('applies matchers to each element of an array', () => {
    expect(matches({ data: { tags: [{ prefix: 'vip-' }] } }, { tags: ['new', 'vip-gold'] })).toBe(true);
    expect(matches({ data: { qty: [{ numeric: ['>', 10] }] } }, { qty: [1, 2, 30] })).toBe(true);
    expect(matches({ data: { qty: [{ numeric: ['>', 10] }] } }, { qty: [1, 2, 3] })).toBe(false);
  });

  it('matches a nested pattern inside an array of objects (Event Ruler README: "JSON Array Matching")', () => {
    // { "employees": [ { "firstName": "John", "lastName": "Doe" }, { "firstName": "Anna", "lastName": "Smith" },
    //   { "firstName": "Peter", "lastName": "Jones" } ] }  matched by  { "employees": { "firstName": [ "Anna" ] } }
    const employees = [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ];
    expect(matches({ data: { employees: { firstName: ['Anna'] } } }, { employees })).toBe(true);
    expect(matches({ data: { employees: { firstName: ['Zoe'] } } }, { employees })).toBe(false);
  });

  it('requires the fields of a nested pattern to match within the same array element', () => {
    // The README: { "employees": { "firstName": [ "Anna" ], "lastName": [ "Jones" ] } } must not match.
    const employees = [
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ];
    expect(
      matches({ data: { employees: { firstName: ['Anna'], lastName: ['Jones'] } } }, { employees }),
    ).toBe(false);
    expect(
      matches({ data: { employees: { firstName: ['Anna'], lastName: ['Smith'] } } }, { employees }),
    ).toBe(true);
  });

  it('looks into arrays of arrays', () => {
    expect(
      matches(
        { data: { grid: [7] } },
        {
          grid: [
            [1, 2],
            [3, [7]],
          ],
        },
      ),
    ).toBe(true);
    expect(matches({ data: { rows: { id: [2] } } }, { rows: [[{ id: 1 }], [{ id: 2 }]] })).toBe(true);
  });
});

describe('matchesFilter: prefix and suffix', () => {
  it('matches a time that starts with the date (guide: "Prefix matching")', () => {
    // { "time": [ { "prefix": "2017-10-02" } ] }
    const filter = { data: { time: [{ prefix: '2017-10-02' }] } };
    expect(matches(filter, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matches(filter, { time: '2017-10-03T00:00:00Z' })).toBe(false);
  });

  it('matches a region in the US ("Begins with": "Region": [ {"prefix": "us-" } ])', () => {
    expect(matches({ data: { Region: [{ prefix: 'us-' }] } }, { Region: 'us-east-1' })).toBe(true);
    expect(matches({ data: { Region: [{ prefix: 'us-' }] } }, { Region: 'eu-west-1' })).toBe(false);
  });

  it('matches a prefix regardless of case ("Prefix matching while ignoring case")', () => {
    // { "detail": {"service" : [{ "prefix": { "equals-ignore-case": "EventB" }}]} }
    const filter = { data: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };
    for (const service of ['EventBridge', 'EVENTBRIDGE', 'eventbus'])
      expect(matches(filter, { service })).toBe(true);
    expect(matches(filter, { service: 'Lambda' })).toBe(false);
  });

  it('matches a file name ending in .png ("Suffix matching")', () => {
    // { "FileName": [ { "suffix": ".png" } ] }
    const filter = { data: { FileName: [{ suffix: '.png' }] } };
    expect(matches(filter, { FileName: 'image.png' })).toBe(true);
    expect(matches(filter, { FileName: 'image.PNG' })).toBe(false);
  });

  it('matches a suffix regardless of case ("Suffix matching while ignoring case")', () => {
    // { "detail": {"FileName" : [{ "suffix": { "equals-ignore-case": ".png" }}]} }
    const filter = { data: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };
    expect(matches(filter, { FileName: 'image.PNG' })).toBe(true);
    expect(matches(filter, { FileName: 'image.jpg' })).toBe(false);
    // "Ends with (ignore case)": {"service" : [{ "suffix": { "equals-ignore-case": "tbridge" }}]}
    const service = { data: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] } };
    expect(matches(service, { service: 'EVENTBRIDGE' })).toBe(true);
  });

  it('applies prefix and suffix to strings only', () => {
    expect(matches({ data: { code: [{ prefix: '4' }] } }, { code: 404 })).toBe(false);
    expect(matches({ data: { code: [{ suffix: '4' }] } }, { code: 404 })).toBe(false);
  });
});

describe('matchesFilter: equals-ignore-case', () => {
  it('matches Alice in any case ("Equals (ignore case)": "Name": [ { "equals-ignore-case": "alice" } ])', () => {
    const filter = { data: { Name: [{ 'equals-ignore-case': 'alice' }] } };
    for (const Name of ['Alice', 'ALICE', 'alice']) expect(matches(filter, { Name })).toBe(true);
    expect(matches(filter, { Name: 'Alicia' })).toBe(false);
  });
});

describe('matchesFilter: anything-but (guide: "Anything-but matching")', () => {
  it('matches any state but initializing', () => {
    // { "detail": { "state": [ { "anything-but": "initializing" } ] } }
    const filter = { data: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matches(filter, { state: 'running' })).toBe(true);
    expect(matches(filter, { state: 'initializing' })).toBe(false);
  });

  it('matches any number but 123', () => {
    // { "detail": { "x-limit": [ { "anything-but": 123 } ] } }
    const filter = { data: { 'x-limit': [{ 'anything-but': 123 }] } };
    expect(matches(filter, { 'x-limit': 301.8 })).toBe(true);
    expect(matches(filter, { 'x-limit': 123 })).toBe(false);
  });

  it('matches any state outside a list of strings', () => {
    // { "detail": { "state": [ { "anything-but": [ "stopped", "overloaded" ] } ] } }
    const filter = { data: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(matches(filter, { state: 'running' })).toBe(true);
    expect(matches(filter, { state: 'overloaded' })).toBe(false);
  });

  it('matches any number outside a list of numbers, comparing numerically', () => {
    // { "detail": { "x-limit": [ { "anything-but": [ 100, 200, 300 ] } ] } }
    const filter = { data: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(matches(filter, { 'x-limit': 301.8 })).toBe(true);
    expect(matches(filter, JSON.parse('{"x-limit": 300.0}'))).toBe(false);
  });

  it('matches any state that does not start with init ("anything-but prefix")', () => {
    // { "detail": { "state": [ { "anything-but": { "prefix": "init" } } ] } }
    const filter = { data: { state: [{ 'anything-but': { prefix: 'init' } }] } };
    expect(matches(filter, { state: 'running' })).toBe(true);
    expect(matches(filter, { state: 'initializing' })).toBe(false);
  });

  it('matches a file name that does not end in .png ("Anything-but (ends with)")', () => {
    // "FileName": [ { "anything-but": { "suffix": ".png" } } ]
    const filter = { data: { FileName: [{ 'anything-but': { suffix: '.png' } }] } };
    expect(matches(filter, { FileName: 'notes.txt' })).toBe(true);
    expect(matches(filter, { FileName: 'image.png' })).toBe(false);
  });

  it('excludes initializing in any case ("Anything-but (ignore case)")', () => {
    // "state": [{ "anything-but": { "equals-ignore-case": "initializing" }}]
    const filter = { data: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } };
    expect(matches(filter, { state: 'INITIALIZING' })).toBe(false);
    expect(matches(filter, { state: 'running' })).toBe(true);
    const list = {
      data: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] },
    };
    expect(matches(list, { state: 'overloaded' })).toBe(false);
    expect(matches(list, { state: 'running' })).toBe(true);
  });

  it('excludes file paths that include /lib/ ("Anything-but using a wildcard")', () => {
    // "FilePath" : [{ "anything-but": { "wildcard": "*/lib/*" }}]
    const filter = { data: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } };
    expect(matches(filter, { FilePath: '/usr/lib/libc.so' })).toBe(false);
    expect(matches(filter, { FilePath: '/usr/bin/ls' })).toBe(true);
  });

  it('never matches an absent field', () => {
    expect(matches({ data: { state: [{ 'anything-but': 'initializing' }] } }, {})).toBe(false);
  });

  it('matches values of another type than the excluded ones', () => {
    const filter = { data: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matches(filter, { state: 3 })).toBe(true);
    expect(matches(filter, { state: null })).toBe(true);
    expect(matches({ data: { state: [{ 'anything-but': { prefix: 'init' } }] } }, { state: 7 })).toBe(true);
  });

  it('matches an array when any element is not excluded', () => {
    const filter = { data: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matches(filter, { state: ['initializing', 'running'] })).toBe(true);
    expect(matches(filter, { state: ['initializing'] })).toBe(false);
  });
});

describe('matchesFilter: numeric (guide: "Numeric matching")', () => {
  // { "detail": { "c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ],
  //   "d-count": [ { "numeric": [ "<", 10 ] } ], "x-limit": [ { "numeric": [ "=", 3.018e2 ] } ] } }
  const filter = {
    data: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches the EC2 event whose counts lie in every range', () => {
    expect(matches(filter, ec2)).toBe(true);
  });

  it('does not match when one range fails', () => {
    expect(matches(filter, { ...ec2, 'd-count': 10 })).toBe(false);
    expect(matches(filter, { ...ec2, 'x-limit': 301.9 })).toBe(false);
  });

  it('matches an order whose price lies in the numeric range, edges included or not as the operators say', () => {
    const range = { data: { price: [{ numeric: ['>', 0, '<=', 5] }] } };
    expect(matches(range, { price: 0 })).toBe(false);
    expect(matches(range, { price: 0.000001 })).toBe(true);
    expect(matches(range, { price: 5 })).toBe(true);
    expect(matches(range, { price: 5.000001 })).toBe(false);
    const closed = { data: { price: [{ numeric: ['>=', 0, '<', 5] }] } };
    expect(matches(closed, { price: 0 })).toBe(true);
    expect(matches(closed, { price: 5 })).toBe(false);
    expect(matches(closed, { price: -1 })).toBe(false);
  });

  it('matches each single comparison at its edge', () => {
    const cases: [string, number, number, boolean][] = [
      ['=', 5, 5, true],
      ['=', 5, 5.1, false],
      ['<', 5, 5, false],
      ['<=', 5, 5, true],
      ['>', 5, 5, false],
      ['>=', 5, 5, true],
      ['>=', -2.5, -2.5, true],
    ];
    for (const [op, bound, value, expected] of cases) {
      expect(matches({ data: { n: [{ numeric: [op, bound] }] } }, { n: value })).toBe(expected);
    }
  });

  it('applies numeric matching to JSON numbers only', () => {
    expect(matches({ data: { n: [{ numeric: ['>', 0] }] } }, { n: '5' })).toBe(false);
    expect(matches({ data: { n: [{ numeric: ['>', 0] }] } }, { n: true })).toBe(false);
  });

  it('matches the guide\'s "Complex example with multiple matching"', () => {
    // { "time": [ { "prefix": "2017-10-02" } ], "detail": { "state": [ { "anything-but": "initializing" } ],
    //   "c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ], "d-count": [ { "numeric": [ "<", 10 ] } ],
    //   "x-limit": [ { "anything-but": [ 100, 200, 300 ] } ] } }  -- "time" moved into data here
    const complex = {
      data: {
        time: [{ prefix: '2017-10-02' }],
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    expect(matches(complex, { ...ec2, time: '2017-10-02T16:24:49Z' })).toBe(true);
    expect(matches(complex, { ...ec2, time: '2017-10-02T16:24:49Z', state: 'initializing' })).toBe(false);
  });
});

describe('matchesFilter: exists (guide: "Exists matching")', () => {
  // { "detail": { "state": [ { "exists": true } ] } }
  it('matches an event that has detail.state', () => {
    const filter = { data: { state: [{ exists: true }] } };
    expect(matches(filter, { 'instance-id': 'i-abcd1111', state: 'pending' })).toBe(true);
  });

  it('does not match an event without detail.state, whose c-count is an object', () => {
    const filter = { data: { state: [{ exists: true }] } };
    expect(matches(filter, { 'c-count': { c1: 100 } })).toBe(false);
  });

  // { "detail": { "c-count": [ { "exists": false } ] } }
  it('matches an event without detail.c-count', () => {
    expect(
      matches({ data: { 'c-count': [{ exists: false }] } }, { state: ['initializing', 'running'] }),
    ).toBe(true);
    expect(matches({ data: { 'c-count': [{ exists: false }] } }, ec2)).toBe(false);
  });

  it('treats a c-count that is an object as absent, since exists looks at leaf nodes only', () => {
    const event = { state: ['initializing', 'running'], 'c-count': { c1: 100 } };
    expect(matches({ data: { 'c-count': [{ exists: false }] } }, event)).toBe(true);
    expect(matches({ data: { 'c-count': [{ exists: true }] } }, event)).toBe(false);
  });

  it('counts null as a present value and an empty array as absent', () => {
    expect(matches({ data: { x: [{ exists: true }] } }, { x: null })).toBe(true);
    expect(matches({ data: { x: [{ exists: false }] } }, { x: [] })).toBe(true);
    expect(matches({ data: { x: [{ exists: true }] } }, { x: [] })).toBe(false);
  });

  it('matches exists: false below an object the event lacks altogether', () => {
    expect(matches({ data: { shipping: { address: [{ exists: false }] } } }, {})).toBe(true);
  });

  it('matches an absent field only with exists: false, whatever else the field lists', () => {
    expect(matches({ data: { coupon: [{ prefix: 'X' }, { exists: false }] } }, {})).toBe(true);
    expect(matches({ data: { coupon: [{ prefix: 'X' }, 'none'] } }, {})).toBe(false);
  });
});

describe('matchesFilter: wildcard', () => {
  it('matches "Simple*Service" (Event Ruler README: "Wildcard matching")', () => {
    // { "source": [ { "wildcard": "Simple*Service" } ] }
    const filter = { data: { source: [{ wildcard: 'Simple*Service' }] } };
    expect(matches(filter, { source: 'SimpleQueueService' })).toBe(true);
    expect(matches(filter, { source: 'SimpleService' })).toBe(true);
    expect(matches(filter, { source: 'SimpleQueueServices' })).toBe(false);
  });

  it('matches "*.png" and "*Title*" as the AWS Compute Blog wildcard post describes', () => {
    expect(matches({ data: { key: [{ wildcard: '*.png' }] } }, { key: 'dir/files.png' })).toBe(true);
    expect(matches({ data: { key: [{ wildcard: '*.png' }] } }, { key: 'dir/files.png.bak' })).toBe(false);
    expect(matches({ data: { title: [{ wildcard: '*Title*' }] } }, { title: 'A Title here' })).toBe(true);
    expect(matches({ data: { title: [{ wildcard: '*Title*' }] } }, { title: 'A title here' })).toBe(false);
  });

  it('matches several wildcards in order without backtracking', () => {
    const filter = { data: { key: [{ wildcard: 'a*b*c' }] } };
    expect(matches(filter, { key: 'abc' })).toBe(true);
    expect(matches(filter, { key: 'a-b-b-c' })).toBe(true);
    expect(matches(filter, { key: 'acb' })).toBe(false);
    expect(matches({ data: { key: [{ wildcard: 'ab*ba' }] } }, { key: 'aba' })).toBe(false);
    expect(matches({ data: { key: [{ wildcard: 'ab*ba' }] } }, { key: 'abba' })).toBe(true);
  });

  it('matches a pattern without * exactly', () => {
    expect(matches({ data: { key: [{ wildcard: 'exact' }] } }, { key: 'exact' })).toBe(true);
    expect(matches({ data: { key: [{ wildcard: 'exact' }] } }, { key: 'exactly' })).toBe(false);
  });

  it('matches a literal * written \\* and a literal backslash written \\\\', () => {
    const star = { data: { key: [{ wildcard: 'price\\*2' }] } };
    expect(matches(star, { key: 'price*2' })).toBe(true);
    expect(matches(star, { key: 'price-x-2' })).toBe(false);
    const backslash = { data: { path: [{ wildcard: 'C:\\\\*' }] } };
    expect(matches(backslash, { path: 'C:\\Windows' })).toBe(true);
    expect(matches(backslash, { path: 'C:/Windows' })).toBe(false);
    expect(matches({ data: { key: [{ wildcard: '\\**' }] } }, { key: '*anything' })).toBe(true);
  });

  it('stays fast on a value that defeats backtracking matchers', () => {
    const filter = { data: { key: [{ wildcard: '*a*a*a*a*b' }] } };
    const started = performance.now();
    expect(matches(filter, { key: 'a'.repeat(100_000) })).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('applies wildcards to strings only', () => {
    expect(matches({ data: { n: [{ wildcard: '*' }] } }, { n: 5 })).toBe(false);
    expect(matches({ data: { n: [{ wildcard: '*' }] } }, { n: '' })).toBe(true);
  });
});

describe('matchesFilter: $or (guide: "Comparison operators", $or; Event Ruler README: "The $or Primitive")', () => {
  it('matches when any $or branch matches', () => {
    // { "detail": { "$or": [ { "c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ] },
    //   { "d-count": [ { "numeric": [ "<", 10 ] } ] }, { "x-limit": [ { "numeric": [ "=", 3.018e2 ] } ] } ] } }
    const filter = {
      data: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };
    expect(matches(filter, { 'c-count': 50, 'd-count': 50, 'x-limit': 301.8 })).toBe(true);
    expect(matches(filter, { 'c-count': 50, 'd-count': 50, 'x-limit': 1 })).toBe(false);
  });

  it('ANDs $or with the fields beside it: source && (metricName || namespace)', () => {
    // { "source": [ "aws.cloudwatch" ], "$or": [ { "metricName": [ "CPUUtilization", "ReadLatency" ] },
    //   { "namespace": [ "AWS/EC2", "AWS/ES" ] } ] }
    const filter = {
      data: {
        source: ['aws.cloudwatch'],
        $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
      },
    };
    expect(matches(filter, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(matches(filter, { source: 'aws.cloudwatch', metricName: 'ReadLatency' })).toBe(true);
    expect(matches(filter, { source: 'aws.ec2', metricName: 'ReadLatency' })).toBe(false);
    expect(matches(filter, { source: 'aws.cloudwatch', metricName: 'DiskIO' })).toBe(false);
  });

  it('evaluates nested $or inside a branch: source && (metricName || (metricType && namespace && (metricId || spaceId)) || scope)', () => {
    const filter = {
      data: {
        source: ['aws.cloudwatch'],
        $or: [
          { metricName: ['CPUUtilization', 'ReadLatency'] },
          {
            metricType: ['MetricType'],
            namespace: ['AWS/EC2', 'AWS/ES'],
            $or: [{ metricId: [1234] }, { spaceId: [1000] }],
          },
          { scope: ['Service'] },
        ],
      },
    };
    const base = { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' };
    expect(matches(filter, { ...base, spaceId: 1000 })).toBe(true);
    expect(matches(filter, { ...base, metricId: 1234 })).toBe(true);
    expect(matches(filter, { ...base, metricId: 1 })).toBe(false);
    expect(matches(filter, { source: 'aws.cloudwatch', scope: 'Service' })).toBe(true);
  });

  it('runs parallel $or at two levels: (type || data.x) && (data.detail.a || data.detail.b)', () => {
    const filter = {
      $or: [{ type: ['order.paid'] }, { data: { priority: ['high'] } }],
      data: { detail: { $or: [{ a: [1] }, { b: [2] }] } },
    };
    expect(matches(filter, { detail: { b: 2 } }, 'order.paid')).toBe(true);
    expect(matches(filter, { priority: 'high', detail: { a: 1 } }, 'order.created')).toBe(true);
    expect(matches(filter, { priority: 'low', detail: { a: 1 } }, 'order.created')).toBe(false);
    expect(matches(filter, { detail: { c: 3 } }, 'order.paid')).toBe(false);
  });

  it('applies a $or inside an array of objects to each element', () => {
    const filter = { data: { items: { $or: [{ sku: ['A'] }, { qty: [{ numeric: ['>', 10] }] }] } } };
    expect(
      matches(filter, {
        items: [
          { sku: 'B', qty: 1 },
          { sku: 'C', qty: 20 },
        ],
      }),
    ).toBe(true);
    expect(matches(filter, { items: [{ sku: 'B', qty: 1 }] })).toBe(false);
  });
});

describe('matchesFilter: robustness', () => {
  it('matches the type alone with prefix and wildcard matchers', () => {
    expect(matches({ type: [{ prefix: 'order.' }] }, {}, 'order.paid')).toBe(true);
    expect(matches({ type: [{ wildcard: 'order.*.v2' }] }, {}, 'order.paid.v2')).toBe(true);
    expect(matches({ type: [{ prefix: 'order.' }] }, {}, 'shipment.sent')).toBe(false);
  });

  it('ignores fields of the event the filter does not name', () => {
    expect(matches({ data: { status: ['paid'] } }, { status: 'paid', total: 10, lines: [{ a: 1 }] })).toBe(
      true,
    );
  });

  it('does not confuse inherited properties with event fields', () => {
    expect(matches({ data: { constructor: [{ exists: true }] } }, {})).toBe(false);
    expect(matches({ data: { toString: [{ exists: false }] } }, {})).toBe(true);
    // A "__proto__" field cannot be stored with the subscription: refused, not half-matched.
    expect(FilterSchema.safeParse(JSON.parse('{"data": {"__proto__": ["x"]}}')).success).toBe(false);
    expect(
      matchesFilter({ data: { x: ['y'] } }, { type: 't', data: JSON.parse('{"__proto__": {"x": "y"}}') }),
    ).toBe(false);
  });

  it('never throws on deeply nested event data', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(matches({ data: { x: ['leaf'] } }, { x: deep })).toBe(true);
    expect(matches({ data: { x: { y: ['leaf'] } } }, { x: deep })).toBe(false);
  });

  it('never throws on any valid filter against odd data', () => {
    const filter: EventFilter = {
      data: {
        a: [{ numeric: ['>', 0] }, { wildcard: 'x*' }, { 'anything-but': { suffix: ['y'] } }, null],
        b: { c: [{ exists: false }] },
      },
    };
    for (const data of [
      {},
      { a: {} },
      { a: [[], [{}], null] },
      { a: 'x', b: [1, 'two', [null]] },
      { b: { c: [[]] } },
    ]) {
      expect(() => matchesFilter(filter, { type: 't', data })).not.toThrow();
    }
  });
});

describe('FilterSchema', () => {
  it('accepts every matcher form and returns the filter unchanged', () => {
    const filter = {
      type: ['order.paid', { prefix: 'order.' }],
      data: {
        a: ['x', 1, true, null],
        b: [
          { prefix: { 'equals-ignore-case': 'X' } },
          { suffix: 'y' },
          { suffix: { 'equals-ignore-case': 'Y' } },
        ],
        c: [{ 'equals-ignore-case': 'z' }, { wildcard: 'a*b\\*c\\\\' }, { exists: true }],
        d: [{ numeric: ['=', 3] }, { numeric: ['>=', -1, '<', 1] }],
        e: [
          { 'anything-but': 'x' },
          { 'anything-but': 2 },
          { 'anything-but': ['x', 'y'] },
          { 'anything-but': [1, 2] },
          { 'anything-but': { prefix: 'p' } },
          { 'anything-but': { suffix: ['s', 't'] } },
          { 'anything-but': { wildcard: '*x*' } },
          { 'anything-but': { 'equals-ignore-case': ['A', 'B'] } },
        ],
        $or: [{ f: ['1'] }, { g: { h: ['2'] } }],
      },
      $or: [{ type: ['a'] }, { data: { i: [1] } }],
    };
    const parsed = FilterSchema.safeParse(filter);
    expect(parsed.error?.issues).toBeUndefined();
    expect(parsed.data).toEqual(filter);
  });

  it('rejects a filter that is not an object', () => {
    for (const bad of [null, 'x', 5, [{ type: ['a'] }]]) {
      expect(firstIssue(bad)).toEqual({
        path: [],
        message: 'must be an object (an EventBridge event pattern)',
      });
    }
  });

  it('rejects an unknown top-level field, naming it', () => {
    expect(firstIssue({ detail: { state: ['x'] } })).toEqual({
      path: ['detail'],
      message:
        'the filter matches {type, data}: unknown top-level field "detail"; expected type, data or $or',
    });
    expect(firstIssue({ $or: [{ type: ['a'] }, { source: ['b'] }] }).path).toEqual(['$or', 1, 'source']);
  });

  it('rejects data that is not an object of fields', () => {
    expect(firstIssue({ data: ['paid'] }).path).toEqual(['data']);
  });

  it('rejects an empty filter or empty nested object', () => {
    expect(firstIssue({}).path).toEqual([]);
    expect(firstIssue({ data: {} })).toEqual({ path: ['data'], message: 'must name at least one field' });
  });

  it('rejects a field that is not an array of values or matchers', () => {
    expect(firstIssue({ data: { status: 'paid' } })).toEqual({
      path: ['data', 'status'],
      message: 'must be an array of values or matchers, or an object of nested fields',
    });
    expect(firstIssue({ type: 'order.paid' })).toEqual({
      path: ['type'],
      message: 'must be an array of values or matchers',
    });
  });

  it('rejects empty arrays', () => {
    expect(firstIssue({ data: { status: [] } })).toEqual({
      path: ['data', 'status'],
      message: 'must list at least one value or matcher',
    });
    expect(firstIssue({ data: { s: [{ 'anything-but': [] }] } }).path).toEqual([
      'data',
      's',
      0,
      'anything-but',
    ]);
    expect(firstIssue({ data: { s: [{ 'anything-but': { prefix: [] } }] } }).path).toEqual([
      'data',
      's',
      0,
      'anything-but',
      'prefix',
    ]);
  });

  it('rejects an array or object as a value inside a field array', () => {
    expect(firstIssue({ data: { s: [['a']] } }).path).toEqual(['data', 's', 0]);
  });

  it('rejects an unknown matcher, listing the known ones', () => {
    expect(firstIssue({ data: { id: ['x', { prefixx: 'ord_' }] } })).toEqual({
      path: ['data', 'id', 1, 'prefixx'],
      message:
        'unknown matcher "prefixx"; expected one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists',
    });
    expect(firstIssue({ data: { ip: [{ cidr: '10.0.0.0/24' }] } }).message).toMatch(
      /^unknown matcher "cidr"/,
    );
  });

  it('rejects a matcher with more or fewer than one key', () => {
    expect(firstIssue({ data: { id: [{ prefix: 'a', suffix: 'b' }] } }).path).toEqual(['data', 'id', 0]);
    expect(firstIssue({ data: { id: [{}] } }).message).toBe(
      'a matcher has exactly one key, e.g. {"prefix": "ord_"}',
    );
  });

  it('rejects matcher arguments of the wrong type', () => {
    expect(firstIssue({ data: { a: [{ prefix: 5 }] } }).path).toEqual(['data', 'a', 0, 'prefix']);
    expect(firstIssue({ data: { a: [{ suffix: { 'equals-ignore-case': 1 } }] } }).path).toEqual([
      'data',
      'a',
      0,
      'suffix',
    ]);
    expect(firstIssue({ data: { a: [{ 'equals-ignore-case': ['a'] }] } }).message).toBe(
      'equals-ignore-case needs a string',
    );
    expect(firstIssue({ data: { a: [{ exists: 'yes' }] } }).message).toBe('exists needs true or false');
    expect(firstIssue({ data: { a: [{ 'anything-but': true }] } }).path).toEqual([
      'data',
      'a',
      0,
      'anything-but',
    ]);
    expect(firstIssue({ data: { a: [{ 'anything-but': { numeric: ['>', 1] } }] } }).message).toBe(
      'unknown anything-but matcher "numeric"; expected one of prefix, suffix, wildcard, equals-ignore-case',
    );
  });

  it('rejects anything-but lists that mix strings and numbers', () => {
    expect(firstIssue({ data: { a: [{ 'anything-but': ['x', 1] }] } })).toEqual({
      path: ['data', 'a', 0, 'anything-but', 1],
      message: 'anything-but lists only strings or only numbers',
    });
  });

  it('rejects a numeric matcher whose number is missing, pointing at it', () => {
    expect(firstIssue({ data: { price: [{ numeric: ['>', '0'] }] } })).toEqual({
      path: ['data', 'price', 0, 'numeric', 1],
      message: 'numeric needs an operator followed by a number: [">", 0] or [">", 0, "<=", 5]',
    });
    expect(firstIssue({ data: { price: [{ numeric: [0, '>'] }] } }).path).toEqual([
      'data',
      'price',
      0,
      'numeric',
      0,
    ]);
    expect(firstIssue({ data: { price: [{ numeric: ['>', 0, '<'] }] } }).path).toEqual([
      'data',
      'price',
      0,
      'numeric',
    ]);
    expect(firstIssue({ data: { price: [{ numeric: 5 }] } }).path).toEqual(['data', 'price', 0, 'numeric']);
  });

  it('rejects an unknown numeric operator', () => {
    expect(firstIssue({ data: { price: [{ numeric: ['!=', 0] }] } })).toEqual({
      path: ['data', 'price', 0, 'numeric', 0],
      message: 'unknown numeric operator "!="; expected one of =, <, <=, >, >=',
    });
  });

  it('rejects numeric ranges that do not go from a lower to a higher bound', () => {
    expect(firstIssue({ data: { p: [{ numeric: ['<', 5, '>', 0] }] } }).path).toEqual([
      'data',
      'p',
      0,
      'numeric',
      0,
    ]);
    expect(firstIssue({ data: { p: [{ numeric: ['>', 0, '=', 5] }] } }).path).toEqual([
      'data',
      'p',
      0,
      'numeric',
      2,
    ]);
    expect(firstIssue({ data: { p: [{ numeric: ['>', 5, '<=', 5] }] } })).toEqual({
      path: ['data', 'p', 0, 'numeric'],
      message: "a numeric range's lower bound must be below its upper bound",
    });
  });

  it('rejects wildcards with consecutive *, bad escapes or too many *', () => {
    expect(firstIssue({ data: { k: [{ wildcard: 'a**b' }] } })).toEqual({
      path: ['data', 'k', 0, 'wildcard'],
      message: 'wildcard may not hold consecutive * characters',
    });
    expect(firstIssue({ data: { k: [{ wildcard: 'a\\b' }] } }).message).toBe(
      'wildcard may escape only * and \\ with a backslash (\\* or \\\\)',
    );
    expect(firstIssue({ data: { k: [{ wildcard: 'trailing\\' }] } }).path).toEqual([
      'data',
      'k',
      0,
      'wildcard',
    ]);
    const many = `${'a*'.repeat(MAX_FILTER_WILDCARDS)}a`;
    expect(FilterSchema.safeParse({ data: { k: [{ wildcard: many }] } }).success).toBe(true);
    expect(firstIssue({ data: { k: [{ wildcard: `${many}*` }] } }).message).toBe(
      `wildcard may hold at most ${MAX_FILTER_WILDCARDS} * characters`,
    );
    expect(firstIssue({ data: { k: [{ 'anything-but': { wildcard: ['ok*', 'x**'] } }] } }).path).toEqual([
      'data',
      'k',
      0,
      'anything-but',
      'wildcard',
      1,
    ]);
  });

  it('rejects a $or that is not an array of 2 to 10 objects', () => {
    const branch = { a: ['x'] };
    expect(firstIssue({ data: { $or: [branch] } })).toEqual({
      path: ['data', '$or'],
      message: `$or must be an array of 2 to ${MAX_FILTER_OR_BRANCHES} patterns`,
    });
    expect(firstIssue({ data: { $or: branch } }).path).toEqual(['data', '$or']);
    const ten = Array.from({ length: MAX_FILTER_OR_BRANCHES }, (_, i) => ({ [`f${i}`]: [i] }));
    expect(FilterSchema.safeParse({ data: { $or: ten } }).success).toBe(true);
    expect(firstIssue({ data: { $or: [...ten, branch] } }).path).toEqual(['data', '$or']);
    expect(firstIssue({ data: { $or: [branch, ['x']] } }).path).toEqual(['data', '$or', 1]);
    expect(firstIssue({ data: { $or: [branch, { b: [{ prefix: 1 }] }] } }).path).toEqual([
      'data',
      '$or',
      1,
      'b',
      0,
      'prefix',
    ]);
  });

  it(`rejects a filter over ${MAX_FILTER_BYTES} bytes as JSON`, () => {
    const ok = { data: { s: ['x'.repeat(MAX_FILTER_BYTES - JSON.stringify({ data: { s: [''] } }).length)] } };
    expect(Buffer.byteLength(JSON.stringify(ok))).toBe(MAX_FILTER_BYTES);
    expect(FilterSchema.safeParse(ok).success).toBe(true);
    // Counted in UTF-8 bytes: two-byte characters reach the bound with half as many characters.
    const tooBig = { data: { s: ['é'.repeat(MAX_FILTER_BYTES / 2)] } };
    expect(firstIssue(tooBig)).toEqual({
      path: [],
      message: `must be at most ${MAX_FILTER_BYTES} bytes as JSON`,
    });
  });

  it(`rejects nesting deeper than ${MAX_FILTER_DEPTH} levels of objects`, () => {
    const nest = (levels: number): Record<string, unknown> => {
      let pattern: Record<string, unknown> = { leaf: ['x'] };
      for (let i = 0; i < levels; i++) pattern = { n: pattern };
      return { data: pattern };
    };
    // The filter is level 1 and data level 2: data may nest MAX_FILTER_DEPTH - 2 more objects.
    expect(FilterSchema.safeParse(nest(MAX_FILTER_DEPTH - 2)).success).toBe(true);
    const issue = firstIssue(nest(MAX_FILTER_DEPTH - 1));
    expect(issue.message).toBe(`nests deeper than ${MAX_FILTER_DEPTH} levels of objects`);
    expect(issue.path).toEqual(['data', ...Array(MAX_FILTER_DEPTH - 1).fill('n')]);
  });

  it('counts $or branches as a level of nesting', () => {
    let pattern: Record<string, unknown> = { leaf: ['x'] };
    for (let i = 0; i < MAX_FILTER_DEPTH; i++) pattern = { $or: [pattern, { other: [i] }] };
    expect(firstIssue({ data: pattern }).message).toBe(
      `nests deeper than ${MAX_FILTER_DEPTH} levels of objects`,
    );
  });

  it(`rejects more than ${MAX_FILTER_VALUES} values and matchers in total`, () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(
      FilterSchema.safeParse({ data: { a: values(200), b: [{ 'anything-but': values(100) }] } }).success,
    ).toBe(true);
    expect(firstIssue({ data: { a: values(200), b: [{ 'anything-but': values(101) }] } })).toEqual({
      path: [],
      message: `must hold at most ${MAX_FILTER_VALUES} values and matchers in total (has ${MAX_FILTER_VALUES + 1})`,
    });
  });

  it('reports the path under the field that holds the filter', () => {
    const Subscription = z.object({ filter: z.optional(FilterSchema) });
    const parsed = Subscription.safeParse({ filter: { data: { price: [{ numeric: ['>', 'x'] }] } } });
    expect(parsed.error?.issues[0]?.path).toEqual(['filter', 'data', 'price', 0, 'numeric', 1]);
    expect(Subscription.safeParse({}).success).toBe(true);
  });
});
