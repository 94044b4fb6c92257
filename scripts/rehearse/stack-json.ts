/**
 * @module
 * Reading a synthesized stack (`cdk.tf.json`): its resources by type, and the literal text behind a Terraform
 * template such as the host's user data.
 */

/** The parts of Terraform JSON syntax the rehearsal reads. */
export interface StackJson {
  terraform?: { backend?: Record<string, unknown>; required_providers?: Record<string, unknown> };
  provider?: Record<string, Array<Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  locals?: Record<string, unknown>;
  output?: Record<string, { value: unknown }>;
}

/** `[name, body]` of every resource of a type. */
export function resourcesOf(
  stack: StackJson,
  type: string,
): Array<[string, Record<string, unknown>]> {
  return Object.entries(stack.resource?.[type] ?? {});
}

/** `[name, body]` of every data source of a type. */
export function dataOf(stack: StackJson, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(stack.data?.[type] ?? {});
}

/** How many instances of each resource type the stack declares; `count`/`for_each` given as an expression counts as "at least one". */
export function declaredCounts(stack: StackJson): Map<string, { count: number; exact: boolean }> {
  const out = new Map<string, { count: number; exact: boolean }>();
  for (const [type, byName] of Object.entries(stack.resource ?? {})) {
    let count = 0;
    let exact = true;
    for (const body of Object.values(byName)) {
      if (typeof body.count === 'number') count += body.count;
      else if (body.count !== undefined || body.for_each !== undefined) {
        count += 1;
        exact = false;
      } else count += 1;
    }
    out.set(type, { count, exact });
  }
  return out;
}

/**
 * The text a Terraform template string stands for, given values for the expressions it interpolates.
 * @throws Error for an interpolation `resolve` does not know
 */
export function untemplate(
  template: string,
  resolve: (expression: string) => string | undefined,
): string {
  return template.replace(/\$\$\{|%%\{|\$\{([^}]*)\}/g, (m, expr: string | undefined) => {
    if (m === '$${') return '${';
    if (m === '%%{') return '%{';
    const v = resolve(expr!.trim());
    if (v === undefined) throw new Error(`cannot resolve \${${expr}} in a template`);
    return v;
  });
}

/**
 * The local value behind the launch template's `user_data = "${base64encode(local.NAME)}"` (or `base64gzip`), as
 * a template.
 */
export function userDataTemplate(stack: StackJson): string {
  const [lt] = resourcesOf(stack, 'aws_launch_template');
  if (!lt) throw new Error('the stack has no aws_launch_template');
  const expr = String(lt[1].user_data ?? '');
  const local = /^\$\{base64(?:encode|gzip)\(local\.([^)]+)\)\}$/.exec(expr)?.[1];
  if (local) return String(stack.locals?.[local] ?? '');
  const literal = /^\$\{base64encode\("([\s\S]*)"\)\}$/.exec(expr);
  if (literal)
    throw new Error('inline user data templates are not supported; expected a local value');
  return Buffer.from(expr, 'base64').toString('utf8');
}
