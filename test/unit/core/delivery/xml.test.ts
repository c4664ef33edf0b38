import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { webhookXml, XML_CONTENT_TYPE } from '../../../../functions/core/delivery/xml.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Node = { [name: string]: Node[] } & { ':@'?: Record<string, string>; '#text'?: string };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  // Decodes character references (`&#13;`) too; the document has no other entities.
  htmlEntities: true,
});

/** Any character XML 1.0 does not allow. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NOT_XML_CHARS = new RegExp(NOT_XML_CHAR.source, 'gu');

function nameOf(node: Node): string {
  const names = Object.keys(node).filter((k) => k !== ':@');
  if (names.length !== 1 || names[0] === undefined)
    throw new Error(`not one element: ${JSON.stringify(node)}`);
  return names[0];
}

/** Reads an element back to JSON by the rules at the top of xml.ts, strictly. */
function decode(node: Node): Json {
  const name = nameOf(node);
  const children = node[name] ?? [];
  const attributes = node[':@'] ?? {};
  const text = children
    .filter((c) => '#text' in c)
    .map((c) => c['#text'])
    .join('');
  const elements = children.filter((c) => !('#text' in c));
  if (text !== '' && elements.length > 0) throw new Error(`<${name}> mixes text and elements`);
  if (attributes.nil !== undefined) {
    if (attributes.nil !== 'true' || children.length > 0) throw new Error(`bad nil on <${name}>`);
    return null;
  }
  switch (attributes.type) {
    case 'number':
      if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text)) throw new Error(`bad number "${text}"`);
      return Number(text);
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error(`bad boolean "${text}"`);
      return text === 'true';
    case 'array':
      return elements.map((item) => {
        if (nameOf(item) !== 'item') throw new Error(`<${nameOf(item)}> in an array`);
        return decode(item);
      });
    case 'object':
      if (children.length > 0) throw new Error(`<${name} type="object"> is not empty`);
      return {};
    case undefined:
      return elements.length > 0 ? decodeObject(elements) : text;
    default:
      throw new Error(`unknown type "${attributes.type}"`);
  }
}

function decodeObject(elements: Node[]): Json {
  const object: { [key: string]: Json } = {};
  for (const element of elements) {
    const name = nameOf(element);
    const key = name === 'entry' ? (element[':@']?.key ?? name) : name;
    if (Object.hasOwn(object, key)) throw new Error(`key "${key}" twice`);
    object[key] = decode(element);
  }
  return object;
}

/** Parses a document with fast-xml-parser and reads `{type, timestamp, data}` back from it. */
function parseBack(xml: string): { type: Json; timestamp: Json; data: Json } {
  const roots = parser.parse(xml) as Node[];
  expect(roots.map(nameOf)).toEqual(['webhook']);
  const [root] = roots;
  const parts = (root?.webhook ?? []) as Node[];
  expect(parts.map(nameOf)).toEqual(['type', 'timestamp', 'data']);
  const [type, timestamp, data] = parts.map(decode);
  return { type: type ?? null, timestamp: timestamp ?? null, data: data ?? null };
}

const event = (data: Record<string, unknown>) => ({
  type: 'order.created',
  timestamp: '2026-11-23T10:00:00Z',
  data,
});

/** What a receiver of the JSON body would get. */
const viaJson = (data: unknown) => JSON.parse(JSON.stringify(data)) as Json;

function expectValid(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  // fast-xml-parser does not check characters: do it here.
  expect(xml).not.toMatch(NOT_XML_CHAR);
  expect(Buffer.from(xml, 'utf8').toString('utf8')).toBe(xml);
}

const RICH_SAMPLE = {
  order: {
    id: 'ord_1',
    customer: { name: 'Zoë Ångström', address: { city: '東京', lines: ['1-2-3', ''] } },
    lines: [
      { sku: 'A-1', qty: 2, price: 9.99 },
      { sku: 'B.2', qty: 1, price: 0, tags: [] },
    ],
  },
  matrix: [
    [1, 2],
    [[3], []],
    [[], [[]]],
  ],
  empties: { object: {}, array: [], string: '', nested: [{}, [], '', null] },
  nulls: { one: null, list: [null, null] },
  numbers: [0, -0, 1, -1, 42, -273.15, 1e21, 1.5e-7, -2.5e-300, 5e-324, Number.MAX_SAFE_INTEGER, 0.1],
  flags: { yes: true, no: false, both: [true, false] },
  unicode: 'emoji 😀, combining e\u0301, RTL עברית, BMP edge \uFFFD',
  markup: '<script>alert("x & y")</script> ]]> &amp; \'quoted\'',
  whitespace: '  leading, trailing\tand\nnew\r\nlines  ',
  only_spaces: '   ',
  numeric_text: '007',
  boolean_text: 'true',
  '2nd': 'starts with a digit',
  'a b': 'has a space',
  xmlns: 'reserved prefix',
  XMLthing: 'reserved in any case',
  '': 'empty key',
  'a:b': 'has a colon',
  '-dash': 'starts with a dash',
  'quote"tab\tline\ncr\r<&>': 'awkward key',
  ünï: 'a valid NCName',
  entry: 'a key that is the fallback name',
  item: ['a key that is the array element name'],
  type: 'a key that is an attribute name',
  'dotted.name-with_marks·': 'valid NCName punctuation',
};

describe('webhookXml', () => {
  it('is served as application/xml', () => {
    expect(XML_CONTENT_TYPE).toBe('application/xml');
  });

  it('writes the declaration, the root and the metadata without whitespace between elements', () => {
    expect(webhookXml(event({ id: 'ord_1' }))).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><webhook><type>order.created</type>' +
        '<timestamp>2026-11-23T10:00:00Z</timestamp><data><id>ord_1</id></data></webhook>',
    );
  });

  it('writes each kind of value as the mapping table documents', () => {
    const xml = webhookXml(
      event({
        s: 'text',
        e: '',
        n: -1.5e-7,
        t: true,
        f: false,
        z: null,
        o: { a: 1, b: 'x' },
        eo: {},
        a: [1, [true]],
        ea: [],
        '2nd': 'x',
      }),
    );
    expect(xml).toContain(
      '<data><s>text</s><e/><n type="number">-1.5e-7</n><t type="boolean">true</t>' +
        '<f type="boolean">false</f><z nil="true"/><o><a type="number">1</a><b>x</b></o>' +
        '<eo type="object"/><a type="array"><item type="number">1</item><item type="array">' +
        '<item type="boolean">true</item></item></a><ea type="array"/><entry key="2nd">x</entry></data>',
    );
  });

  it('writes an empty data object as an empty object element', () => {
    expect(webhookXml(event({}))).toContain('<data type="object"/>');
    expect(parseBack(webhookXml(event({}))).data).toEqual({});
  });

  it('produces a valid document that reads back to the same type, timestamp and data', () => {
    const xml = webhookXml(event(RICH_SAMPLE));
    expectValid(xml);
    expect(parseBack(xml)).toEqual({
      type: 'order.created',
      timestamp: '2026-11-23T10:00:00Z',
      data: viaJson(RICH_SAMPLE),
    });
  });

  it('keeps valid NCNames, including non-ASCII ones, as element names and wraps the rest in <entry key>', () => {
    const xml = webhookXml(event(RICH_SAMPLE));
    expect(xml).toContain('<ünï>a valid NCName</ünï>');
    expect(xml).toContain('<dotted.name-with_marks·>');
    expect(xml).toContain('<entry key="2nd">');
    expect(xml).toContain('<entry key="a b">');
    expect(xml).toContain('<entry key="xmlns">');
    expect(xml).toContain('<entry key="XMLthing">');
    expect(xml).toContain('<entry key="">');
    expect(xml).toContain('<entry key="a:b">');
    expect(xml).toContain('<entry key="quote&quot;tab&#9;line&#10;cr&#13;&lt;&amp;&gt;">');
    expect(xml).toContain('<entry>a key that is the fallback name</entry>');
  });

  it('wraps keys with characters outside the Basic Multilingual Plane, which some parsers reject in names', () => {
    const xml = webhookXml(event({ 𝒳: 1 }));
    expectValid(xml);
    expect(xml).toContain('<entry key="𝒳" type="number">1</entry>');
  });

  it('escapes markup in text and carriage returns, which a parser would otherwise normalise', () => {
    const xml = webhookXml(event({ s: '<script>a && b</script>\r\n' }));
    expect(xml).toContain('<s>&lt;script&gt;a &amp;&amp; b&lt;/script&gt;&#13;\n</s>');
    expect(parseBack(xml).data).toEqual({ s: '<script>a && b</script>\r\n' });
  });

  it('replaces characters XML 1.0 forbids with U+FFFD in values and keys, and stays valid', () => {
    const bad = 'a\u0000b\u0008c\u000Bd\u000Ce\u001Ff\uFFFEg\uFFFFh\uD800i\uDC00j';
    const xml = webhookXml(event({ s: bad, list: [bad], 'k\u0001': 1, keep: 'tab\tlf\ncr\r\u007F\u0085' }));
    expectValid(xml);
    const replaced = 'a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFDg\uFFFDh\uFFFDi\uFFFDj';
    expect(parseBack(xml).data).toEqual({
      s: replaced,
      list: [replaced],
      'k\uFFFD': 1,
      keep: 'tab\tlf\ncr\r\u007F\u0085',
    });
  });

  it('treats values JSON cannot hold as JSON.stringify does', () => {
    const data = {
      when: new Date('2026-11-23T10:00:00Z'),
      gone: undefined,
      fn: () => 1,
      sym: Symbol('s'),
      list: [undefined, () => 1, Symbol('s'), Number.NaN],
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      custom: { toJSON: (key: string) => ({ key }) },
      onlyGone: { gone: undefined },
    };
    const xml = webhookXml(event(data));
    expectValid(xml);
    expect(parseBack(xml).data).toEqual(viaJson(data));
  });

  it('throws on a bigint, as JSON.stringify does', () => {
    expect(() => webhookXml(event({ n: 1n }))).toThrow(TypeError);
  });

  it('is deterministic and keeps key order', () => {
    expect(webhookXml(event({ a: 1, b: [2] }))).toBe(webhookXml(event({ a: 1, b: [2] })));
    expect(webhookXml(event({ b: 1, a: 2 }))).toContain('<data><b type="number">1</b><a type="number">2</a>');
  });

  describe('over pseudo-random JSON values', () => {
    const RUNS = 300;

    /** mulberry32: a small seeded generator, so a failure reproduces. */
    function generator(seed: number) {
      let state = seed >>> 0;
      const next = () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const int = (n: number) => Math.floor(next() * n);
      const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
      return { next, int, pick };
    }

    const CHARS = [
      ...'abcxyzABC019 _-.:',
      ...'<>&"\'\t\n\r;#',
      ...'éüß東京עﬀ\u00B7\u0301\u200D\uFFFD😀𝒳',
      '\u0000',
      '\u0007',
      '\u001F',
      '\uFFFE',
      '\uFFFF',
      '\uD800',
      '\uDFFF',
    ];
    const KEYS = [
      'id',
      'name',
      'item',
      'entry',
      'type',
      'nil',
      'key',
      'data',
      '2nd',
      'a b',
      'xml',
      'Xmlns',
      '',
    ];
    const NUMBERS = [0, -0, 1, -1, 0.5, -0.25, 1e21, 1e-7, 123456789.123, -9.87e-300, 5e-324, 2 ** 53];

    function randomValue(g: ReturnType<typeof generator>, depth: number): unknown {
      const kind = g.int(depth >= 4 ? 5 : 8);
      switch (kind) {
        case 0:
          return null;
        case 1:
          return g.next() < 0.5;
        case 2:
          return g.next() < 0.5 ? g.pick(NUMBERS) : (g.next() - 0.5) * 10 ** g.int(30);
        case 3:
        case 4:
          return randomString(g, CHARS);
        case 5:
          return Array.from({ length: g.int(4) }, () => randomValue(g, depth + 1));
        default:
          return randomObject(g, depth + 1);
      }
    }

    function randomString(g: ReturnType<typeof generator>, chars: readonly string[]): string {
      return Array.from({ length: g.int(6) }, () => g.pick(chars)).join('');
    }

    function randomObject(g: ReturnType<typeof generator>, depth: number): Record<string, unknown> {
      const object: Record<string, unknown> = {};
      const keyChars = CHARS.filter((c) => !NOT_XML_CHAR.test(c));
      for (let i = g.int(5); i > 0; i--) {
        const key = g.next() < 0.5 ? g.pick(KEYS) : randomString(g, keyChars);
        object[key] = randomValue(g, depth);
      }
      return object;
    }

    /** The JSON value with forbidden characters replaced, as the document carries it. */
    function expected(value: Json): Json {
      if (typeof value === 'string') return value.replace(NOT_XML_CHARS, '\uFFFD');
      if (Array.isArray(value)) return value.map(expected);
      if (value !== null && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expected(v)]));
      }
      return value;
    }

    it(`always produces a valid UTF-8 document that reads back to the data (${RUNS} values)`, () => {
      const g = generator(0x5eed);
      for (let run = 0; run < RUNS; run++) {
        const data = randomObject(g, 0);
        const xml = webhookXml(event(data));
        try {
          expectValid(xml);
          expect(parseBack(xml).data).toEqual(expected(viaJson(data)));
        } catch (error) {
          throw new Error(`run ${run}: ${JSON.stringify(data)}\n${xml}\n${String(error)}`);
        }
      }
    });
  });
});
