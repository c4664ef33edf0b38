import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE } from '../../functions/core/metrics.ts';
import { ENTRIES } from '../../infra/bundling.ts';
import { RelayFunction, type RelayFunctionProps } from '../../infra/constructs/relay-function.ts';

// Template tests skip esbuild (the bundle report builds the real bundles).
const synth = (props: Partial<RelayFunctionProps> = {}) => {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Fn');
  new RelayFunction(stack, 'Fn', { entry: ENTRIES.api, ...props });
  return Template.fromStack(stack);
};

describe('RelayFunction', () => {
  it('names the Powertools service relay by default and sets the metrics namespace', () => {
    synth().hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'relay',
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        }),
      },
    });
  });

  it('takes the service name from serviceName, and lets explicit environment win', () => {
    synth({ serviceName: 'staging' }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'staging' }) },
    });
    synth({
      serviceName: 'staging',
      environment: { POWERTOOLS_SERVICE_NAME: 'custom' },
    }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'custom' }) },
    });
  });

  it('applies logRetention to its own log group rather than handing it to Lambda', () => {
    const template = synth({ logRetention: RetentionDays.ONE_WEEK });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    expect(Object.keys(template.findResources('Custom::LogRetention'))).toEqual([]);
  });
});
