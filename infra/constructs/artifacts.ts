/**
 * @module
 * Artifacts: a private, encrypted S3 bucket holding what hosts download at boot: the controller bundle (a
 * TerraformAsset, re-uploaded under a new content-addressed key whenever it changes), the host config JSON, and
 * the deployment's calibration file, which the hosts themselves write (not a Terraform object).
 * `forceDestroy` lets `cdktf destroy` empty and delete the bucket.
 */
import { basename } from 'node:path';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object/index.js';

export interface ArtifactsProps {
  /** Prefix of the bucket name (a unique suffix is appended by Terraform). */
  readonly name: string;
  /** Absolute path of the controller bundle file (built by scripts/build-bundle.ts). */
  readonly controllerBundlePath: string;
  /** Host config document (serialized as JSON); may contain Terraform references. */
  readonly hostConfig: object;
  /**
   * Key prefix under which all objects live (the host role may read only this prefix).
   * @default 'hosts'
   */
  readonly keyPrefix?: string;
}

/** The artifacts bucket and the objects hosts read. */
export class Artifacts extends Construct {
  readonly bucket: S3Bucket;
  /** Key prefix hosts may read, without a trailing slash. */
  readonly keyPrefix: string;
  /** Object key of the controller bundle (content-addressed). */
  readonly bundleKey: string;
  /** Object key of the host config JSON. */
  readonly hostConfigKey: string;
  /**
   * Key prefix (no trailing slash) of the deployment's calibration, which hosts write: not a Terraform object
   * (the first host to make the file uploads it; an operator may replace it).
   */
  readonly calibrationKeyPrefix: string;
  /** Object key of the calibration file. */
  readonly calibrationKey: string;
  /** The objects hosts download at boot. */
  readonly objects: S3Object[];

  constructor(scope: Construct, id: string, props: ArtifactsProps) {
    super(scope, id);
    this.keyPrefix = props.keyPrefix ?? 'hosts';

    this.bucket = new S3Bucket(this, 'bucket', {
      bucketPrefix: `${props.name}-artifacts-`,
      forceDestroy: true,
    });
    const publicAccessBlock = new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: this.bucket.id,
      rule: [
        { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true },
      ],
    });
    const tlsOnly = new DataAwsIamPolicyDocument(this, 'tls-only', {
      statement: [
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          principals: [{ type: '*', identifiers: ['*'] }],
          actions: ['s3:*'],
          resources: [this.bucket.arn, `${this.bucket.arn}/*`],
          condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        },
      ],
    });
    // After the access block: S3 rejects concurrent bucket configuration changes (OperationAborted).
    new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: tlsOnly.json,
      dependsOn: [publicAccessBlock],
    });

    const bundle = new TerraformAsset(this, 'controller-bundle', {
      path: props.controllerBundlePath,
      type: AssetType.FILE,
    });
    this.bundleKey = `${this.keyPrefix}/controller/${bundle.assetHash}/${basename(props.controllerBundlePath)}`;
    const bundleObject = new S3Object(this, 'controller-bundle-object', {
      bucket: this.bucket.id,
      key: this.bundleKey,
      source: bundle.path,
      sourceHash: bundle.assetHash,
      contentType: 'text/javascript',
    });

    this.calibrationKeyPrefix = `${this.keyPrefix}/calibration`;
    this.calibrationKey = `${this.calibrationKeyPrefix}/calibration.json`;
    this.hostConfigKey = `${this.keyPrefix}/host-config.json`;
    const configObject = new S3Object(this, 'host-config-object', {
      bucket: this.bucket.id,
      key: this.hostConfigKey,
      content: JSON.stringify(props.hostConfig, null, 2),
      contentType: 'application/json',
    });
    this.objects = [bundleObject, configObject];
  }
}
