import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyAdmin } from '../../../../controller/auth/key-admin.ts';
import { openKeyStore } from '../../../../controller/auth/stores/open-key-store.ts';
import type { ControllerConfigInput } from '../../../../controller/config.ts';
import type { AssembledController } from '../../../../controller/api/server.ts';
import { startFakeVllm } from '../../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../../helpers/fake-vllm.ts';
import { requestJson, startTestApp } from '../../../helpers/controller.ts';

const LLAMA = 'meta-llama/Llama-2-7b-hf';
const PHI = 'microsoft/phi-2';

/** The routes of the earlier Python service (haizelabs/ensembled-perplexity), configured by `legacy`. */
describe('legacy routes', () => {
  const backends: FakeVllm[] = [];
  const apps: AssembledController[] = [];
  let dir: string;
  let store: string;
  let key: string;

  beforeAll(async () => {
    for (const servedName of ['llama-2-7b', 'phi-2']) {
      backends.push(await startFakeVllm({ servedName }));
    }
    dir = mkdtempSync(join(tmpdir(), 'ep-legacy-'));
    store = `file:${join(dir, 'keys.json')}`;
    key = (await new KeyAdmin(openKeyStore(store, { create: true })).create({ name: 'legacy' }))
      .key;
  });
  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const b of backends.splice(0)) await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function app(legacy: ControllerConfigInput['legacy']) {
    const assembled = await startTestApp({
      models: [
        { name: 'llama-2-7b', hfId: LLAMA, backends: [backends[0]!.url] },
        { name: 'phi-2', hfId: PHI, aliases: ['phi'], backends: [backends[1]!.url] },
      ],
      auth: { store },
      legacy,
    });
    apps.push(assembled);
    return assembled.app;
  }
  const score = (
    a: AssembledController['app'],
    query = '',
    headers: Record<string, string> = { authorization: `Bearer ${key}` },
  ) => requestJson(a, `/ensemble_perplexity${query}`, { prompts: ['Hello world', 'abc'] }, headers);
  const q = (modelNames: string) => `?model_names=${encodeURIComponent(modelNames)}`;

  it('needs a key by default, and with openAccess only on the legacy route', async () => {
    const keyed = await app({});
    expect((await score(keyed, '', {})).status).toBe(401);
    expect((await score(keyed)).status).toBe(200);

    const open = await app({ openAccess: true });
    const anonymous = await score(open, '', {});
    expect(anonymous.status).toBe(200);
    expect(Object.keys(anonymous.json)).toEqual(['llama-2-7b', 'phi-2']);
    expect(anonymous.json['phi-2']).toHaveLength(2);
    const v1 = await requestJson(open, '/v1/perplexity', { texts: ['abc'] });
    expect(v1.status).toBe(401);
  });

  it('takes Hugging Face ids and aliases in model_names, answering under the names asked for', async () => {
    const a = await app({});
    const byId = await score(a, q(`${PHI},${LLAMA}`));
    expect(byId.status).toBe(200);
    expect(Object.keys(byId.json)).toEqual([PHI, LLAMA]);
    const byName = await score(a, q('phi-2'));
    expect(byName.json[PHI]).toBeUndefined();
    expect(byName.json['phi-2']).toEqual(byId.json[PHI]);
    const byAlias = await score(a, q('phi'));
    expect(byAlias.json.phi).toEqual(byId.json[PHI]);

    const unknown = await score(a, q('microsoft/phi-3'));
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.param).toBe('model_names');
    const twice = await score(a, q(`phi,${PHI}`));
    expect(twice.status).toBe(400);
    expect(twice.json.error.param).toBe('model_names');
  });

  it('names models by Hugging Face id with responseNames "hfId", as the earlier service did', async () => {
    const named = await app({});
    expect(await (await named.request('/ensemble_model_names')).json()).toEqual([
      'llama-2-7b',
      'phi-2',
    ]);
    const a = await app({ responseNames: 'hfId' });
    expect(await (await a.request('/ensemble_model_names')).json()).toEqual([LLAMA, PHI]);
    const all = await score(a);
    expect(Object.keys(all.json)).toEqual([LLAMA, PHI]);
  });

  it('matches model_names by substring only when asked to', async () => {
    // The earlier service picked every model whose id occurs anywhere in the string.
    const spaced = q(`["${PHI}", "${LLAMA}"]`);
    const exact = await app({});
    const refused = await score(exact, spaced);
    expect(refused.status).toBe(404);
    expect(refused.json.error.param).toBe('model_names');

    const substring = await app({ modelNamesMatch: 'substring', responseNames: 'hfId' });
    const both = await score(substring, spaced);
    expect(both.status).toBe(200);
    expect(Object.keys(both.json)).toEqual([LLAMA, PHI]);
    const one = await score(substring, q(`${PHI} only`));
    expect(Object.keys(one.json)).toEqual([PHI]);
    const none = await score(substring, q('gpt-4'));
    expect(none.status).toBe(404);
    expect(none.json.error.param).toBe('model_names');
  });
});
