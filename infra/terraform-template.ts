/**
 * @module
 * Turns rendered text (user data) into a Terraform JSON string template with a few known references.
 *
 * Why: user data is rendered in TypeScript at synth time, but a value such as the artifacts bucket name exists
 * only at apply time. cdktf's token handling mangles shell text mixed with tokens (`${HOME}` is taken for an
 * expression, backslashes and `%{` are not escaped), so the text is rendered with placeholders, every `${` and `%{`
 * is escaped for Terraform, and each placeholder becomes one plain `${resource.address.attribute}` interpolation.
 * cdktf emits such a string verbatim, and Terraform resolves it at apply time.
 */
import { gunzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';

/**
 * Makes `placeholder` visible in a `#cloud-config` document: `write_files` entries that are gzip+base64
 * (`encoding: gz+b64`, used to fit EC2's 16 KB limit) and contain it are written back as plain text, so
 * {@link terraformTemplate} can substitute it. Documents that already show it verbatim are returned unchanged.
 */
export function exposePlaceholder(cloudConfig: string, placeholder: string): string {
  if (cloudConfig.includes(placeholder) || !cloudConfig.startsWith('#cloud-config'))
    return cloudConfig;
  const doc = parse(cloudConfig) as { write_files?: Record<string, unknown>[] } | null;
  let changed = false;
  for (const entry of doc?.write_files ?? []) {
    if (entry.encoding !== 'gz+b64' && entry.encoding !== 'gzip+base64') continue;
    const text = gunzipSync(Buffer.from(String(entry.content), 'base64')).toString('utf8');
    if (!text.includes(placeholder)) continue;
    delete entry.encoding;
    entry.content = text;
    changed = true;
  }
  return changed ? `#cloud-config\n${stringify(doc, { lineWidth: 0 })}` : cloudConfig;
}

/** A placeholder in rendered text and the Terraform expression (without `${}`) that replaces it. */
export interface TemplateReference {
  /** Text the renderer received instead of the real value, e.g. `@@EP_ARTIFACTS_BUCKET@@`. */
  readonly placeholder: string;
  /** Terraform expression, e.g. `aws_s3_bucket.artifacts_bucket_A41425E9.bucket`. */
  readonly expression: string;
}

/** Escapes text so Terraform's template engine reads it literally. */
export function escapeTerraformTemplate(text: string): string {
  // Replacement functions, not strings: in a replacement string `$$` means one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/**
 * Escapes `text` and substitutes each placeholder with its interpolation.
 * @throws Error when a placeholder does not occur in the text (the renderer encoded or dropped the value, so the
 *   host would never see it)
 * @example terraformTemplate('echo ${HOME} s3://@@B@@/k', [{ placeholder: '@@B@@', expression: 'aws_s3_bucket.b.bucket' }])
 *   // → 'echo $${HOME} s3://${aws_s3_bucket.b.bucket}/k'
 */
export function terraformTemplate(text: string, references: readonly TemplateReference[]): string {
  let out = escapeTerraformTemplate(text);
  for (const ref of references) {
    if (!out.includes(ref.placeholder)) {
      throw new Error(
        `rendered text does not contain ${ref.placeholder} (needed for ${ref.expression}); ` +
          'the value must appear verbatim, not encoded (base64/gzip), so Terraform can fill it in',
      );
    }
    out = out.split(ref.placeholder).join(`\${${ref.expression}}`);
  }
  return out;
}

/** The Terraform address of a resource attribute, e.g. `aws_s3_bucket.artifacts_bucket_A41425E9.bucket`. */
export function resourceAttribute(
  resource: { terraformResourceType: string; friendlyUniqueId: string },
  attribute: string,
): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}.${attribute}`;
}
