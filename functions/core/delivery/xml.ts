/**
 * The `xml` payload format: the JSON body `{type, timestamp, data}` as an XML 1.0 document.
 *
 * The document is `<?xml version="1.0" encoding="UTF-8"?>` and a root `<webhook>` holding
 * `<type>`, `<timestamp>` and `<data>` (the event's data object), in that order, with no
 * whitespace between elements: receivers verify the signature over these exact bytes, and the
 * same event always gives the same bytes. The attributes follow the convention of Rails'
 * `Hash#to_xml` (`type="…"`, `nil="true"`), with one `number` type, as JSON has.
 *
 * | JSON value at key `k`            | XML                                                   |
 * | -------------------------------- | ----------------------------------------------------- |
 * | `"text"`                         | `<k>text</k>`                                         |
 * | `""`                             | `<k/>`                                                |
 * | `-1.5e-7`                        | `<k type="number">-1.5e-7</k>` (the text JSON writes) |
 * | `true` / `false`                 | `<k type="boolean">true</k>`                          |
 * | `null`                           | `<k nil="true"/>`                                     |
 * | `{"a": 1, "b": "x"}`             | `<k><a type="number">1</a><b>x</b></k>` (key order)   |
 * | `{}`                             | `<k type="object"/>`                                  |
 * | `[1, [true]]`                    | `<k type="array"><item type="number">1</item><item type="array"><item type="boolean">true</item></item></k>` |
 * | `[]`                             | `<k type="array"/>`                                   |
 * | key that is not an XML name      | `<entry key="2nd">…</entry>` instead of `<2nd>…</2nd>` |
 *
 * - A key is used as the element's name when it is an XML NCName (letters, digits, `_`, `-`,
 *   `.`, not starting with a digit, `-` or `.`, no `:`) of Basic Multilingual Plane characters,
 *   and does not start with `xml` in any case. Any other key (`2nd`, `a b`, `xmlns`, `""`, `a:b`)
 *   becomes `<entry key="…">`. A key named `entry` or `item` is an ordinary element: `entry`
 *   without a `key` attribute is the key `entry`, and array elements are the children of an
 *   element with `type="array"`.
 * - Text and attributes escape `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;`; attributes also `"` as
 *   `&quot;`, and tab, line feed and carriage return as `&#9;`, `&#10;`, `&#13;` (a parser would
 *   turn them into spaces); text escapes carriage return as `&#13;` (a parser would turn CR LF
 *   into LF). Everything else, including non-ASCII, is written as UTF-8.
 * - Lossy: characters XML 1.0 does not allow (control characters other than tab, LF and CR, lone
 *   surrogates, U+FFFE and U+FFFF) are replaced by U+FFFD, in values and in keys.
 * - Values JSON can't hold are treated as `JSON.stringify` treats them: `toJSON` is called, a key
 *   whose value is `undefined`, a function or a symbol is left out (in an array it is `null`),
 *   `NaN` and `±Infinity` are `null`, and a bigint throws a `TypeError`.
 *
 * To read it back: `nil="true"` is `null`; `type="number"` is the number of the text,
 * `type="boolean"` is whether the text is `true`; `type="array"` is the array of its `<item>`
 * children; `type="object"`, or child elements and no `type`, is an object of its children, each
 * keyed by its `key` attribute if it is an `<entry>` that has one, else by its name; anything else
 * is its text, a string.
 */

export const XML_CONTENT_TYPE = 'application/xml';

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** XML 1.0 (fifth edition) NameStartChar without `:` and astral planes, as in a RegExp class. */
const NAME_START_CHARS =
  'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D' +
  '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
/** NameChar: a NameStartChar, or `-`, `.`, a digit, `·`, a combining mark or `‿`/`⁀`. */
const NAME_CHARS = `${NAME_START_CHARS}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
/** An NCName (Namespaces in XML) of Basic Multilingual Plane characters. */
const NCNAME = new RegExp(`^[${NAME_START_CHARS}][${NAME_CHARS}]*$`);

/** `xml`, `XML`, `Xml…`: names reserved by the XML specifications. */
const RESERVED_NAME = /^xml/i;

/** A character XML 1.0 does not allow: not tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD or astral. */
const NOT_XML_CHAR = '[^\\t\\n\\r\\u0020-\\uD7FF\\uE000-\\uFFFD\\u{10000}-\\u{10FFFF}]';
const TEXT_ESCAPES = new RegExp(`[&<>\\r]|${NOT_XML_CHAR}`, 'gu');
const ATTRIBUTE_ESCAPES = new RegExp(`[&<>"\\t\\n\\r]|${NOT_XML_CHAR}`, 'gu');

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

const escapeChar = (c: string): string => ESCAPES[c] ?? '\uFFFD';

function escapeText(s: string): string {
  return s.replace(TEXT_ESCAPES, escapeChar);
}

function escapeAttribute(s: string): string {
  return s.replace(ATTRIBUTE_ESCAPES, escapeChar);
}

/** The element a key becomes: its name and opening attributes (`entry key="…"` for a non-name). */
function elementFor(key: string): { name: string; attributes: string } {
  if (NCNAME.test(key) && !RESERVED_NAME.test(key)) return { name: key, attributes: '' };
  return { name: 'entry', attributes: ` key="${escapeAttribute(key)}"` };
}

/** What `JSON.stringify` would write for `value` under `key`: `undefined` when it leaves it out. */
function jsonValue(value: unknown, key: string): unknown {
  if (
    value !== null &&
    (typeof value === 'object' || typeof value === 'bigint') &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return (value as { toJSON: (key: string) => unknown }).toJSON(key);
  }
  return value;
}

/** Appends `value` as the element `name` (with `attributes`); `value` is already `jsonValue`d. */
function write(out: string[], name: string, attributes: string, value: unknown): void {
  if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    out.push(`<${name}${attributes} nil="true"/>`);
  } else if (typeof value === 'string') {
    out.push(
      value === '' ? `<${name}${attributes}/>` : `<${name}${attributes}>${escapeText(value)}</${name}>`,
    );
  } else if (typeof value === 'number') {
    out.push(
      Number.isFinite(value)
        ? `<${name}${attributes} type="number">${JSON.stringify(value)}</${name}>`
        : `<${name}${attributes} nil="true"/>`,
    );
  } else if (typeof value === 'boolean') {
    out.push(`<${name}${attributes} type="boolean">${value}</${name}>`);
  } else if (typeof value === 'bigint') {
    throw new TypeError('Do not know how to serialize a BigInt');
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(`<${name}${attributes} type="array"/>`);
      return;
    }
    out.push(`<${name}${attributes} type="array">`);
    for (let i = 0; i < value.length; i++) write(out, 'item', '', jsonValue(value[i], String(i)));
    out.push(`</${name}>`);
  } else {
    const start = out.length;
    out.push(`<${name}${attributes}>`);
    let children = 0;
    for (const key of Object.keys(value)) {
      const child = jsonValue((value as Record<string, unknown>)[key], key);
      if (child === undefined || typeof child === 'function' || typeof child === 'symbol') continue;
      const element = elementFor(key);
      write(out, element.name, element.attributes, child);
      children++;
    }
    if (children === 0) out[start] = `<${name}${attributes} type="object"/>`;
    else out.push(`</${name}>`);
  }
}

/** The XML body of an event for a subscription with the `xml` payload format (see the table above). */
export function webhookXml(event: {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}): string {
  const out = [XML_DECLARATION, '<webhook>'];
  write(out, 'type', '', event.type);
  write(out, 'timestamp', '', event.timestamp);
  write(out, 'data', '', jsonValue(event.data, 'data'));
  out.push('</webhook>');
  return out.join('');
}
