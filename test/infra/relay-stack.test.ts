import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createTableInput } from '../../functions/adapters/dynamodb/table.ts';
import { RelayStack } from '../../infra/relay-stack.ts';

describe('RelayStack', () => {
  const template = Template.fromStack(new RelayStack(new App(), 'Test'));

  it('declares the table with the keys and indexes local mode creates in dynalite', () => {
    const local = createTableInput('relay');
    const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable')) as Array<{
      Properties: Record<string, unknown>;
    }>;
    if (!table) throw new Error('no table in the template');
    expect(table.Properties.KeySchema).toEqual(local.KeySchema);
    expect(new Set(table.Properties.AttributeDefinitions as unknown[])).toEqual(
      new Set(local.AttributeDefinitions),
    );
    const indexes = (
      table.Properties.GlobalSecondaryIndexes as Array<{ IndexName: string; KeySchema: unknown }>
    ).map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema }));
    expect(indexes).toEqual(
      local.GlobalSecondaryIndexes?.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema })),
    );
  });

  it('bills on demand, keeps point-in-time recovery and expires items by TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      Replicas: [{ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }],
    });
  });
});
