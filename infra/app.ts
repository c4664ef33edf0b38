import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context.ts';
import { RelayStack } from './relay-stack.ts';

/**
 * The CDK app (`npm run synth`, `npm run deploy`). Environment-agnostic and free of context
 * lookups, so it synthesizes offline without credentials. Settings come from context (checked in
 * ./context.ts): -c stage=relay  -c retrySchedule=5,300,1800  -c deliveryConcurrency=20
 * -c orderedConcurrency=20
 * -c batchingWindowSeconds=1
 * -c alarmEmail=ops@example.com  -c fanoutQueueAgeAlarmSeconds=300
 * -c deliveryQueueAgeAlarmSeconds=1200  -c failureRateAlarmPercent=25
 */
const app = new App();
const props = stackPropsFromContext((key) => app.node.tryGetContext(key));
const stage = props.stageName;
new RelayStack(app, stage === 'relay' ? 'WebhookRelay' : `WebhookRelay-${stage}`, {
  description: 'Serverless webhook relay: ingest, fan-out and signed delivery with retries and DLQs',
  ...props,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
