import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLE_KEYS } from '../functions/adapters/dynamodb/table.ts';

/**
 * The relay on AWS. So far it holds the table the DynamoDB adapter uses, declared from the same
 * key definition that local mode creates in dynalite; the API, bus, queues and functions come
 * with the AWS deployment issue.
 */
export class RelayStack extends Stack {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const key = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, 'Table', {
      partitionKey: key(TABLE_KEYS.partitionKey),
      sortKey: key(TABLE_KEYS.sortKey),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      globalSecondaryIndexes: TABLE_KEYS.indexes.map((i) => ({
        indexName: i.name,
        partitionKey: key(i.partitionKey),
        sortKey: key(i.sortKey),
      })),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
