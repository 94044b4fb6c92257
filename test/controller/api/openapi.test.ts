import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssembledController } from '../../../controller/api/server.ts';
import { startTestApp } from '../../helpers/controller.ts';

describe('OpenAPI document and docs page', () => {
  // The document and the docs page need no backend: discovery of this unreachable one just fails.
  let controller: AssembledController;
  beforeAll(async () => {
    controller = await startTestApp({
      models: [{ name: 'm', backends: ['http://127.0.0.1:9'] }],
      timeouts: { discoveryMs: 1 },
    });
  });
  afterAll(async () => {
    await controller?.close();
  });

  it('validates as OpenAPI 3 and documents every route, field and limit', async () => {
    const doc: any = await (await controller.app.request('/openapi.json')).json();
    const result = await validate(structuredClone(doc));
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/v1/perplexity',
      '/ensemble_perplexity',
      '/ensemble_model_names',
      '/v1/models',
      '/healthz',
      '/readyz',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const request = doc.components.schemas.PerplexityRequest;
    expect(Object.keys(request.properties)).toEqual(
      expect.arrayContaining(['texts', 'models', 'min_models', 'weights', 'details', 'timeout_ms']),
    );
    // The schema admits a stream's count; plain requests are held to 1000 by a refinement (see stream.test.ts).
    expect(request.properties.texts.maxItems).toBe(100000);
    expect(request.properties.stream.type).toBe('boolean');
    expect(request.properties.texts.items.maxLength).toBe(200000);
    expect(doc.paths['/v1/perplexity'].post.security).toEqual([{ apiKey: [] }]);
    // Every status a scoring route can answer is documented, the wrong-method and wrong-media ones included.
    for (const path of ['/v1/perplexity', '/ensemble_perplexity']) {
      expect(Object.keys(doc.paths[path].post.responses)).toEqual(
        expect.arrayContaining(['400', '401', '405', '413', '415', '503']),
      );
    }
    expect(doc.components.schemas.TextError.properties.param.type).toBe('string');
    expect(doc.components.securitySchemes.apiKey.scheme).toBe('bearer');
  });

  it('serves the docs page at /', async () => {
    const res = await controller.app.request('/');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/swagger/i);
    expect(html).toContain('/openapi.json');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await controller.app.request('/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.type).toBe('not_found');
  });
});
