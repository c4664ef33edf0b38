import { App } from 'aws-cdk-lib';
import { RelayStack } from './relay-stack.ts';

/**
 * The CDK app (`npm run synth`). Environment-agnostic and free of context lookups, so it
 * synthesizes offline without credentials.
 */
const app = new App();
new RelayStack(app, 'WebhookRelay', {
  description: 'Serverless webhook relay: ingest, fan-out and signed delivery with retries and DLQs',
});
app.synth();
