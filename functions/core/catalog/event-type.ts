import * as z from 'zod/mini';
import { ProducerEventTypeSchema } from '../event.ts';
import '../zod.ts';

/** A JSON value that is an object (`{...}`): what a schema and an example are. */
export type JsonObject = Record<string, unknown>;

/**
 * An entry of a tenant's event-type catalog: what producers may say about `data` of events of
 * this type (a JSON Schema, draft 2020-12, enforced at ingest) and an example `data` (sent by a
 * subscription's test event).
 */
export interface EventType {
  tenant: string;
  /** The event type itself, `order.created`. */
  name: string;
  description?: string;
  /** A JSON Schema for `data`; checked at create and update (schema.ts). */
  schema?: JsonObject;
  /** An example `data`; conforms to `schema` when there is one. */
  example?: JsonObject;
  deprecated: boolean;
  /** Counts the writes: what an update is conditional on and what ingest compiles once per. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** A schema or an example over this, as JSON, is refused: ingest caches every schema of a tenant. */
export const MAX_SCHEMA_BYTES = 16 * 1024;
export const MAX_EXAMPLE_BYTES = 16 * 1024;
/** Event types one tenant may keep in its catalog. */
export const MAX_EVENT_TYPES = 500;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

const DescriptionSchema = z.string().check(z.maxLength(1000, 'must be at most 1000 characters'));

const JsonObjectSchema = (what: string, maxBytes: number) =>
  z
    .record(z.string(), z.unknown(), { error: `must be a JSON object (${what})` })
    .check(z.refine((v) => jsonBytes(v) <= maxBytes, `must be at most ${maxBytes} bytes as JSON (${what})`));

const SchemaFieldSchema = JsonObjectSchema('a JSON Schema, draft 2020-12', MAX_SCHEMA_BYTES);
const ExampleFieldSchema = JsonObjectSchema('an example of data', MAX_EXAMPLE_BYTES);

/** `POST /v1/event-types` body. */
export const EventTypeCreateSchema = z.strictObject({
  name: ProducerEventTypeSchema,
  description: z.optional(DescriptionSchema),
  schema: z.optional(SchemaFieldSchema),
  example: z.optional(ExampleFieldSchema),
  deprecated: z.optional(z.boolean()),
});
export type EventTypeCreate = z.infer<typeof EventTypeCreateSchema>;

/** `PATCH /v1/event-types/{name}` body: `null` removes the description, schema or example. */
export const EventTypePatchSchema = z
  .strictObject({
    description: z.optional(z.nullable(DescriptionSchema)),
    schema: z.optional(z.nullable(SchemaFieldSchema)),
    example: z.optional(z.nullable(ExampleFieldSchema)),
    deprecated: z.optional(z.boolean()),
  })
  .check(
    z.refine(
      (p) => Object.keys(p).length > 0,
      'must set at least one of description, schema, example, deprecated',
    ),
  );
export type EventTypePatch = z.infer<typeof EventTypePatchSchema>;

/** `POST /v1/subscriptions/{id}/test` body (optional): the type whose catalog example to send. */
export const TestEventSchema = z.strictObject({ eventType: z.optional(ProducerEventTypeSchema) });

export type PublicEventType = Omit<EventType, 'tenant' | 'revision'>;

/** An event type as the API shows it. */
export const toPublicEventType = ({ tenant: _t, revision: _r, ...rest }: EventType): PublicEventType => rest;
