import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { logger } from '../commons/logger.ts';
import { EventBatchInputSchema, EventInputSchema } from '../core/event.ts';
import { ingest } from '../core/ingest.ts';
import { METRICS, type RelayMetrics } from '../core/metrics.ts';
import type { Clock, EventBus } from '../core/ports.ts';
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
}

/** `POST /v1/events` and `POST /v1/events/batch` (API Gateway HTTP API, payload v2). */
export function makeIngestHandler(deps: IngestDeps) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const tenant = await requireTenant(deps.auth, event);
      if (event.rawPath.endsWith('/batch')) {
        const { events } = parseBody(event, EventBatchInputSchema);
        const accepted = await ingest(deps, events, tenant);
        deps.metrics?.count(METRICS.eventsIngested, accepted.length);
        logger.info('events accepted', { count: accepted.length });
        return json(202, { ids: accepted.map((e) => e.id) });
      }
      const input = parseBody(event, EventInputSchema);
      const [accepted] = await ingest(deps, [input], tenant);
      deps.metrics?.count(METRICS.eventsIngested);
      logger.info('event accepted', { eventId: accepted?.id, eventType: input.type });
      return json(202, { id: accepted?.id });
    } catch (err) {
      return errorResponse(err);
    } finally {
      deps.metrics?.flush();
    }
  };
}
