import { EmfMetrics } from '../adapters/aws/emf-metrics.ts';

/** One EMF metrics buffer per Lambda container, flushed by the handler after each invocation. */
export const metrics = new EmfMetrics();
