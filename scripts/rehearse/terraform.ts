/**
 * @module
 * Terraform runs of a rehearsal (init from the local provider mirror, validate, plan, apply, destroy), and the one
 * emulator fault apply recovers from: moto's development server sometimes drops a connection after it has done the
 * request, the provider's SDK retries, and the retry fails with `InvalidPermission.Duplicate`. The rule then exists
 * in the emulator but not in the state: the rehearsal imports exactly that rule and applies again. Any other
 * error fails the phase.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsCli } from './aws-env.ts';

/** A Terraform command that failed; `output` is its combined output. */
export class TerraformError extends Error {
  override readonly name = 'TerraformError';
  constructor(
    readonly command: string,
    readonly output: string,
  ) {
    super(`terraform ${command} failed:\n${errorLines(output)}`);
  }
}

/** The `Error:` paragraphs of Terraform's output (what an operator needs to see). */
export function errorLines(output: string): string {
  const blocks = output.split(/\n(?=\S*│? *Error: )/).filter((b) => /Error: /.test(b));
  return (blocks.length ? blocks.join('\n') : output.slice(-3000)).trim().slice(0, 6000);
}

export interface TerraformRunner {
  readonly dir: string;
  run(
    args: readonly string[],
    opts?: { allowFailure?: boolean },
  ): Promise<{ code: number; output: string }>;
}

/** A runner in `dir` with `env` (the CLI config is the rehearsal's own, so no user setting changes the run). */
export function terraformIn(dir: string, env: NodeJS.ProcessEnv): TerraformRunner {
  const cliConfig = join(dir, '.terraformrc');
  writeFileSync(cliConfig, '# The rehearsal installs providers with -plugin-dir only.\n');
  const fullEnv = {
    ...env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
  };
  return {
    dir,
    run: (args, opts = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn('terraform', [...args, '-no-color'], { cwd: dir, env: fullEnv });
        let output = '';
        // Written as it runs, so a slow apply can be watched (`tail -f`).
        const log = createWriteStream(join(dir, `terraform-${args[0]}.log`), { flags: 'a' });
        const take = (b: Buffer) => {
          output += b.toString();
          log.write(b);
        };
        child.stdout.on('data', take);
        child.stderr.on('data', take);
        child.on('error', reject);
        child.on('close', (code) => {
          log.end();
          if (code !== 0 && !opts.allowFailure) reject(new TerraformError(args.join(' '), output));
          else resolve({ code: code ?? 1, output });
        });
      }),
  };
}

/** Addresses of rules whose create failed with `InvalidPermission.Duplicate`. */
export function duplicateRuleAddresses(output: string): string[] {
  const out = new Set<string>();
  for (const block of output.split(/\n(?=\S*│? *Error: )/)) {
    if (!block.includes('InvalidPermission.Duplicate')) continue;
    const m = /with (aws_vpc_security_group_(?:ingress|egress)_rule\.[^,\s]+),/.exec(block);
    if (m) out.add(m[1]!);
  }
  return [...out];
}

interface PlannedRule {
  security_group_id: string;
  ip_protocol: string;
  from_port?: number | null;
  to_port?: number | null;
  cidr_ipv4?: string | null;
  cidr_ipv6?: string | null;
  referenced_security_group_id?: string | null;
  prefix_list_id?: string | null;
}

/** The emulator's id of the rule `want` describes, found through DescribeSecurityGroupRules. */
async function findRuleId(
  awsEnv: NodeJS.ProcessEnv,
  want: PlannedRule,
  egress: boolean,
): Promise<string | undefined> {
  const res = (await awsCli(awsEnv, [
    'ec2',
    'describe-security-group-rules',
    '--filters',
    `Name=group-id,Values=${want.security_group_id}`,
  ])) as { SecurityGroupRules: Array<Record<string, unknown>> };
  const proto = want.ip_protocol === '-1' ? '-1' : want.ip_protocol;
  const hit = res.SecurityGroupRules.find(
    (r) =>
      r.IsEgress === egress &&
      String(r.IpProtocol) === proto &&
      (proto === '-1' || (r.FromPort === want.from_port && r.ToPort === want.to_port)) &&
      (r.CidrIpv4 ?? null) === (want.cidr_ipv4 ?? null) &&
      (r.CidrIpv6 ?? null) === (want.cidr_ipv6 ?? null) &&
      (r.PrefixListId ?? null) === (want.prefix_list_id ?? null) &&
      ((r.ReferencedGroupInfo as { GroupId?: string } | undefined)?.GroupId ?? null) ===
        (want.referenced_security_group_id ?? null),
  );
  return hit?.SecurityGroupRuleId as string | undefined;
}

/**
 * `apply`, recovering from the dropped-connection duplicate only: each rule named in an
 * `InvalidPermission.Duplicate` error is looked up in the emulator by its planned values, imported, and the apply
 * runs again. Returns the recoveries made, for the log.
 */
export async function applyWithRecovery(
  tf: TerraformRunner,
  awsEnv: NodeJS.ProcessEnv,
): Promise<string[]> {
  const recovered: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const { code, output } = await tf.run(
      ['apply', '-auto-approve', '-input=false', '-parallelism=20'],
      {
        allowFailure: true,
      },
    );
    if (code === 0) return recovered;
    const duplicates = duplicateRuleAddresses(output);
    const other = output
      .split(/\n(?=\S*│? *Error: )/)
      .filter((b) => /Error: /.test(b) && !b.includes('InvalidPermission.Duplicate'));
    if (duplicates.length === 0 || other.length > 0 || attempt >= 3)
      throw new TerraformError('apply', output);
    // The planned values of the orphan rules (their security groups exist now, so every value is known).
    await tf.run([
      'plan',
      '-input=false',
      '-out=recovery.plan',
      ...duplicates.map((d) => `-target=${d}`),
    ]);
    const shown = await tf.run(['show', '-json', 'recovery.plan']);
    const plan = JSON.parse(shown.output.slice(shown.output.indexOf('{'))) as {
      resource_changes: Array<{ address: string; type: string; change: { after: PlannedRule } }>;
    };
    for (const address of duplicates) {
      const change = plan.resource_changes.find((c) => c.address === address);
      if (!change) throw new TerraformError('apply', output);
      const id = await findRuleId(awsEnv, change.change.after, change.type.endsWith('egress_rule'));
      if (!id)
        throw new TerraformError(
          'apply',
          `${output}\n(no rule in the emulator matches ${address})`,
        );
      await tf.run(['import', '-input=false', address, id]);
      recovered.push(`${address} = ${id}`);
    }
  }
}
