import { ApiError, badRequest, type ErrorDetail, notFound } from '../errors.ts';
import { matchesAny } from '../matching.ts';
import type { Clock, EventTypeStore, Page } from '../ports.ts';
import type { Subscription } from '../subscription.ts';
import {
  type EventType,
  type EventTypeCreate,
  type EventTypePatch,
  type JsonObject,
  MAX_EVENT_TYPES,
} from './event-type.ts';
import { checkSchema } from './schema-check.ts';
import { compileSchema } from './validator.ts';

const invalid = (problems: ErrorDetail[]) => {
  const [first] = problems;
  return badRequest(
    first ? `request body is invalid: ${first.path}: ${first.message}` : 'request body is invalid',
    problems,
  );
};

/**
 * A schema must be one the relay evaluates exactly, and an example must conform to it: a test
 * event sends the example, and ingest would refuse it.
 */
function checkPair(schema: JsonObject | undefined, example: JsonObject | undefined): void {
  if (!schema) return;
  const problems = checkSchema(schema);
  if (problems.length) throw invalid(problems);
  if (example) {
    const mismatches = compileSchema(schema)(example, 'example');
    if (mismatches.length) throw invalid(mismatches);
  }
}

/** A patched field: absent keeps the current value, `null` removes it. */
const merged = <T>(patched: T | null | undefined, current: T | undefined): T | undefined =>
  patched === undefined ? current : (patched ?? undefined);

const changedMeanwhile = (name: string) =>
  new ApiError(
    409,
    'conflict',
    `event type ${name} changed (or was deleted) meanwhile; read it again and retry`,
  );

/**
 * The event-type catalog behind `/v1/event-types`, one tenant at a time. Subscriptions may still
 * name types that are not in it, and ingest accepts them unchecked.
 */
export class EventTypes {
  constructor(private readonly deps: { store: EventTypeStore; clock: Clock }) {}

  async create(tenant: string, input: EventTypeCreate): Promise<EventType> {
    checkPair(input.schema, input.example);
    if ((await this.deps.store.countEventTypes(tenant)) >= MAX_EVENT_TYPES) {
      throw new ApiError(
        409,
        'limit_reached',
        `the catalog holds ${MAX_EVENT_TYPES} event types, its limit; delete one first`,
      );
    }
    const now = this.deps.clock.now().toISOString();
    const eventType: EventType = {
      tenant,
      name: input.name,
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.schema !== undefined ? { schema: input.schema } : {}),
      ...(input.example !== undefined ? { example: input.example } : {}),
      deprecated: input.deprecated ?? false,
      revision: 1,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.deps.store.putEventType(eventType, 'new'))) {
      throw new ApiError(409, 'conflict', `event type ${input.name} already exists; change it with PATCH`);
    }
    return eventType;
  }

  list(tenant: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<EventType>> {
    return this.deps.store.listEventTypes(tenant, page);
  }

  async get(tenant: string, name: string): Promise<EventType> {
    const eventType = await this.deps.store.getEventType(tenant, name);
    if (!eventType) throw notFound('event type', name);
    return eventType;
  }

  /** Changes what the patch names; `null` removes the description, schema or example. */
  async update(tenant: string, name: string, patch: EventTypePatch): Promise<EventType> {
    const current = await this.get(tenant, name);
    const { description: _d, schema: _s, example: _e, ...base } = current;
    const description = merged(patch.description, current.description);
    const schema = merged(patch.schema, current.schema);
    const example = merged(patch.example, current.example);
    const next: EventType = {
      ...base,
      ...(description !== undefined ? { description } : {}),
      ...(schema !== undefined ? { schema } : {}),
      ...(example !== undefined ? { example } : {}),
      ...(patch.deprecated !== undefined ? { deprecated: patch.deprecated } : {}),
      revision: current.revision + 1,
      updatedAt: this.deps.clock.now().toISOString(),
    };
    // The pair as it will be: a new schema must admit the kept example (or the patch replaces it).
    checkPair(next.schema, next.example);
    if (!(await this.deps.store.putEventType(next, { revision: current.revision }))) {
      throw changedMeanwhile(name);
    }
    return next;
  }

  async delete(tenant: string, name: string): Promise<void> {
    if (!(await this.deps.store.deleteEventType(tenant, name))) throw notFound('event type', name);
  }
}

/**
 * What a subscription's test event for `eventType` carries: that type and its catalog example.
 * The type must be one the subscription receives. A type without an example is refused rather
 * than sent with made-up data: a receiver handles a real type as real, and a payload of the wrong
 * shape would test nothing (or do harm), so the user is told what to add instead.
 */
export async function testEventOf(
  store: Pick<EventTypeStore, 'getEventType'>,
  sub: Pick<Subscription, 'id' | 'tenant' | 'eventTypes'>,
  eventType: string,
): Promise<{ type: string; data: JsonObject }> {
  if (!matchesAny(sub.eventTypes, eventType)) {
    const message = `is not a type subscription ${sub.id} receives (its eventTypes: ${sub.eventTypes.join(', ')})`;
    throw badRequest(`request body is invalid: eventType: ${message}`, [{ path: 'eventType', message }]);
  }
  const entry = await store.getEventType(sub.tenant, eventType);
  if (!entry?.example) {
    const message = entry
      ? `event type ${eventType} has no example in the catalog; add one with PATCH /v1/event-types/${eventType}`
      : `event type ${eventType} is not in the catalog; add it with an example with POST /v1/event-types`;
    throw badRequest(message, [{ path: 'eventType', message }]);
  }
  return { type: eventType, data: entry.example };
}
