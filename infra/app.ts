import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RelayStack } from './relay-stack.ts';

/**
 * The CDK app (`npm run synth`, `npm run deploy`). Environment-agnostic and free of context
 * lookups, so it synthesizes offline without credentials. Settings come from context:
 *   -c stage=relay  -c retrySchedule=5,300,1800  -c deliveryConcurrency=20
 */
const app = new App();
const ctx = (name: string): string | undefined => app.node.tryGetContext(name);
const stage = ctx('stage') ?? 'relay';
new RelayStack(app, stage === 'relay' ? 'WebhookRelay' : `WebhookRelay-${stage}`, {
  description: 'Serverless webhook relay: ingest, fan-out and signed delivery with retries and DLQs',
  stageName: stage,
  ...(ctx('retrySchedule') ? { retrySchedule: ctx('retrySchedule') } : {}),
  ...(ctx('deliveryConcurrency') ? { deliveryConcurrency: Number(ctx('deliveryConcurrency')) } : {}),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
