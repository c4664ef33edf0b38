import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { logger } from '../commons/logger.ts';
import type { SchemaCatalog } from '../core/catalog/cache.ts';
import { EventBatchInputSchema, EventInputSchema } from '../core/event.ts';
import { ingest } from '../core/ingest.ts';
import { METRICS, type RelayMetrics } from '../core/metrics.ts';
import type { Clock, EventBus, EventLedger } from '../core/ports.ts';
import {
  type Authenticator,
  errorResponse,
  type HttpResult,
  json,
  parseBody,
  requireTenant,
} from './http.ts';

export interface IngestDeps {
  bus: EventBus;
  clock: Clock;
  auth: Authenticator;
  metrics?: RelayMetrics;
  /** Duplicate check of producer-chosen event ids (24 h). */
  ledger?: EventLedger;
  /** The event-type catalog's schemas, cached: `data` that does not conform is refused (400). */
  catalog?: SchemaCatalog;
}

/** `POST /v1/events` and `POST /v1/events/batch` (API Gateway HTTP API, payload v2). */
export function makeIngestHandler(deps: IngestDeps) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const tenant = await requireTenant(deps.auth, event);
      if (event.rawPath.endsWith('/batch')) {
        const { events } = parseBody(event, EventBatchInputSchema);
        const result = await ingest(deps, events, tenant, true);
        deps.metrics?.count(METRICS.eventsIngested, result.published.length);
        logger.info('events accepted', { count: result.published.length, duplicates: result.duplicates });
        // 200 when nothing was new: the producer is retrying a batch that already went through.
        const status = result.published.length === 0 ? 200 : 202;
        return json(status, { ids: result.ids, duplicates: result.duplicates });
      }
      const input = parseBody(event, EventInputSchema);
      const result = await ingest(deps, [input], tenant);
      const [id] = result.ids;
      if (result.duplicates > 0) {
        logger.info('duplicate event id; already accepted', { eventId: id });
        return json(200, { id, duplicate: true });
      }
      deps.metrics?.count(METRICS.eventsIngested);
      logger.info('event accepted', { eventId: id, eventType: input.type });
      return json(202, { id });
    } catch (err) {
      return errorResponse(err);
    } finally {
      deps.metrics?.flush();
    }
  };
}
