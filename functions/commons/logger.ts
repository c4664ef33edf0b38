import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger of every handler and the local runtime: structured JSON, ids appended as keys.
 * Never pass it secrets or payloads. Level from POWERTOOLS_LOG_LEVEL (or AWS_LAMBDA_LOG_LEVEL).
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'webhook-relay' });
