/**
 * The boot script on a simulated host: storage layouts (instance store, RAID 0, DLAMI mount, root volume), reboots,
 * and the failures it must report clearly.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostSettings } from './fixtures.ts';
import { bootOk, sim } from './sim-helpers.ts';

describe('ep-boot.sh storage and failures', () => {
  it('formats and mounts the instance store once; a reboot mounts it again without formatting', () => {
    const host = sim();
    bootOk(host);
    const mkfs = () => host.calls().filter((c) => c.cmd === 'mkfs.ext4');
    expect(mkfs().map((c) => c.args.at(-1))).toEqual(['/dev/nvme1n1']);
    expect(host.stubState().mounts).toEqual({ '/dev/nvme1n1': host.path('/mnt/ep-nvme') });
    const link = host.path('/var/lib/ep/hf-cache');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(host.path('/mnt/ep-nvme/ep-hf-cache'));

    host.reboot();
    bootOk(host);
    expect(mkfs()).toHaveLength(1);
    expect(host.calls().filter((c) => c.cmd === 'mount')).toHaveLength(2);
    expect(readlinkSync(link)).toBe(host.path('/mnt/ep-nvme/ep-hf-cache'));
  });

  it('uses the DLAMI mount when it is there, without formatting or mounting anything', () => {
    const host = sim(hostSettings(), { dlamiMounted: true });
    bootOk(host);
    expect(host.calls().filter((c) => ['mkfs.ext4', 'mount', 'mdadm'].includes(c.cmd))).toEqual([]);
    expect(readlinkSync(host.path('/var/lib/ep/hf-cache'))).toBe(
      host.path('/opt/dlami/nvme/ep-hf-cache'),
    );
  });

  it('stripes several instance-store disks into one RAID 0 array, and assembles it again after a reboot', () => {
    const disks = ['/dev/nvme1n1', '/dev/nvme2n1'].map(
      (d) => `${d} Amazon EC2 NVMe Instance Storage`,
    );
    const host = sim(hostSettings(), { disks });
    bootOk(host);
    const md = host.path('/dev/md/ep-cache');
    const mdadm = () => host.calls().filter((c) => c.cmd === 'mdadm');
    expect(mdadm().map((c) => c.args[0])).toEqual(['--assemble', '--create']);
    expect(mdadm()[1]?.args).toEqual([
      '--create',
      md,
      '--level=0',
      '--raid-devices=2',
      '--run',
      '/dev/nvme1n1',
      '/dev/nvme2n1',
    ]);
    host.reboot();
    bootOk(host);
    expect(mdadm().map((c) => c.args[0])).toEqual(['--assemble', '--create', '--assemble']);
    expect(
      host
        .calls()
        .filter((c) => c.cmd === 'mkfs.ext4')
        .map((c) => c.args.at(-1)),
    ).toEqual([md]);
  });

  it('falls back to the root volume when the instance has no instance store', () => {
    const host = sim(hostSettings(), { disks: ['/dev/nvme0n1 Amazon Elastic Block Store'] });
    bootOk(host);
    expect(host.calls().filter((c) => ['mkfs.ext4', 'mount'].includes(c.cmd))).toEqual([]);
    expect(readlinkSync(host.path('/var/lib/ep/hf-cache'))).toBe(
      host.path('/var/lib/ep/storage/ep-hf-cache'),
    );
  });

  it('fails with the command to set the token when the secret has no value, starting nothing', () => {
    const host = sim(hostSettings(), { hfToken: undefined });
    const r = host.boot();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/put-secret-value --region eu-west-1 --secret-id demo\/hf-token/);
    expect(host.starts()).toEqual([]);
  });

  it('fails when fewer GPUs are visible than the models need', () => {
    const host = sim();
    const r = host.boot({ STUB_GPUS: '2' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/need 4 GPUs but nvidia-smi shows 2/);
  });

  it('keeps the bundle and token of an earlier boot when S3 and Secrets Manager are unreachable, and rejects a bundle with the wrong sha256', () => {
    const host = sim();
    bootOk(host);
    host.reboot();
    const r = host.boot({ STUB_S3_DOWN: '1', STUB_HF_TOKEN: '' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/keeping the copy from an earlier boot/);
    expect(r.stderr).toMatch(/keeping the token from an earlier boot/);

    const uri = 's3://demo-artifacts/ep/controller/ABC123/controller.mjs';
    const good = createHash('sha256').update(`// object ${uri}\n`).digest('hex');
    const ok = sim(hostSettings({ bundleSha256: good }));
    expect(ok.boot().status).toBe(0);
    const bad = sim(hostSettings({ bundleSha256: 'f'.repeat(64) }));
    const rb = bad.boot();
    expect(rb.status).not.toBe(0);
    expect(rb.stderr).toMatch(/does not match its sha256/);
  });
});
