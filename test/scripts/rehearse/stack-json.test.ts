import { describe, expect, it } from 'vitest';
import {
  declaredCounts,
  untemplate,
  userDataTemplate,
} from '../../../scripts/rehearse/stack-json.ts';
import { cloudConfigFiles } from '../../../scripts/rehearse/host.ts';
import { gzipSync } from 'node:zlib';

describe('reading a synthesized stack', () => {
  it('turns a Terraform template back into its text', () => {
    const t = 'a=$${HOME} b=%%{ if } c=${aws_s3_bucket.b_1.bucket}';
    expect(untemplate(t, (e) => (e === 'aws_s3_bucket.b_1.bucket' ? 'my-bucket' : undefined))).toBe(
      'a=${HOME} b=%{ if } c=my-bucket',
    );
    expect(() => untemplate('${var.x}', () => undefined)).toThrow(/var\.x/);
  });

  it("finds the launch template's user data local", () => {
    const stack = {
      resource: { aws_launch_template: { lt: { user_data: '${base64encode(local.ud_1)}' } } },
      locals: { ud_1: '#cloud-config\n' },
    };
    expect(userDataTemplate(stack)).toBe('#cloud-config\n');
    const gz = {
      ...stack,
      resource: { aws_launch_template: { lt: { user_data: '${base64gzip(local.ud_1)}' } } },
    };
    expect(userDataTemplate(gz)).toBe('#cloud-config\n');
  });

  it('counts declared resources, counting expressions as at least one', () => {
    const counts = declaredCounts({
      resource: {
        aws_eip: { a: {}, b: {} },
        aws_route53_record: { r: { for_each: '${x}' } },
        aws_instance: { i: { count: 3 } },
      },
    });
    expect(counts.get('aws_eip')).toEqual({ count: 2, exact: true });
    expect(counts.get('aws_route53_record')).toEqual({ count: 1, exact: false });
    expect(counts.get('aws_instance')).toEqual({ count: 3, exact: true });
  });

  it("decodes a cloud-config's write_files, compressed or not", () => {
    const packed = gzipSync('#!/bin/bash\necho hi\n').toString('base64');
    const files = cloudConfigFiles(
      `#cloud-config\nwrite_files:\n  - path: /etc/a\n    content: "x=1\\n"\n  - path: /opt/b.sh\n    encoding: gz+b64\n    permissions: "0755"\n    content: ${packed}\n`,
    );
    expect(files.map((f) => [f.path, f.content.toString(), f.mode.toString(8)])).toEqual([
      ['/etc/a', 'x=1\n', '644'],
      ['/opt/b.sh', '#!/bin/bash\necho hi\n', '755'],
    ]);
    expect(() => cloudConfigFiles('#!/bin/bash\n')).toThrow(/cloud-config/);
  });
});
