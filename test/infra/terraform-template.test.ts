import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  escapeTerraformTemplate,
  exposePlaceholder,
  terraformTemplate,
} from '../../infra/terraform-template.ts';

describe('terraform templates of rendered text', () => {
  it('escapes ${ and %{ so Terraform reads shell and cloud-init text literally', () => {
    expect(escapeTerraformTemplate('echo ${HOME} %{x} $PATH \\n "q"')).toBe(
      'echo $${HOME} %%{x} $PATH \\n "q"',
    );
  });

  it('substitutes placeholders with interpolations after escaping', () => {
    const out = terraformTemplate('a=${A} b=s3://@B@/k c=@B@', [
      { placeholder: '@B@', expression: 'aws_s3_bucket.b.bucket' },
    ]);
    expect(out).toBe('a=$${A} b=s3://${aws_s3_bucket.b.bucket}/k c=${aws_s3_bucket.b.bucket}');
  });

  it('fails if a placeholder is missing (encoded or dropped by the renderer)', () => {
    expect(() =>
      terraformTemplate('nothing here', [{ placeholder: '@B@', expression: 'x.y.z' }]),
    ).toThrow(/does not contain @B@/);
  });

  it('un-gzips only the cloud-config files that carry the placeholder', () => {
    const packed = (s: string) => gzipSync(s).toString('base64');
    const doc = `#cloud-config\n${stringify({
      write_files: [
        { path: '/a', encoding: 'gz+b64', content: packed('URI=s3://@B@/x\n') },
        { path: '/b', encoding: 'gz+b64', content: packed('no placeholder') },
      ],
    })}`;
    const out = exposePlaceholder(doc, '@B@');
    expect(out).toContain('URI=s3://@B@/x');
    expect(out.match(/gz\+b64/g)).toHaveLength(1);
    expect(exposePlaceholder('#cloud-config\nx: "@B@"\n', '@B@')).toBe('#cloud-config\nx: "@B@"\n');
  });
});
