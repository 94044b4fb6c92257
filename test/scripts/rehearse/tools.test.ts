import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProviderMirror, ToolMissingError } from '../../../scripts/rehearse/tools.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;

function mirrorWith(...versions: string[]): string {
  const dir = tempDir('ep-mirror-');
  for (const v of versions)
    mkdirSync(join(dir, 'registry.terraform.io/hashicorp/aws', v, platform), { recursive: true });
  return dir;
}

describe('finding the provider mirror', () => {
  it('takes EP_TF_PROVIDER_MIRROR first, with its newest version', () => {
    const dir = mirrorWith('5.9.0', '5.100.0');
    const m = findProviderMirror({ EP_TF_PROVIDER_MIRROR: dir, HOME: dir });
    expect(m).toEqual({ dir, version: '5.100.0', foundBy: 'EP_TF_PROVIDER_MIRROR' });
  });

  it("reads a filesystem_mirror from Terraform's CLI config", () => {
    const dir = mirrorWith('6.25.0');
    const rc = join(dir, 'cli.tfrc');
    writeFileSync(
      rc,
      `provider_installation {\n  filesystem_mirror {\n    path = "${dir}"\n  }\n}\n`,
    );
    expect(findProviderMirror({ TF_CLI_CONFIG_FILE: rc })).toMatchObject({
      dir,
      version: '6.25.0',
    });
  });

  it('says how to point at a mirror when none holds the provider', () => {
    const empty = tempDir('ep-mirror-');
    const env = {
      EP_TF_PROVIDER_MIRROR: empty,
      TF_CLI_CONFIG_FILE: join(empty, 'none'),
      XDG_DATA_HOME: empty,
      XDG_DATA_DIRS: empty,
    };
    try {
      const m = findProviderMirror(env);
      // This machine has a mirror in a searched place: it must not be the empty one.
      expect(m.dir).not.toBe(empty);
    } catch (err) {
      expect(err).toBeInstanceOf(ToolMissingError);
      expect((err as Error).message).toMatch(/EP_TF_PROVIDER_MIRROR/);
    }
  });
});
