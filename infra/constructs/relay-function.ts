import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../functions/core/metrics.ts';
import { BUNDLING } from '../bundling.ts';

export interface RelayFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture'> {
  /** Path of the entry module, e.g. `functions/lambda/ingest.ts`. */
  readonly entry: string;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * POWERTOOLS_SERVICE_NAME: the `service` dimension of the relay's metrics and the `service` key
   * of its logs. The stack passes the stage, so the dashboard and alarms of each stage read only
   * that stage's metrics.
   * @default 'relay'
   */
  readonly serviceName?: string;
}

/**
 * The relay's Lambda defaults in one place: Node 24 on arm64 (cheaper per GB-s), an ESM bundle
 * built by the local esbuild (minified, with source maps), an explicit log group with retention,
 * JSON logs, and the Powertools settings of the metrics contract (namespace `WebhookRelay`,
 * dimension `service`). Bundling settings live in ../bundling.ts, shared with the bundle report.
 */
export class RelayFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    // logRetention is ours (it sizes the log group below); passed on, Lambda would refuse it next
    // to logGroup. serviceName is ours too.
    const { logRetention, serviceName, environment, bundling, ...functionProps } = props;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      memorySize: 256,
      timeout: Duration.seconds(30),
      ...functionProps,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: serviceName ?? 'relay',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        sourcesContent: false,
        mainFields: [...BUNDLING.mainFields],
        externalModules: [...BUNDLING.external],
        banner: BUNDLING.banner,
        ...bundling,
      },
    });
  }
}
