/**
 * @module
 * The environment every AWS client of a rehearsal gets (the AWS CLI, the SDK in `npm run keys` and the controller,
 * boto3): the emulator's endpoint, its certificate, throwaway credentials, and path-style S3 addressing.
 * Nothing from the caller's own AWS configuration leaks in.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface EmulatorClientEnv {
  readonly endpoint: string;
  readonly caFile: string;
  readonly region: string;
  /** A folder for the AWS CLI config file. */
  readonly dir: string;
}

/** Environment variables for AWS clients talking to the emulator. */
export function awsClientEnv(o: EmulatorClientEnv): Record<string, string> {
  const config = join(o.dir, 'aws-config');
  // Path-style S3 URLs: a bucket name cannot be a subdomain of 127.0.0.1.
  writeFileSync(config, `[default]\nregion = ${o.region}\ns3 =\n  addressing_style = path\n`);
  return {
    AWS_ENDPOINT_URL: o.endpoint,
    AWS_CA_BUNDLE: o.caFile,
    NODE_EXTRA_CA_CERTS: o.caFile,
    AWS_ACCESS_KEY_ID: 'rehearsal',
    AWS_SECRET_ACCESS_KEY: 'rehearsal',
    AWS_REGION: o.region,
    AWS_DEFAULT_REGION: o.region,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(o.dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

/** The process environment minus the caller's AWS settings, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^AWS_/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Runs the AWS CLI and parses its JSON output (asynchronously: the emulator's front runs in this process).
 * @throws Error with the CLI's message on failure
 */
export function awsCli(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      'aws',
      [...args, '--output', 'json'],
      { env, encoding: 'utf8', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `aws ${args.slice(0, 2).join(' ')}: ${(stderr || stdout || err.message).trim()}`,
            ),
          );
        else resolve(stdout.trim() ? JSON.parse(stdout) : {});
      },
    );
  });
}
