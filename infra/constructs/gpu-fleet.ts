/**
 * @module
 * GPU fleet: an Auto Scaling group of identical GPU hosts, each a full replica of every model, registered with the
 * ALB target group. Launch template: Deep Learning AMI (Base OSS NVIDIA driver, Ubuntu 24.04) from its public SSM
 * parameter, IMDSv2 only, encrypted gp3 root, no key pair (Session Manager instead of SSH), and an instance role
 * that may read only this deployment's secrets and artifacts prefix and write only its log group.
 */
import { gzipSync } from 'node:zlib';
import { Fn, TerraformLocal, Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group/index.js';
import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami/index.js';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter/index.js';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile/index.js';
import { AutoscalingPolicy } from '@cdktf/provider-aws/lib/autoscaling-policy/index.js';
import { AutoscalingSchedule } from '@cdktf/provider-aws/lib/autoscaling-schedule/index.js';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import { terraformTemplate, type TemplateReference } from '../terraform-template.ts';

import { DLAMI_SSM_PARAMETER } from '../config.ts';
import { HOST_METRICS_NAMESPACE } from '../host/user-data.ts';

export { DLAMI_SSM_PARAMETER };

/** CloudWatch namespace of the metrics the hosts publish (watchdog, model availability). */
export { HOST_METRICS_NAMESPACE };
/** Per-host vLLM requests running or waiting: the target tracking metric. */
export const BACKEND_REQUESTS_METRIC = 'BackendRequests';

/**
 * What Session Manager needs on the instance (the agent's registration and its message channels), instead of
 * AmazonSSMManagedInstanceCore, which also grants `ssm:GetParameter*` on every parameter of the account.
 * None of these actions supports resource-level permissions.
 */
export const SESSION_MANAGER_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
] as const;

/** A scheduled change of the group's size. */
export interface FleetSchedule {
  readonly name: string;
  /** Cron expression in `timeZone`. */
  readonly recurrence: string;
  readonly timeZone: string;
  readonly minHosts: number;
  readonly maxHosts: number;
  readonly desiredHosts?: number;
}

/** EC2 accepts at most 16 KB of user data (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export interface GpuFleetProps {
  /** Prefix of resource names. */
  readonly name: string;
  /** Region: part of the IAM role and instance profile names, which are global to the account. */
  readonly region: string;
  readonly instanceType: string;
  /** Fewest hosts in the group (also the size at creation). */
  readonly minHosts: number;
  /** Most hosts target tracking may add; above `minHosts` turns on target tracking. */
  readonly maxHosts: number;
  /**
   * Target tracking goal: vLLM requests running or waiting per host (metric {@link BACKEND_REQUESTS_METRIC}).
   * @default 64
   */
  readonly targetRequestsPerHost?: number;
  /**
   * Scheduled size changes.
   * @default - none
   */
  readonly schedule?: readonly FleetSchedule[];
  readonly vpcId: string;
  /** Private subnets in zones that offer `instanceType`. */
  readonly subnetIds: string[];
  /** The ALB's security group: the only source allowed to reach the hosts. */
  readonly albSecurityGroupId: string;
  /** Target group the hosts register with. */
  readonly targetGroupArn: string;
  /** Port the controller listens on. */
  readonly controllerPort: number;
  /** Rendered user data (cloud-init), possibly with placeholders listed in `userDataReferences`. */
  readonly userData: string;
  /**
   * Placeholders in `userData` that Terraform fills in at apply time.
   * @default - none: the user data is used as is
   */
  readonly userDataReferences?: readonly TemplateReference[];
  /** Secrets the hosts may read (ARNs). */
  readonly readableSecretArns: string[];
  /** Artifacts bucket ARN. */
  readonly artifactsBucketArn: string;
  /** Key prefix in the artifacts bucket the hosts may read (no trailing slash). */
  readonly artifactsKeyPrefix: string;
  /**
   * Key prefix in the artifacts bucket the hosts may write (no trailing slash): the deployment's calibration
   * file, uploaded by the first host that makes it.
   */
  readonly calibrationKeyPrefix: string;
  /** ARN of the log group the hosts write to (as the provider reports it, without `:*`). */
  readonly logGroupArn: string;
  /**
   * Root volume size: docker images (vLLM ~20 GB unpacked) and, on instances without NVMe, the model cache.
   * @default 200
   */
  readonly rootVolumeGiB?: number;
  /**
   * gp3 throughput of the root volume (Docker's image store; extraction of the vLLM image is bound by it).
   * @default 500
   */
  readonly rootVolumeThroughputMiBps?: number;
  /**
   * Launch-to-ready time of a host (infra/boot-timeline.ts): the EC2 health grace period and the scaling warm-up.
   * @default 1800
   */
  readonly healthCheckGraceSeconds?: number;
  /**
   * IMDSv2 hop limit. 1 lets only host processes (the controller runs on the host network, Docker's awslogs
   * driver is dockerd) use the instance role; vLLM containers on the bridge network cannot. Use 2 if a bridge
   * container must call AWS.
   * @default 1
   */
  readonly metadataHopLimit?: number;
  /**
   * Replace hosts (launch before terminate) when the launch template changes; needs quota for one extra host.
   * @default false
   */
  readonly instanceRefresh?: boolean;
  /**
   * Resources that must exist before any host launches (its log group, the objects it downloads at boot).
   * @default - none
   */
  readonly launchAfter?: ITerraformDependable[];
  /**
   * The host image: an AMI id, or an SSM parameter path holding one. A parameter is read on every deploy, but
   * the launch template ignores later values, so a redeploy never silently changes the NVIDIA driver.
   * @default DLAMI_SSM_PARAMETER
   */
  readonly ami?: string;
}

/** Security group, IAM role, launch template and Auto Scaling group of the GPU hosts. */
export class GpuFleet extends Construct {
  readonly securityGroup: SecurityGroup;
  readonly role: IamRole;
  readonly launchTemplate: LaunchTemplate;
  readonly autoScalingGroup: AutoscalingGroup;

  constructor(scope: Construct, id: string, props: GpuFleetProps) {
    super(scope, id);
    const rootVolumeGiB = props.rootVolumeGiB ?? 200;
    const references = props.userDataReferences ?? [];
    // Placeholders stand for names up to 63 characters (S3 bucket names); count them at that length.
    const worstCase = references.reduce(
      (text, r) => text.split(r.placeholder).join('x'.repeat(63)),
      props.userData,
    );
    // Sent gzip-compressed (cloud-init unpacks it): EC2's limit applies to the compressed bytes.
    const userDataBytes = gzipSync(worstCase, { level: 9 }).length;
    if (userDataBytes > USER_DATA_LIMIT_BYTES) {
      throw new Error(
        `user data is ${userDataBytes} bytes but EC2 accepts at most ${USER_DATA_LIMIT_BYTES}; ` +
          'move content into the artifacts bucket',
      );
    }

    // --- network access: from the ALB on the controller port only; out to HTTPS/HTTP only. ---
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: `${props.name}-hosts`,
      description: `GPU hosts of ${props.name}: controller port from the ALB only`,
      vpcId: props.vpcId,
      tags: { Name: `${props.name}-hosts` },
    });
    new VpcSecurityGroupIngressRule(this, 'in-from-alb', {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: props.albSecurityGroupId,
      ipProtocol: 'tcp',
      fromPort: props.controllerPort,
      toPort: props.controllerPort,
      description: 'controller, from the load balancer',
    });
    new VpcSecurityGroupEgressRule(this, 'alb-out-to-hosts', {
      securityGroupId: props.albSecurityGroupId,
      referencedSecurityGroupId: this.securityGroup.id,
      ipProtocol: 'tcp',
      fromPort: props.controllerPort,
      toPort: props.controllerPort,
      description: 'load balancer to the controllers',
    });
    // Hugging Face, Docker Hub, AWS APIs (SSM, Secrets Manager, S3, CloudWatch) are HTTPS; Ubuntu mirrors HTTP.
    // DNS and NTP go to the VPC resolver and the Amazon Time Sync Service, which security groups do not filter.
    for (const port of [443, 80]) {
      new VpcSecurityGroupEgressRule(this, `out-${port}`, {
        securityGroupId: this.securityGroup.id,
        cidrIpv4: '0.0.0.0/0',
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        description:
          port === 443 ? 'HTTPS egress (via NAT)' : 'HTTP egress for package mirrors (via NAT)',
      });
    }

    // --- identity: least privilege ---
    const partition = new DataAwsPartition(this, 'partition');
    const account = new DataAwsCallerIdentity(this, 'account');
    const groupName = `${props.name}-hosts`;
    const assume = new DataAwsIamPolicyDocument(this, 'assume', {
      statement: [
        {
          effect: 'Allow',
          actions: ['sts:AssumeRole'],
          principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }],
        },
      ],
    });
    // IAM names are global to the account: the region keeps two deployments of one name apart.
    this.role = new IamRole(this, 'role', {
      name: `${props.name}-host-${props.region}`,
      assumeRolePolicy: assume.json,
      forceDetachPolicies: true,
    });
    const access = new DataAwsIamPolicyDocument(this, 'access', {
      statement: [
        {
          sid: 'ReadDeploymentSecrets',
          effect: 'Allow',
          actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          resources: props.readableSecretArns,
        },
        {
          sid: 'ReadArtifacts',
          effect: 'Allow',
          actions: ['s3:GetObject'],
          resources: [`${props.artifactsBucketArn}/${props.artifactsKeyPrefix}/*`],
        },
        {
          // The calibration file the first healthy host makes (ep-calibration-sync.sh); nothing else is writable.
          sid: 'WriteCalibration',
          effect: 'Allow',
          actions: ['s3:PutObject'],
          resources: [`${props.artifactsBucketArn}/${props.calibrationKeyPrefix}/*`],
        },
        {
          sid: 'ListArtifacts',
          effect: 'Allow',
          actions: ['s3:ListBucket'],
          resources: [props.artifactsBucketArn],
          condition: [
            {
              test: 'StringLike',
              variable: 's3:prefix',
              values: [`${props.artifactsKeyPrefix}/*`],
            },
          ],
        },
        {
          // The watchdog: mark this host unhealthy after sustained failure, protect it from scale-in while it works.
          sid: 'ManageOwnGroup',
          effect: 'Allow',
          actions: ['autoscaling:SetInstanceHealth', 'autoscaling:SetInstanceProtection'],
          resources: [
            `arn:${partition.partition}:autoscaling:${props.region}:${account.accountId}:autoScalingGroup:*:autoScalingGroupName/${groupName}`,
          ],
        },
        {
          sid: 'PublishHostMetrics',
          effect: 'Allow',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          condition: [
            {
              test: 'StringEquals',
              variable: 'cloudwatch:namespace',
              values: [HOST_METRICS_NAMESPACE],
            },
          ],
        },
        {
          sid: 'SessionManager',
          effect: 'Allow',
          actions: [...SESSION_MANAGER_ACTIONS],
          resources: ['*'],
        },
        {
          sid: 'WriteHostLogs',
          effect: 'Allow',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [props.logGroupArn, `${props.logGroupArn}:*`],
        },
      ],
    });
    new IamRolePolicy(this, 'access-policy', {
      name: 'deployment-access',
      role: this.role.id,
      policy: access.json,
    });
    const profile = new IamInstanceProfile(this, 'profile', {
      name: `${props.name}-host-${props.region}`,
      role: this.role.name,
    });

    // --- launch template ---
    const amiSetting = props.ami ?? DLAMI_SSM_PARAMETER;
    const fromParameter = !amiSetting.startsWith('ami-');
    const imageId = fromParameter
      ? new DataAwsSsmParameter(this, 'ami-id', { name: amiSetting }).insecureValue
      : amiSetting;
    const ami = new DataAwsAmi(this, 'ami', {
      ...(fromParameter ? { owners: ['amazon'] } : {}),
      filter: [{ name: 'image-id', values: [imageId] }],
    });
    const userData = new TerraformLocal(
      this,
      'user-data',
      terraformTemplate(props.userData, references),
    );
    const tags = { Name: `${props.name}-gpu-host` };
    this.launchTemplate = new LaunchTemplate(this, 'launch-template', {
      name: `${props.name}-host`,
      description: `GPU host of ${props.name}`,
      imageId,
      // A parameter's newer value must not replace the driver on a redeploy: set `ami` to change it.
      ...(fromParameter ? { lifecycle: { ignoreChanges: ['image_id'] } } : {}),
      instanceType: props.instanceType,
      iamInstanceProfile: { arn: profile.arn },
      vpcSecurityGroupIds: [this.securityGroup.id],
      updateDefaultVersion: true,
      userData: Fn.base64gzip(userData.asString),
      metadataOptions: {
        httpEndpoint: 'enabled',
        httpTokens: 'required',
        httpPutResponseHopLimit: props.metadataHopLimit ?? 1,
        instanceMetadataTags: 'disabled',
      },
      blockDeviceMappings: [
        {
          deviceName: ami.rootDeviceName,
          ebs: {
            volumeSize: rootVolumeGiB,
            volumeType: 'gp3',
            throughput: props.rootVolumeThroughputMiBps ?? 500,
            iops: 6000,
            encrypted: 'true',
            deleteOnTermination: 'true',
          },
        },
      ],
      tagSpecifications: [
        { resourceType: 'instance', tags },
        { resourceType: 'volume', tags },
      ],
    });

    // --- auto scaling group ---
    const grace = props.healthCheckGraceSeconds ?? 1800;
    this.autoScalingGroup = new AutoscalingGroup(this, 'asg', {
      name: groupName,
      minSize: props.minHosts,
      maxSize: props.maxHosts,
      desiredCapacity: props.minHosts,
      // Target tracking and schedules own the size after creation.
      lifecycle: { ignoreChanges: ['desired_capacity'] },
      vpcZoneIdentifier: props.subnetIds,
      launchTemplate: {
        id: this.launchTemplate.id,
        version: Token.asString(this.launchTemplate.latestVersion),
      },
      targetGroupArns: [props.targetGroupArn],
      // EC2 health only: a host failing the load balancer's readiness stays up (it may be loading, or one model is
      // restarting); the host watchdog marks it unhealthy after sustained failure (infra/host/ep-watchdog.sh).
      healthCheckType: 'EC2',
      healthCheckGracePeriod: grace,
      defaultInstanceWarmup: grace,
      // Fail the deploy (instead of reporting success) when hosts cannot launch, e.g. for lack of vCPU quota.
      waitForCapacityTimeout: '15m',
      metricsGranularity: '1Minute',
      enabledMetrics: [
        'GroupDesiredCapacity',
        'GroupInServiceInstances',
        'GroupPendingInstances',
        'GroupMinSize',
        'GroupMaxSize',
      ],
      tag: [{ key: 'Name', value: `${props.name}-gpu-host`, propagateAtLaunch: true }],
      ...(props.launchAfter?.length ? { dependsOn: props.launchAfter } : {}),
      ...(props.instanceRefresh
        ? {
            instanceRefresh: {
              strategy: 'Rolling',
              preferences: {
                minHealthyPercentage: 100,
                maxHealthyPercentage: 200,
                instanceWarmup: String(grace),
              },
            },
          }
        : {}),
    });
    if (props.maxHosts > props.minHosts || (props.schedule?.length ?? 0) > 0) {
      new AutoscalingPolicy(this, 'track-backend-requests', {
        name: `${props.name}-backend-requests`,
        autoscalingGroupName: this.autoScalingGroup.name,
        policyType: 'TargetTrackingScaling',
        // A new host serves only after it booted: count it only then, or the group overshoots.
        estimatedInstanceWarmup: grace,
        targetTrackingConfiguration: {
          targetValue: props.targetRequestsPerHost ?? 64,
          customizedMetricSpecification: {
            namespace: HOST_METRICS_NAMESPACE,
            metricName: BACKEND_REQUESTS_METRIC,
            statistic: 'Average',
            metricDimension: [{ name: 'AutoScalingGroupName', value: groupName }],
          },
        },
      });
    }
    for (const entry of props.schedule ?? []) {
      new AutoscalingSchedule(this, `schedule-${entry.name}`, {
        scheduledActionName: entry.name,
        autoscalingGroupName: this.autoScalingGroup.name,
        recurrence: entry.recurrence,
        timeZone: entry.timeZone,
        minSize: entry.minHosts,
        maxSize: entry.maxHosts,
        desiredCapacity: entry.desiredHosts ?? -1,
      });
    }
  }
}
