/**
 * download-models.py, run with python3 against a stand-in huggingface_hub module that records its calls:
 * which files it skips, and that a finished model is not fetched again after a reboot.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTool, runWithTool } from './tools.ts';

const SCRIPT = fileURLToPath(new URL('../../../infra/host/download-models.py', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ep-download-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FAKE_HUB = `
import json, os
REPOS = json.loads(os.environ["FAKE_REPOS"])
def _log(entry):
    with open(os.environ["FAKE_LOG"], "a") as f:
        f.write(json.dumps(entry) + "\\n")
class GatedRepoError(Exception):
    pass
class _Flaky(Exception):
    pass
def list_repo_files(repo_id, revision=None):
    _log({"call": "list", "repo": repo_id, "revision": revision})
    if repo_id.startswith("gated/"):
        raise GatedRepoError("403 Client Error: access to model " + repo_id + " is restricted")
    if repo_id.startswith("flaky/"):
        raise _Flaky("Connection reset by peer")
    return REPOS[repo_id]
def snapshot_download(repo_id, revision=None, ignore_patterns=None, max_workers=8):
    _log({"call": "download", "repo": repo_id, "revision": revision, "ignore": ignore_patterns})
    return "/cache/hub/" + repo_id.replace("/", "--")
`;

interface LogEntry {
  call: string;
  repo: string;
  revision: string | null;
  ignore?: string[];
}

describe.runIf(runWithTool('python3'))('download-models.py', () => {
  const fakeDir = join(tmp, 'fake');
  mkdirSync(join(fakeDir, 'huggingface_hub'), { recursive: true });
  writeFileSync(join(fakeDir, 'huggingface_hub', '__init__.py'), FAKE_HUB);
  const home = join(tmp, 'hf-home');
  const log = join(tmp, 'calls.jsonl');
  const env = {
    ...process.env,
    PYTHONPATH: fakeDir,
    EP_DOWNLOAD_ATTEMPTS: '3',
    EP_DOWNLOAD_BACKOFF_SECONDS: '0',
    HF_HOME: home,
    FAKE_LOG: log,
    FAKE_REPOS: JSON.stringify({
      'meta-llama/Llama-2-7b-hf': [
        'config.json',
        'model-00001-of-00002.safetensors',
        'pytorch_model-00001-of-00002.bin',
      ],
      'lmsys/vicuna-7b-v1.5': [
        'config.json',
        'pytorch_model-00001-of-00002.bin',
        'tokenizer.model',
      ],
    }),
  };
  const run = (...refs: string[]) =>
    spawnSync('python3', [SCRIPT, ...refs], { env, encoding: 'utf8' });
  const calls = (): LogEntry[] =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogEntry);

  it('downloads each model, skipping pickle weights only where safetensors exist', () => {
    requireTool('python3');
    const r = run('meta-llama/Llama-2-7b-hf@abc123', 'lmsys/vicuna-7b-v1.5');
    expect(r.status, r.stderr).toBe(0);
    const downloads = calls().filter((c) => c.call === 'download');
    expect(downloads.map((d) => [d.repo, d.revision])).toEqual([
      ['meta-llama/Llama-2-7b-hf', 'abc123'],
      ['lmsys/vicuna-7b-v1.5', null],
    ]);
    expect(downloads[0]?.ignore).toEqual(
      expect.arrayContaining(['*.bin', '*.pth', 'original/*', '*.gguf', 'consolidated*']),
    );
    expect(downloads[1]?.ignore).not.toContain('*.bin');
    expect(downloads[1]?.ignore).toContain('*.gguf');
  });

  it('does not ask the Hub again for a model already complete (reboot), only for a new one', () => {
    requireTool('python3');
    const before = calls().length;
    const r = run(
      'meta-llama/Llama-2-7b-hf@abc123',
      'lmsys/vicuna-7b-v1.5',
      'meta-llama/Llama-2-7b-hf@def456',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/meta-llama\/Llama-2-7b-hf@abc123: already in the cache/);
    expect(
      calls()
        .slice(before)
        .map((c) => `${c.call} ${c.repo}@${c.revision}`),
    ).toEqual(['list meta-llama/Llama-2-7b-hf@def456', 'download meta-llama/Llama-2-7b-hf@def456']);
  });

  it('fails without arguments', () => {
    requireTool('python3');
    const r = run();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/usage: download-models.py/);
  });

  it('downloads each model on its own: a refused model is marked failed at once, a flaky one after bounded retries, the others complete', () => {
    requireTool('python3');
    const before = calls().length;
    const r = run('gated/llama', 'flaky/mirror', 'lmsys/vicuna-7b-v1.5');
    expect(r.status, r.stderr).toBe(0);
    const attempts = calls()
      .slice(before)
      .filter((c) => c.call === 'list')
      .map((c) => c.repo);
    // Gated: no retry (another attempt cannot help). Flaky: 3 attempts (EP_DOWNLOAD_ATTEMPTS), then given up.
    expect(attempts.filter((x) => x === 'gated/llama')).toHaveLength(1);
    expect(attempts.filter((x) => x === 'flaky/mirror')).toHaveLength(3);
    expect(readFileSync(join(home, 'ep-failed', 'gated--llama@default'), 'utf8')).toMatch(
      /access refused \(gated\): accept the license at https:\/\/huggingface\.co\/gated\/llama/,
    );
    expect(readFileSync(join(home, 'ep-failed', 'flaky--mirror@default'), 'utf8')).toMatch(
      /_Flaky: Connection reset by peer/,
    );
    expect(r.stdout).toMatch(/gated\/llama: UNAVAILABLE after 1 attempt/);
    expect(r.stdout).toMatch(/1 of 3 models in the cache/);
  });

  it('fails only when no model at all could be downloaded, and forgets old failures on the next run', () => {
    requireTool('python3');
    expect(run('gated/llama').status).toBe(1);
    expect(run('lmsys/vicuna-7b-v1.5').status).toBe(0);
    // A retry (the boot script runs again) starts clean for each model it is given.
    const r = run('gated/llama', 'lmsys/vicuna-7b-v1.5');
    expect(r.status).toBe(0);
    expect(readFileSync(join(home, 'ep-failed', 'gated--llama@default'), 'utf8')).toMatch(
      /refused/,
    );
  });
});
