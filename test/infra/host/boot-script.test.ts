/**
 * The boot script, run for real (bash) on a simulated host: stub commands record what it does, and the units it
 * starts are played through a stub docker that refuses duplicate container names, like dockerd.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE_MODELS } from '../../../infra/host/reference-models.ts';
import { hostSettings, TWO_BY_TWO } from './fixtures.ts';
import { bootOk, sim } from './sim-helpers.ts';
import { requireTool, runWithTool } from './tools.ts';
import { CONTROLLER_NODE_FLAGS } from '../../../controller/node-flags.ts';

/** The value after `flag` in an argv. */
function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

/** vLLM's own arguments: everything after the image name. */
function serveArgs(args: readonly string[], image: string): string[] {
  return args.slice(args.indexOf(image) + 1);
}

describe('ep-boot.sh on a g6.12xlarge with the reference models', () => {
  it('starts exactly one vLLM container per model on its GPU and port, plus the controller', () => {
    const host = sim();
    bootOk(host);
    const containers = host.stubState().containers;
    expect(Object.keys(containers).sort()).toEqual(
      [
        'ep-controller',
        'ep-vllm-llama-2-7b',
        'ep-vllm-mistral-7b',
        'ep-vllm-phi-2',
        'ep-vllm-vicuna-7b',
      ].sort(),
    );
    REFERENCE_MODELS.forEach((m, i) => {
      const args = containers[`ep-vllm-${m.servedName}`] as string[];
      expect(flag(args, '--gpus')).toBe(`"device=${i}"`);
      expect(flag(args, '--publish')).toBe(`127.0.0.1:${8001 + i}:8000`);
      expect(args).toContain('--rm');
      expect(flag(args, '--ipc')).toBe('host');
      expect(flag(args, '--volume')).toBe('/var/lib/ep/hf-cache:/root/.cache/huggingface:ro');
      expect(args).not.toContain('--network');
      const opts = args.filter((_, k) => args[k - 1] === '--log-opt');
      expect(flag(args, '--log-driver')).toBe('awslogs');
      expect(opts).toEqual(
        expect.arrayContaining([
          'awslogs-region=eu-west-1',
          'awslogs-group=/ep/demo/hosts',
          `awslogs-stream=ip-10-0-1-23/ep-vllm-${m.servedName}`,
        ]),
      );
      const serve = serveArgs(args, 'vllm/vllm-openai:v0.31.0');
      // Positional model (`--model` is deprecated), access log off, compile cache on the instance store.
      expect(serve[0]).toBe(m.hfId);
      expect(serve).not.toContain('--model');
      expect(serve).toContain('--disable-uvicorn-access-log');
      expect(args).toContain('/var/lib/ep/vllm-cache:/root/.cache/vllm');
      expect(flag(serve, '--served-model-name')).toBe(m.servedName);
      expect(flag(serve, '--max-model-len')).toBe(String(m.maxModelLen));
      expect(flag(serve, '--tensor-parallel-size')).toBe('1');
      expect(flag(serve, '--gpu-memory-utilization')).toBe('0.85');
      expect(flag(serve, '--max-num-seqs')).toBe('64');
      expect(flag(serve, '--max-num-batched-tokens')).toBe('2048');
      expect(serve).toContain('--no-enable-prefix-caching');
      expect(flag(serve, '--port')).toBe('8000');
    });
    const ctl = containers['ep-controller'] as string[];
    expect(flag(ctl, '--network')).toBe('host');
    expect(flag(ctl, '--user')).toBe('node');
    expect(ctl).toContain('EP_CONFIG=/etc/ep/config.json');
    expect(ctl).toContain('/opt/ep/controller:/app:ro');
    expect(ctl).toContain('/etc/ep/host-config.json:/etc/ep/config.json:ro');
    expect(ctl.slice(ctl.indexOf('node:22-slim') + 1)).toEqual([
      'node',
      ...CONTROLLER_NODE_FLAGS,
      '/app/controller.mjs',
    ]);
  });

  it('downloads every model once, before any server starts, with the token from Secrets Manager', () => {
    const host = sim();
    bootOk(host);
    const starts = host.starts();
    expect(starts[0]).toEqual({ unit: 'ep-model-download.service', started: true, noBlock: false });
    expect(starts.slice(1).every((s) => s.noBlock)).toBe(true);
    const runs = host.calls().filter((c) => c.cmd === 'docker' && c.args[0] === 'run');
    const downloads = runs.filter((c) => c.oneshot);
    expect(downloads).toHaveLength(1);
    const dl = (downloads[0] as { args: string[] }).args;
    expect(dl.slice(-4)).toEqual(REFERENCE_MODELS.map((m) => m.hfId));
    expect(flag(dl, '--env-file')).toBe('/etc/ep/hf.env');
    expect(flag(dl, '--entrypoint')).toBe('python3');
    expect(dl).toContain('/var/lib/ep/hf-cache:/root/.cache/huggingface');
    // The servers never see the token.
    for (const r of runs.filter((c) => !c.oneshot)) expect(r.args).not.toContain('--env-file');

    const secret = host.calls().find((c) => c.cmd === 'aws' && c.args[0] === 'secretsmanager');
    expect(secret?.args).toEqual(
      expect.arrayContaining(['get-secret-value', '--secret-id', 'demo/hf-token']),
    );
    const hfEnv = host.path('/etc/ep/hf.env');
    expect(readFileSync(hfEnv, 'utf8')).toBe('HF_TOKEN=hf_testtoken\n');
    expect(statSync(hfEnv).mode & 0o777).toBe(0o600);
  });

  it('fetches the bundle and host config from S3 and reads metadata with an IMDSv2 token', () => {
    const host = sim();
    bootOk(host);
    expect(readFileSync(host.path('/opt/ep/controller/controller.mjs'), 'utf8')).toContain(
      's3://demo-artifacts/ep/controller/ABC123/controller.mjs',
    );
    expect(readFileSync(host.path('/etc/ep/host-config.json'), 'utf8')).toContain(
      'host-config.json',
    );
    const curls = host.calls().filter((c) => c.cmd === 'curl');
    expect(curls[0]?.args).toEqual(expect.arrayContaining(['-X', 'PUT']));
    expect(host.stubState().enabled).toEqual([
      'ep-vllm@vicuna-7b.service',
      'ep-vllm@llama-2-7b.service',
      'ep-vllm@phi-2.service',
      'ep-vllm@mistral-7b.service',
      'ep-controller.service',
    ]);
  });

  it('is idempotent: after a reboot, and after a re-run, still one container per model and no duplicate units', () => {
    const host = sim();
    bootOk(host);
    const before = host.stubState().containers;
    host.reboot(); // containers of the unclean shutdown are still there: ExecStartPre removes them
    bootOk(host);
    const after = host.stubState().containers;
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(after).toEqual(before);

    const runsBefore = host.calls().filter((c) => c.cmd === 'docker' && c.args[0] === 'run').length;
    bootOk(host); // ep-boot.service run again without a reboot: the units are active, nothing restarts
    expect(host.calls().filter((c) => c.cmd === 'docker' && c.args[0] === 'run')).toHaveLength(
      runsBefore,
    );
    expect(
      host
        .starts()
        .slice(-6)
        .every((s) => !s.started),
    ).toBe(true);
    expect(host.stubState().enabled).toHaveLength(5);
    expect(host.calls().filter((c) => c.cmd === 'mkfs.ext4')).toHaveLength(1);
  });
});

describe('ep-boot.sh with a model that cannot be downloaded', () => {
  it('serves the other models, and reports the missing one in the log and the ModelsUnavailable metric', () => {
    const host = sim();
    // What download-models.py leaves for a gated model the token may not read.
    const failed = host.path('/mnt/ep-nvme/ep-hf-cache/ep-failed');
    mkdirSync(failed, { recursive: true });
    writeFileSync(
      join(failed, 'meta-llama--Llama-2-7b-hf@default'),
      'access refused (403): accept the license at https://huggingface.co/meta-llama/Llama-2-7b-hf\n',
    );
    const r = host.boot();
    expect(r.status, r.stderr).toBe(0);
    host.playStartedUnits();
    expect(Object.keys(host.stubState().containers).sort()).toEqual([
      'ep-controller',
      'ep-vllm-mistral-7b',
      'ep-vllm-phi-2',
      'ep-vllm-vicuna-7b',
    ]);
    expect(host.stubState().enabled).not.toContain('ep-vllm@llama-2-7b.service');
    // The controller learns why, for /v1/models; the other models carry no mark.
    const config = JSON.parse(readFileSync(host.path('/etc/ep/host-config.json'), 'utf8'));
    expect(config.models).toEqual([
      { name: 'vicuna-7b' },
      { name: 'llama-2-7b', unavailable: expect.stringMatching(/^access refused \(403\)/) },
    ]);
    expect(r.stderr).toMatch(
      /^ep-boot: model llama-2-7b \(meta-llama--Llama-2-7b-hf\) UNAVAILABLE: access refused \(403\).*the other models/m,
    );
    const metric = host.calls().find((c) => c.cmd === 'aws' && c.args.includes('put-metric-data'));
    expect(metric?.args).toEqual(
      expect.arrayContaining(['ModelsUnavailable', '1', 'AutoScalingGroupName=demo-hosts']),
    );
  });

  it('still boots when CloudWatch cannot take the metric', () => {
    const host = sim();
    const r = host.boot({ STUB_CLOUDWATCH_DOWN: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/could not publish metric ModelsUnavailable/);
  });
});

describe('ep-boot.sh image pulls', () => {
  it('pulls both images while it waits for the Hugging Face token', () => {
    const host = sim(hostSettings(), { hfToken: undefined });
    const r = host.boot();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/waiting for the Hugging Face token/);
    const pulls = host.calls().filter((c) => c.cmd === 'docker' && c.args[0] === 'pull');
    expect(pulls.map((c) => c.args.at(-1)).sort()).toEqual([
      'node:22-slim',
      'vllm/vllm-openai:v0.31.0',
    ]);
    expect(host.starts()).toEqual([]);
  });

  it('logs in to Docker Hub first when the deployment has a login secret', () => {
    const host = sim(hostSettings({ dockerHubSecretId: 'demo/dockerhub' }));
    const r = host.boot({ STUB_DOCKERHUB: 'ep-bot:dckr_pat_x' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/logged in to Docker Hub as ep-bot/);
    const docker = host.calls().filter((c) => c.cmd === 'docker');
    expect(docker[0]?.args.slice(0, 3)).toEqual(['login', '--username', 'ep-bot']);
    // The token goes through stdin, never the command line.
    expect(JSON.stringify(host.calls())).not.toContain('dckr_pat_x');
  });

  it('stops with the image named when pulls keep failing', () => {
    const host = sim();
    const r = host.boot({ STUB_PULL_FAILS: '1' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/could not pull vllm\/vllm-openai:v0\.31\.0 node:22-slim/);
    expect(host.starts()).toEqual([]);
  });
});

describe('ep-boot.sh with two models on two GPUs each', () => {
  it('pins each model to its GPU pair with tensor parallel size 2', () => {
    const host = sim(hostSettings({ models: TWO_BY_TWO }));
    bootOk(host);
    const containers = host.stubState().containers;
    expect(Object.keys(containers).sort()).toEqual([
      'ep-controller',
      'ep-vllm-llama-2-7b',
      'ep-vllm-mistral-7b',
    ]);
    const mistral = containers['ep-vllm-mistral-7b'] as string[];
    const llama = containers['ep-vllm-llama-2-7b'] as string[];
    expect(flag(mistral, '--gpus')).toBe('"device=0,1"');
    expect(flag(llama, '--gpus')).toBe('"device=2,3"');
    expect(flag(serveArgs(mistral, 'vllm/vllm-openai:v0.31.0'), '--tensor-parallel-size')).toBe(
      '2',
    );
    expect(flag(serveArgs(mistral, 'vllm/vllm-openai:v0.31.0'), '--max-model-len')).toBe('8192');
    expect(flag(serveArgs(llama, 'vllm/vllm-openai:v0.31.0'), '--revision')).toBe('abc123');
    const dl = host.calls().find((c) => c.oneshot && c.args[0] === 'run')?.args ?? [];
    expect(dl.slice(-2)).toEqual(['mistralai/Mistral-7B-v0.1', 'meta-llama/Llama-2-7b-hf@abc123']);
  });
});

describe('test stubs', () => {
  it.runIf(runWithTool('shellcheck'))('the generated command wrappers pass shellcheck', () => {
    requireTool('shellcheck');
    const host = sim();
    const r = spawnSync('shellcheck', [join(host.bin, 'aws'), join(host.bin, 'systemctl')], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout).toBe(0);
  });
});
