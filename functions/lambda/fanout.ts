import { makeFanoutHandler } from '../handlers/fanout.ts';
import { dynamoStore, ordered, taskQueue } from './clients.ts';

/** Lambda entry: fanout queue (SQS event source) -> delivery tasks. Wiring only. */
export const handler = makeFanoutHandler({ store: dynamoStore(), tasks: taskQueue(), ordered: ordered() });
