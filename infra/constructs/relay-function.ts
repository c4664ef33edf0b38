import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { BUNDLING } from '../bundling.ts';

export interface RelayFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture'> {
  /** Path of the entry module, e.g. `functions/lambda/ingest.ts`. */
  readonly entry: string;
  /** @default one month */
  readonly logRetention?: RetentionDays;
}

/**
 * The relay's Lambda defaults in one place: Node 24 on arm64 (cheaper per GB-s), an ESM bundle
 * built by the local esbuild (minified, with source maps), an explicit log group with retention,
 * and JSON logs. Bundling settings live in ../bundling.ts, shared with the bundle report.
 */
export class RelayFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      memorySize: 256,
      timeout: Duration.seconds(30),
      ...props,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'webhook-relay',
        ...props.environment,
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
        ...props.bundling,
      },
    });
  }
}
