/**
 * @module
 * GPU fleet: an Auto Scaling group of identical GPU hosts, each a full replica of every model, registered with the
 * ALB target group. Launch template: Deep Learning AMI (Base OSS NVIDIA driver, Ubuntu 24.04) from its public SSM
 * parameter, IMDSv2 only, encrypted gp3 root, no key pair (Session Manager instead of SSH), and an instance role
 * that may read only this deployment's secrets and artifacts prefix and write only its log group.
 */
import { Fn, TerraformLocal, Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group/index.js';
import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami/index.js';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter/index.js';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import { terraformTemplate, type TemplateReference } from '../terraform-template.ts';

/** Public SSM parameter with the newest DLAMI "Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04)" for x86_64. */
export const DLAMI_SSM_PARAMETER =
  '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id';

/** EC2 accepts at most 16 KB of user data (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export interface GpuFleetProps {
  /** Prefix of resource names. */
  readonly name: string;
  /** Region: part of the IAM role and instance profile names, which are global to the account. */
  readonly region: string;
  readonly instanceType: string;
  /** Hosts in the group (min = max = desired). */
  readonly hostCount: number;
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
  /** ARN of the log group the hosts write to (as the provider reports it, without `:*`). */
  readonly logGroupArn: string;
  /**
   * Root volume size: docker images (vLLM ~20 GB unpacked) and, on instances without NVMe, the model cache.
   * @default 200
   */
  readonly rootVolumeGiB?: number;
  /**
   * Seconds after launch before ELB health checks can fail a host: image pull, model download and load take
   * 10-30 minutes on a g6.12xlarge, well past the Auto Scaling default of 300 s
   * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html).
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
   * SSM parameter holding the AMI id.
   * @default DLAMI_SSM_PARAMETER
   */
  readonly amiSsmParameter?: string;
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
    const userDataBytes = Buffer.byteLength(worstCase, 'utf8');
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
    new IamRolePolicyAttachment(this, 'ssm-core', {
      role: this.role.name,
      policyArn: `arn:${partition.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    });
    const profile = new IamInstanceProfile(this, 'profile', {
      name: `${props.name}-host-${props.region}`,
      role: this.role.name,
    });

    // --- launch template ---
    const amiId = new DataAwsSsmParameter(this, 'ami-id', {
      name: props.amiSsmParameter ?? DLAMI_SSM_PARAMETER,
    });
    const ami = new DataAwsAmi(this, 'ami', {
      owners: ['amazon'],
      filter: [{ name: 'image-id', values: [amiId.insecureValue] }],
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
      imageId: amiId.insecureValue,
      instanceType: props.instanceType,
      iamInstanceProfile: { arn: profile.arn },
      vpcSecurityGroupIds: [this.securityGroup.id],
      updateDefaultVersion: true,
      userData: Fn.base64encode(userData.asString),
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
    this.autoScalingGroup = new AutoscalingGroup(this, 'asg', {
      name: `${props.name}-hosts`,
      minSize: props.hostCount,
      maxSize: props.hostCount,
      desiredCapacity: props.hostCount,
      vpcZoneIdentifier: props.subnetIds,
      launchTemplate: {
        id: this.launchTemplate.id,
        version: Token.asString(this.launchTemplate.latestVersion),
      },
      targetGroupArns: [props.targetGroupArn],
      healthCheckType: 'ELB',
      healthCheckGracePeriod: props.healthCheckGraceSeconds ?? 1800,
      // Fail the deploy (instead of reporting success) when hosts cannot launch, e.g. for lack of vCPU quota.
      waitForCapacityTimeout: '15m',
      metricsGranularity: '1Minute',
      enabledMetrics: ['GroupDesiredCapacity', 'GroupInServiceInstances', 'GroupPendingInstances'],
      tag: [{ key: 'Name', value: `${props.name}-gpu-host`, propagateAtLaunch: true }],
      ...(props.launchAfter?.length ? { dependsOn: props.launchAfter } : {}),
      ...(props.instanceRefresh
        ? {
            instanceRefresh: {
              strategy: 'Rolling',
              preferences: {
                minHealthyPercentage: 100,
                maxHealthyPercentage: 200,
                instanceWarmup: String(props.healthCheckGraceSeconds ?? 1800),
              },
            },
          }
        : {}),
    });
  }
}
