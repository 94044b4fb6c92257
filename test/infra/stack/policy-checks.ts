/**
 * @module
 * Security policy checks over synthesized Terraform JSON. Each returns a list of violations (empty = compliant),
 * so tests can show both that the stack passes and that a deliberately broken stack fails.
 */
import { all, type Synthesized } from './synth.ts';

const OPEN = new Set(['0.0.0.0/0', '::/0']);

/** `${aws_x.name.attr}` → `aws_x.name`, for references written by cdktf. */
function address(ref: unknown): string | undefined {
  const m = typeof ref === 'string' ? /^\$\{([a-z0-9_]+\.[^.}]+)(\.[a-z_]+)?\}$/.exec(ref) : null;
  return m?.[1];
}

interface Rule {
  readonly where: string;
  readonly direction: 'ingress' | 'egress';
  readonly sg: string | undefined;
  readonly protocol: string;
  readonly from: number | undefined;
  readonly to: number | undefined;
  readonly cidrs: string[];
  readonly prefixList: boolean;
  readonly sourceSg: string | undefined;
}

/** Every security group rule, whichever way it is written (standalone v2 rules, legacy rules, inline blocks). */
export function securityGroupRules(s: Synthesized): Rule[] {
  const rules: Rule[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    for (const [id, r] of Object.entries(
      s.resource[`aws_vpc_security_group_${direction}_rule`] ?? {},
    )) {
      rules.push({
        where: `aws_vpc_security_group_${direction}_rule.${id}`,
        direction,
        sg: address(r.security_group_id),
        protocol: String(r.ip_protocol),
        from: r.from_port as number | undefined,
        to: r.to_port as number | undefined,
        cidrs: [r.cidr_ipv4, r.cidr_ipv6].filter((c): c is string => typeof c === 'string'),
        prefixList: r.prefix_list_id !== undefined,
        sourceSg: address(r.referenced_security_group_id),
      });
    }
  }
  for (const [id, r] of Object.entries(s.resource.aws_security_group_rule ?? {})) {
    rules.push({
      where: `aws_security_group_rule.${id}`,
      direction: r.type as 'ingress' | 'egress',
      sg: address(r.security_group_id),
      protocol: String(r.protocol),
      from: r.from_port as number | undefined,
      to: r.to_port as number | undefined,
      cidrs: [...((r.cidr_blocks as string[]) ?? []), ...((r.ipv6_cidr_blocks as string[]) ?? [])],
      prefixList: r.prefix_list_ids !== undefined,
      sourceSg: address(r.source_security_group_id),
    });
  }
  for (const [id, group] of Object.entries(s.resource.aws_security_group ?? {})) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const r of (group[direction] as Record<string, unknown>[] | undefined) ?? []) {
        const sgs = (r.security_groups as string[] | undefined) ?? [];
        rules.push({
          where: `aws_security_group.${id} inline ${direction}`,
          direction,
          sg: `aws_security_group.${id}`,
          protocol: String(r.protocol),
          from: r.from_port as number | undefined,
          to: r.to_port as number | undefined,
          cidrs: [
            ...((r.cidr_blocks as string[]) ?? []),
            ...((r.ipv6_cidr_blocks as string[]) ?? []),
          ],
          prefixList: r.prefix_list_ids !== undefined,
          sourceSg: address(sgs[0]),
        });
      }
    }
  }
  return rules;
}

/** Security groups attached to the GPU hosts (through every launch template). */
export function hostSecurityGroups(s: Synthesized): Set<string> {
  const sgs = new Set<string>();
  for (const lt of all(s.resource, 'aws_launch_template')) {
    for (const ref of (lt.vpc_security_group_ids as string[] | undefined) ?? [])
      sgs.add(address(ref)!);
    for (const ni of (lt.network_interfaces as Record<string, unknown>[] | undefined) ?? []) {
      for (const ref of (ni.security_groups as string[] | undefined) ?? []) sgs.add(address(ref)!);
    }
  }
  return sgs;
}

/** Security groups of load balancers. */
export function loadBalancerSecurityGroups(s: Synthesized): Set<string> {
  const sgs = new Set<string>();
  for (const lb of all(s.resource, 'aws_lb')) {
    for (const ref of (lb.security_groups as string[] | undefined) ?? []) sgs.add(address(ref)!);
  }
  return sgs;
}

/** Hosts accept traffic only from a load balancer security group, never from CIDRs or prefix lists. */
export function hostIngressViolations(s: Synthesized): string[] {
  const hosts = hostSecurityGroups(s);
  const lbs = loadBalancerSecurityGroups(s);
  const out: string[] = [];
  if (hosts.size === 0) out.push('no security group found on the launch template');
  for (const r of securityGroupRules(s)) {
    if (r.direction !== 'ingress' || !r.sg || !hosts.has(r.sg)) continue;
    for (const c of r.cidrs)
      out.push(`${r.where}: host ingress from ${c}${OPEN.has(c) ? ' (the internet)' : ''}`);
    if (r.prefixList) out.push(`${r.where}: host ingress from a prefix list`);
    if (!r.sourceSg || !lbs.has(r.sourceSg))
      out.push(`${r.where}: host ingress not from the load balancer`);
  }
  return out;
}

/** No rule, in any direction, opens port 22 (all-protocol rules open every port). */
export function sshViolations(s: Synthesized): string[] {
  return securityGroupRules(s)
    .filter(
      (r) =>
        r.protocol === '-1' ||
        r.protocol === 'all' ||
        ((r.from ?? 0) <= 22 && 22 <= (r.to ?? 65535)),
    )
    .map((r) => `${r.where}: covers port 22 (${r.protocol} ${r.from}-${r.to})`);
}

interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
}

const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Every IAM policy statement in the stack, normalized to IAM JSON (data-source documents included). */
export function policyStatements(s: Synthesized): { where: string; statement: Statement }[] {
  const out: { where: string; statement: Statement }[] = [];
  const docs = s.data.aws_iam_policy_document ?? {};
  for (const [id, doc] of Object.entries(docs)) {
    for (const st of (doc.statement as Record<string, unknown>[] | undefined) ?? []) {
      out.push({
        where: `data.aws_iam_policy_document.${id}`,
        statement: {
          Effect: (st.effect as string | undefined) ?? 'Allow',
          Action: st.actions as string[] | undefined,
          NotAction: st.not_actions as string[] | undefined,
          Resource: st.resources as string[] | undefined,
          NotResource: st.not_resources as string[] | undefined,
        },
      });
    }
  }
  // Policies written inline as JSON strings (references to the documents above are covered already).
  const inline: [string, string][] = [
    ['aws_iam_role_policy', 'policy'],
    ['aws_iam_policy', 'policy'],
    ['aws_iam_role', 'assume_role_policy'],
    ['aws_s3_bucket_policy', 'policy'],
    ['aws_secretsmanager_secret_policy', 'policy'],
  ];
  for (const [type, field] of inline) {
    for (const [id, r] of Object.entries(s.resource[type] ?? {})) {
      const value = r[field];
      if (typeof value !== 'string' || value.startsWith('${')) continue;
      const doc = JSON.parse(value) as { Statement: Statement | Statement[] };
      for (const st of Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) {
        out.push({ where: `${type}.${id}.${field}`, statement: st });
      }
    }
  }
  return out;
}

/** No Allow statement grants every action, or any action on every resource. */
export function iamWildcardViolations(s: Synthesized): string[] {
  const out: string[] = [];
  for (const { where, statement } of policyStatements(s)) {
    if (statement.Effect === 'Deny') continue;
    const actions = list(statement.Action);
    const resources = list(statement.Resource);
    if (statement.NotAction !== undefined) out.push(`${where}: Allow with NotAction`);
    if (actions.includes('*') && (resources.includes('*') || statement.NotResource !== undefined)) {
      out.push(`${where}: Allow "*" on "*"`);
    } else if (actions.includes('*')) {
      out.push(`${where}: Allow "*" (every action)`);
    }
    if (resources.includes('*') && actions.some((a) => a.endsWith(':*'))) {
      out.push(`${where}: Allow ${actions.join(',')} on "*"`);
    }
  }
  for (const [id, a] of Object.entries(s.resource.aws_iam_role_policy_attachment ?? {})) {
    const arn = String(a.policy_arn);
    if (/AdministratorAccess|PowerUserAccess|FullAccess/.test(arn))
      out.push(`attachment ${id}: ${arn}`);
  }
  return out;
}

/** Every bucket blocks public access completely and is encrypted at rest. */
export function bucketViolations(s: Synthesized): string[] {
  const out: string[] = [];
  const blocks = all(s.resource, 'aws_s3_bucket_public_access_block');
  const sse = all(s.resource, 'aws_s3_bucket_server_side_encryption_configuration');
  for (const id of Object.keys(s.resource.aws_s3_bucket ?? {})) {
    const me = `aws_s3_bucket.${id}`;
    const block = blocks.find((b) => address(b.bucket) === me);
    const flags = [
      'block_public_acls',
      'block_public_policy',
      'ignore_public_acls',
      'restrict_public_buckets',
    ];
    if (!block) out.push(`${me}: no public access block`);
    else for (const f of flags) if (block[f] !== true) out.push(`${me}: ${f} is not true`);
    const enc = sse.find((e) => address(e.bucket) === me);
    const algo = (
      enc?.rule as
        { apply_server_side_encryption_by_default?: { sse_algorithm?: string } }[] | undefined
    )?.[0]?.apply_server_side_encryption_by_default?.sse_algorithm;
    if (!algo || !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(algo))
      out.push(`${me}: not encrypted`);
  }
  return out;
}

/** No load balancer faces the internet: CloudFront reaches an internal one through a VPC origin. */
export function publicLoadBalancerViolations(s: Synthesized): string[] {
  return Object.entries(s.resource.aws_lb ?? {})
    .filter(([, lb]) => lb.internal !== true)
    .map(([id]) => `aws_lb.${id}: internet-facing`);
}

/**
 * No CloudFront origin is reached over the internet in cleartext: every origin is a VPC origin, or a custom origin
 * with `https-only`. A prefix-list rule (the origin-facing list) means a public origin: also a violation.
 */
export function originViolations(s: Synthesized): string[] {
  const out: string[] = [];
  for (const [id, cdn] of Object.entries(s.resource.aws_cloudfront_distribution ?? {})) {
    for (const o of (cdn.origin as Record<string, unknown>[] | undefined) ?? []) {
      const custom = o.custom_origin_config as { origin_protocol_policy?: string } | undefined;
      if (o.vpc_origin_config) continue;
      if (custom && custom.origin_protocol_policy !== 'https-only')
        out.push(
          `aws_cloudfront_distribution.${id}: origin ${String(o.origin_id)} over ${custom.origin_protocol_policy} across the internet`,
        );
      else if (!custom && !o.s3_origin_config)
        out.push(
          `aws_cloudfront_distribution.${id}: origin ${String(o.origin_id)} of unknown kind`,
        );
    }
  }
  for (const r of securityGroupRules(s))
    if (r.direction === 'ingress' && r.prefixList)
      out.push(`${r.where}: ingress from a prefix list`);
  return out;
}

/** IAM statements granting `ssm:GetParameter*` (or `ssm:*`) on every parameter, and managed policies that do. */
export function parameterReadViolations(s: Synthesized): string[] {
  const out: string[] = [];
  for (const { where, statement } of policyStatements(s)) {
    if (statement.Effect === 'Deny') continue;
    const reads = list(statement.Action).filter((a) => /^ssm:(\*|GetParameter)/.test(a));
    if (
      reads.length > 0 &&
      list(statement.Resource).some((r) => r === '*' || r.endsWith(':parameter/*'))
    )
      out.push(`${where}: ${reads.join(',')} on every parameter`);
  }
  for (const [id, a] of Object.entries(s.resource.aws_iam_role_policy_attachment ?? {})) {
    if (/AmazonSSMManagedInstanceCore|AmazonSSMReadOnlyAccess/.test(String(a.policy_arn)))
      out.push(`attachment ${id}: ${String(a.policy_arn)} grants ssm:GetParameter* on *`);
  }
  return out;
}
