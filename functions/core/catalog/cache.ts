import { logger } from '../../commons/logger.ts';
import { badRequest, type ErrorDetail } from '../errors.ts';
import type { EventInput } from '../event.ts';
import type { Clock, EventTypeStore } from '../ports.ts';
import { compileSchema, type DataValidator, MAX_REPORTED_ERRORS } from './validator.ts';

/** The schemas ingest checks `data` with: by event type, for one tenant. */
export interface SchemaCatalog {
  validatorsFor(tenant: string): Promise<ReadonlyMap<string, DataValidator>>;
}

/** How long ingest trusts what it read of a tenant's catalog: a changed schema applies within it. */
export const CATALOG_TTL_MS = 60_000;
/** After a failed refresh, how soon the stale catalog (kept meanwhile) is read again. */
const RETRY_MS = 5_000;
/** Tenants remembered per function instance, at most. */
const MAX_TENANTS = 10_000;

interface Compiled {
  /** The schema as JSON: its version (a delete and re-create may reuse any counter). */
  text: string;
  validate: DataValidator;
}
interface Entry {
  /** When it was read (epoch ms); trusted until `at + ttl`. */
  at: number;
  byType: Map<string, Compiled>;
  /** The same, as handed out. */
  validators: ReadonlyMap<string, DataValidator>;
}

/**
 * A tenant's catalog schemas, read with one Query and kept for `ttlMs` (60 s) per function
 * instance, so ingest reads DynamoDB once a minute per tenant, not per request, as the API key
 * authenticator does. Validators are compiled once per schema version: a refresh that finds a
 * type's schema unchanged keeps its compiled validator.
 */
export class CachedSchemaCatalog implements SchemaCatalog {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();

  constructor(
    private readonly store: Pick<EventTypeStore, 'listEventTypeSchemas'>,
    private readonly clock: Clock,
    private readonly ttlMs = CATALOG_TTL_MS,
  ) {}

  async validatorsFor(tenant: string): Promise<ReadonlyMap<string, DataValidator>> {
    const now = this.clock.now().getTime();
    const hit = this.entries.get(tenant);
    const entry = hit && now - hit.at < this.ttlMs ? hit : await this.refresh(tenant, hit, now);
    return entry.validators;
  }

  /** One read per tenant at a time: concurrent requests share it. */
  private refresh(tenant: string, stale: Entry | undefined, now: number): Promise<Entry> {
    const pending = this.loading.get(tenant);
    if (pending) return pending;
    const load = this.load(tenant, stale, now)
      .catch((err: unknown) => {
        // Storage trouble: keep checking with what was read before rather than refuse every
        // event (or accept unchecked data); without anything read yet, the request fails (5xx).
        if (!stale) throw err;
        logger.warn('could not refresh the event-type catalog; using the last one read', {
          tenant,
          error: err as Error,
        });
        stale.at = now - this.ttlMs + RETRY_MS;
        return stale;
      })
      .finally(() => this.loading.delete(tenant));
    this.loading.set(tenant, load);
    return load;
  }

  private async load(tenant: string, previous: Entry | undefined, now: number): Promise<Entry> {
    const records = await this.store.listEventTypeSchemas(tenant);
    const byType = new Map<string, Compiled>();
    for (const { name, schema } of records) {
      const text = JSON.stringify(schema);
      const known = previous?.byType.get(name);
      byType.set(name, known?.text === text ? known : { text, validate: compileSchema(schema) });
    }
    const validators = new Map([...byType].map(([type, c]) => [type, c.validate]));
    const entry = { at: now, byType, validators };
    if (this.entries.size >= MAX_TENANTS && !this.entries.has(tenant)) this.entries.clear();
    this.entries.set(tenant, entry);
    return entry;
  }
}

/**
 * Refuses the inputs whose `data` does not conform to the catalog schema of their type, with a
 * 400 naming each path (`data.amount`, in a batch `events.3.data.amount`). Types without a schema
 * (or not in the catalog) are not checked.
 */
export async function checkEventData(
  catalog: SchemaCatalog,
  inputs: readonly EventInput[],
  tenant: string,
  batch: boolean,
): Promise<void> {
  const validators = await catalog.validatorsFor(tenant);
  if (validators.size === 0) return;
  const problems: ErrorDetail[] = [];
  let firstType: string | undefined;
  inputs.forEach((input, i) => {
    if (problems.length >= MAX_REPORTED_ERRORS) return;
    const validate = validators.get(input.type);
    if (!validate) return;
    const found = validate(input.data, batch ? `events.${i}.data` : 'data');
    if (found.length) firstType ??= input.type;
    problems.push(...found);
  });
  const [first] = problems;
  if (first) {
    throw badRequest(
      `request body is invalid: ${first.path}: ${first.message} (the catalog schema of event type ${firstType})`,
      problems.slice(0, MAX_REPORTED_ERRORS),
    );
  }
}
