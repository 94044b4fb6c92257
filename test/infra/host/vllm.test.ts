/**
 * The vLLM containers: serve flags, docker run arguments, and the systemd template that must reproduce each
 * server's exact `docker run` once systemd fills in the instance's environment file.
 */
import { describe, expect, it } from 'vitest';
import {
  downloadContainer,
  vllmContainer,
  vllmServeArgs,
  DEFAULT_VLLM_IMAGE,
} from '../../../infra/host/vllm.ts';
import { dockerRunArgs } from '../../../infra/host/docker-run.ts';
import { placeModels } from '../../../infra/host/placement.ts';
import { REFERENCE_MODELS } from '../../../infra/host/reference-models.ts';
import {
  systemdWord,
  unitLogging,
  vllmInstanceEnv,
  vllmTemplateUnit,
} from '../../../infra/host/systemd.ts';
import { TWO_BY_TWO } from './fixtures.ts';
import { execArgv, parseEnvFile, parseUnit, unitValues } from './systemd-words.ts';

describe('vllmServeArgs', () => {
  it('sets the scoring flags for one model', () => {
    const [phi] = placeModels([REFERENCE_MODELS[2]!], 4);
    expect(vllmServeArgs(phi!)).toEqual([
      'microsoft/phi-2', // positional: `vllm serve --model` is deprecated
      '--served-model-name', 'phi-2',
      '--max-model-len', '2048',
      '--tensor-parallel-size', '1',
      '--gpu-memory-utilization', '0.85',
      '--max-num-seqs', '64',
      '--max-num-batched-tokens', '2048',
      '--no-enable-prefix-caching',
      '--disable-uvicorn-access-log',
      '--host', '0.0.0.0',
      '--port', '8000',
    ]); // prettier-ignore
  });

  it('takes per-model tuning, a revision and extra arguments', () => {
    const [m] = placeModels(
      [
        {
          ...TWO_BY_TWO[1],
          gpuMemoryUtilization: 0.9,
          maxNumSeqs: 32,
          maxNumBatchedTokens: 4096,
          extraArgs: ['--quantization', 'fp8'],
        },
      ],
      4,
    );
    const args = vllmServeArgs(m!);
    expect(args.join(' ')).toContain('--revision abc123 --tokenizer-revision abc123');
    expect(args.join(' ')).toContain(
      '--tensor-parallel-size 2 --gpu-memory-utilization 0.9 --max-num-seqs 32 --max-num-batched-tokens 4096',
    );
    expect(args.slice(-2)).toEqual(['--quantization', 'fp8']);
  });

  it('rejects tuning vLLM would refuse at boot', () => {
    const [m] = placeModels([REFERENCE_MODELS[0]!], 4);
    const bad = { ...m!, model: { ...m!.model, gpuMemoryUtilization: 1.5 } };
    expect(() => vllmContainer(bad, DEFAULT_VLLM_IMAGE)).toThrow(
      /vicuna-7b: gpuMemoryUtilization must be in \(0, 1\], got 1.5/,
    );
    const zero = { ...m!, model: { ...m!.model, maxNumSeqs: 0 } };
    expect(() => vllmContainer(zero, DEFAULT_VLLM_IMAGE)).toThrow(
      /maxNumSeqs must be a positive integer/,
    );
  });
});

describe('docker run of a vLLM server', () => {
  it('pins GPUs with the nested quotes, publishes on loopback only and mounts the cache read-only', () => {
    const placed = placeModels(TWO_BY_TWO, 4);
    const args = dockerRunArgs(vllmContainer(placed[1]!, DEFAULT_VLLM_IMAGE));
    expect(args.slice(0, 4)).toEqual(['run', '--rm', '--name', 'ep-vllm-llama-2-7b']);
    expect(args[args.indexOf('--gpus') + 1]).toBe('"device=2,3"');
    expect(args[args.indexOf('--publish') + 1]).toBe('127.0.0.1:8002:8000');
    expect(args).toContain('/var/lib/ep/hf-cache:/root/.cache/huggingface:ro');
    expect(args).toContain('HF_HUB_OFFLINE=1');
    expect(args).not.toContain('--env-file');
    expect(args).not.toContain('--log-driver');
  });

  it('the download container gets the token file and a writable cache, no GPU and no port', () => {
    const args = dockerRunArgs(
      downloadContainer(placeModels(REFERENCE_MODELS, 4), DEFAULT_VLLM_IMAGE),
    );
    expect(args).toContain('--env-file');
    expect(args).toContain('/var/lib/ep/hf-cache:/root/.cache/huggingface');
    expect(args).not.toContain('--gpus');
    expect(args).not.toContain('--publish');
  });
});

describe('systemd rendering', () => {
  it('quotes words for Exec lines', () => {
    expect(systemdWord('plain/path:ro')).toBe('plain/path:ro');
    expect(systemdWord('"device=0,1"')).toBe(`'"device=0,1"'`);
    expect(systemdWord('50%')).toBe('50%%');
    expect(systemdWord('a b')).toBe(`'a b'`);
    expect(systemdWord(`it's`)).toBe(`"it's"`);
    expect(execArgv(systemdWord(`it's "x" \\ 5% $HOME`))).toEqual([`it's "x" \\ 5% $HOME`]);
  });

  it.each([
    ['the reference models', REFERENCE_MODELS],
    ['two models on two GPUs', TWO_BY_TWO],
  ])('the template reproduces every server of %s exactly', (_, models) => {
    const placed = placeModels(models, 4);
    const servers = placed.map((p) => vllmContainer(p, DEFAULT_VLLM_IMAGE));
    const template = parseUnit(vllmTemplateUnit(servers, placed));
    placed.forEach((p, i) => {
      const instance = p.containerName.replace('ep-vllm-', '');
      const env = {
        EP_REGION: 'eu-west-1',
        EP_LOG_GROUP: '/ep/demo',
        ...parseEnvFile(vllmInstanceEnv(servers[i]!, p)),
      };
      const argv = execArgv(unitValues(template, 'ExecStart')[0]!, { env, host: 'h', instance });
      const logging = {
        ...unitLogging(p.containerName),
        region: 'eu-west-1',
        logGroupName: '/ep/demo',
        stream: `h/${p.containerName}`,
      };
      expect(argv).toEqual(['/usr/bin/docker', ...dockerRunArgs(servers[i]!, logging)]);
      expect(execArgv(unitValues(template, 'ExecStartPre')[0]!, { instance })).toEqual([
        '-/usr/bin/docker',
        'rm',
        '-f',
        p.containerName,
      ]);
    });
  });

  it('refuses servers the template cannot describe', () => {
    const placed = placeModels(REFERENCE_MODELS, 4);
    const servers = placed.map((p) => vllmContainer(p, DEFAULT_VLLM_IMAGE));
    const odd = [servers[0]!, { ...servers[1]!, image: 'vllm/vllm-openai:other' }];
    expect(() => vllmTemplateUnit(odd, placed)).toThrow(
      /ep-vllm-llama-2-7b differs from ep-vllm-vicuna-7b/,
    );
  });

  it('refuses serve arguments that systemd would split or expand', () => {
    const [m] = placeModels(
      [{ ...REFERENCE_MODELS[0]!, extraArgs: ['--chat-template', 'a b'] }],
      4,
    );
    const spec = vllmContainer(m!, DEFAULT_VLLM_IMAGE);
    expect(() => vllmInstanceEnv(spec, m!)).toThrow(
      /vicuna-7b: vLLM argument "a b" may not contain spaces/,
    );
  });
});
