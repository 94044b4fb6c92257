/**
 * @module
 * The deployment stack: network, secrets, artifacts, ingress, GPU fleet and observability for one set of
 * settings, plus the outputs an operator needs right after `cdktf deploy`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { GPU_INSTANCE_TYPES, isOpenToAll, type Settings } from './config.ts';
import { Artifacts } from './constructs/artifacts.ts';
import { GpuFleet } from './constructs/gpu-fleet.ts';
import { Ingress } from './constructs/ingress.ts';
import { Network } from './constructs/network.ts';
import { HostLogs, Observability } from './constructs/observability.ts';
import { Secrets } from './constructs/secrets.ts';
import { renderHostConfig } from './host/host-config.ts';
import type { HostSettings } from './host/types.ts';
import { renderUserData } from './host/user-data.ts';
import { exposePlaceholder, resourceAttribute } from './terraform-template.ts';

/** Stands for the artifacts bucket name (known only at apply time) in the rendered user data. */
export const BUCKET_PLACEHOLDER = '@EP_BUCKET@';

export interface PerplexityStackProps {
  /** Validated settings (infra/config.ts `parseSettings`). */
  readonly settings: Settings;
  /** Absolute path of the controller bundle (`controller.mjs`) uploaded to the artifacts bucket. */
  readonly controllerBundlePath: string;
  /**
   * Hex sha256 of the bundle; hosts refuse a bundle that does not match.
   * @default - computed from the file
   */
  readonly controllerBundleSha256?: string;
  /**
   * Renders a host's user data.
   * @default - renderUserData from infra/host/user-data.ts
   */
  readonly renderUserData?: (settings: HostSettings) => string;
  /**
   * Renders the controller config a host downloads.
   * @default - renderHostConfig from infra/host/host-config.ts
   */
  readonly renderHostConfig?: (settings: HostSettings) => object;
}

/** One deployment of the ensembled perplexity service. The stack id is the deployment name. */
export class PerplexityStack extends TerraformStack {
  readonly secrets: Secrets;
  readonly artifacts: Artifacts;
  readonly ingress: Ingress;
  readonly fleet: GpuFleet;

  constructor(scope: Construct, props: PerplexityStackProps) {
    const s = props.settings;
    super(scope, s.name);
    const instance = GPU_INSTANCE_TYPES[s.instanceType];

    new AwsProvider(this, 'aws', {
      region: s.region,
      defaultTags: [
        { tags: { Project: 'ensembled-perplexity', Deployment: s.name, ManagedBy: 'cdktf' } },
      ],
    });
    if (!s.backend) {
      // Relative to the stack directory (cdktf.out/stacks/<name>), so the state stays in the repository root and
      // the synthesized configuration does not carry this machine's absolute path (cdktf's default).
      new LocalBackend(this, { path: `../../../terraform.${s.name}.tfstate` });
    } else {
      const backend = new S3Backend(this, {
        bucket: s.backend.bucket,
        key: s.backend.key ?? `${s.name}/terraform.tfstate`,
        region: s.backend.region ?? s.region,
        encrypt: true,
        ...(s.backend.dynamodbTable ? { dynamodbTable: s.backend.dynamodbTable } : {}),
      });
      // cdktf 0.21 has no typed `useLockfile` (hashicorp/terraform-cdk#3834); S3-native locking needs TF >= 1.10.
      if (s.backend.useLockfile ?? s.backend.dynamodbTable === undefined) {
        backend.addOverride('use_lockfile', true);
      }
    }

    const network = new Network(this, 'network', {
      name: s.name,
      region: s.region,
      instanceType: s.instanceType,
      vpcCidr: s.vpcCidr,
      azCount: s.azCount,
    });
    this.secrets = new Secrets(this, 'secrets', { name: s.name, dockerHub: s.dockerHubAuth });
    const logs = new HostLogs(this, 'logs', { name: s.name, retentionDays: s.logRetentionDays });

    const bundleSha256 =
      props.controllerBundleSha256 ??
      createHash('sha256').update(readFileSync(props.controllerBundlePath)).digest('hex');
    const base = {
      deploymentName: s.name,
      region: s.region,
      gpuCount: instance.gpus,
      models: s.models,
      vllmImage: s.vllmImage,
      nodeImage: s.nodeImage,
      bundleSha256,
      hfTokenSecretId: this.secrets.hfTokenSecretId,
      apiKeySecretId: this.secrets.apiKeySecretId,
      logGroupName: logs.logGroupName,
      controllerPort: s.controllerPort,
      minModels: s.minModels,
      watchdogMinutes: s.watchdogMinutes,
      autoScalingGroupName: `${s.name}-hosts`,
      ...(this.secrets.dockerHubSecretId
        ? { dockerHubSecretId: this.secrets.dockerHubSecretId }
        : {}),
    };
    const rendered = (props.renderHostConfig ?? renderHostConfig)({
      ...base,
      bundleS3Uri: `s3://${BUCKET_PLACEHOLDER}/bundle`,
      hostConfigS3Uri: `s3://${BUCKET_PLACEHOLDER}/config`,
    }) as { auth?: object; timeouts?: object };
    // The request deadline ends before the proxy in front gives up (CloudFront's origin timeout, or the ALB's
    // idle timeout if shorter), so a slow request gets the controller's JSON 504 rather than the proxy's page.
    const proxyLimitMs = Math.min(s.albIdleTimeoutSeconds, s.originReadTimeoutSeconds) * 1000;
    const deadlineMs = Math.max(1_000, proxyLimitMs - 2_000);
    // Proxies appending to X-Forwarded-For in front of the controller: CloudFront and the ALB.
    // The failed-auth throttle must key on the client, not on a load balancer node shared by every client.
    const hostConfig = {
      ...rendered,
      timeouts: {
        ...rendered.timeouts,
        requestMs: Math.min(60_000, deadlineMs),
        maxRequestMs: Math.min(600_000, deadlineMs),
      },
      // /metrics shows per-key-id counters and backend state: only for key holders once deployed.
      auth: { ...rendered.auth, trustedProxies: 2, metricsRequireKey: true },
    };
    this.artifacts = new Artifacts(this, 'artifacts', {
      name: s.name,
      controllerBundlePath: props.controllerBundlePath,
      hostConfig,
    });
    const hostSettings: HostSettings = {
      ...base,
      bundleS3Uri: `s3://${BUCKET_PLACEHOLDER}/${this.artifacts.bundleKey}`,
      hostConfigS3Uri: `s3://${BUCKET_PLACEHOLDER}/${this.artifacts.hostConfigKey}`,
      calibrationS3Uri: `s3://${BUCKET_PLACEHOLDER}/${this.artifacts.calibrationKey}`,
    };

    this.ingress = new Ingress(this, 'ingress', {
      name: s.name,
      region: s.region,
      vpcId: network.vpcId,
      vpcCidr: s.vpcCidr,
      privateSubnetIds: network.loadBalancerSubnetIds,
      controllerPort: s.controllerPort,
      domain: s.domain,
      allowedCidrs: isOpenToAll(s) ? ['0.0.0.0/0', '::/0'] : s.allowedCidrs,
      idleTimeoutSeconds: s.albIdleTimeoutSeconds,
      originReadTimeoutSeconds: s.originReadTimeoutSeconds,
    });

    this.fleet = new GpuFleet(this, 'fleet', {
      name: s.name,
      region: s.region,
      instanceType: s.instanceType,
      minHosts: s.minHosts,
      maxHosts: s.maxHosts,
      targetRequestsPerHost: s.targetRequestsPerHost,
      schedule: s.schedule,
      ami: s.ami,
      rootVolumeThroughputMiBps: s.rootVolumeThroughputMiBps,
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      albSecurityGroupId: this.ingress.albSecurityGroup.id,
      targetGroupArn: this.ingress.targetGroup.arn,
      controllerPort: s.controllerPort,
      userData: exposePlaceholder(
        (props.renderUserData ?? renderUserData)(hostSettings),
        BUCKET_PLACEHOLDER,
      ),
      userDataReferences: [
        {
          placeholder: BUCKET_PLACEHOLDER,
          expression: resourceAttribute(this.artifacts.bucket, 'bucket'),
        },
      ],
      readableSecretArns: [
        this.secrets.hfToken.arn,
        this.secrets.apiKeys.arn,
        ...(this.secrets.dockerHub ? [this.secrets.dockerHub.arn] : []),
      ],
      artifactsBucketArn: this.artifacts.bucket.arn,
      artifactsKeyPrefix: this.artifacts.keyPrefix,
      calibrationKeyPrefix: this.artifacts.calibrationKeyPrefix,
      logGroupArn: logs.logGroup.arn,
      rootVolumeGiB: s.rootVolumeGiB,
      healthCheckGraceSeconds: s.healthCheckGraceSeconds,
      instanceRefresh: s.instanceRefresh,
      metadataHopLimit: s.metadataHopLimit,
      // Docker's awslogs driver does not create the log group; the boot script downloads both objects.
      launchAfter: [logs.logGroup, ...this.artifacts.objects],
    });

    const observability = new Observability(this, 'observability', {
      name: s.name,
      region: s.region,
      loadBalancerArnSuffix: this.ingress.loadBalancer.arnSuffix,
      targetGroupArnSuffix: this.ingress.targetGroup.arnSuffix,
      autoScalingGroupName: this.fleet.autoScalingGroup.name,
      alarmTopicArn: s.alarmTopicArn,
    });

    this.outputs(s, observability.dashboardName);
  }

  private outputs(s: Settings, dashboardName: string): void {
    const output = (id: string, value: string, description: string) =>
      new TerraformOutput(this, id, { value, description, staticId: true });
    output('endpoint', this.ingress.endpoint, 'HTTPS base URL of the API');
    output(
      'api_key_secret_id',
      this.secrets.apiKeySecretId,
      'Secrets Manager id of the API key store',
    );
    output(
      'create_first_key_command',
      `npm run keys -- create --store aws:${this.secrets.apiKeySecretId} --region ${s.region} --name first`,
      'Creates the first API key (printed once)',
    );
    output(
      'hf_token_secret_id',
      this.secrets.hfTokenSecretId,
      'Secrets Manager id of the Hugging Face token',
    );
    output(
      'set_hf_token_command',
      `aws secretsmanager put-secret-value --region ${s.region} --secret-id ${this.secrets.hfTokenSecretId} --secret-string "$HF_TOKEN"`,
      'Stores the Hugging Face token (needed for gated models such as Llama-2) before hosts download models',
    );
    output(
      'artifacts_bucket',
      this.artifacts.bucket.bucket,
      'Bucket holding the controller bundle, the host config and the calibration (calibration_s3_uri)',
    );
    output(
      'calibration_s3_uri',
      `s3://${this.artifacts.bucket.bucket}/${this.artifacts.calibrationKey}`,
      'The deployment calibration file: made by the first healthy host; replace it to re-calibrate (hosts load it within two minutes)',
    );
    output(
      'autoscaling_group',
      this.fleet.autoScalingGroup.name,
      'Auto Scaling group of the GPU hosts',
    );
    output(
      'dashboard_url',
      `https://${s.region}.console.aws.amazon.com/cloudwatch/home?region=${s.region}#dashboards/dashboard/${dashboardName}`,
      'CloudWatch dashboard',
    );
  }
}
