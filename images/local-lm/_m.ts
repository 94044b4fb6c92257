import { trainModel, loadModel } from './models.ts';
import { DEFAULT_MODEL_NAMES } from './model-specs.ts';
const m = trainModel({
  name: 't',
  tokenizer: 'llama',
  order: 3,
  corpus: 'the cat sat on the mat.\n\nthe dog sat on the log.\n\nthe cat ate the fish.',
});
const toks = [1, ...m.tokenizer.encode('the cat sat', false)];
for (let pos = 1; pos < toks.length + 1; pos++) {
  const d = m.scorer.distribution(toks, pos);
  let s = 0;
  for (const x of d) s += x;
  const tk = toks[pos] ?? 3;
  console.log(
    pos,
    s,
    d[tk],
    m.scorer.probRecursive(toks.slice(0, pos), tk),
    pos < toks.length ? m.scorer.scorePosition(toks, pos, 3) : '',
  );
}
const t0 = performance.now();
const models = await Promise.all(
  DEFAULT_MODEL_NAMES.map((n) => loadModel(n, { cacheDir: '/tmp/lmcache' })),
);
console.log('loaded all', performance.now() - t0, process.memoryUsage().rss / 1e6);
for (const mm of models) {
  const text = 'The people of this country deserve a government that works for them.';
  const ids = [mm.tokenizer.prefixToken, ...mm.tokenizer.encode(text, false)];
  let nll = 0;
  for (let i = 1; i < ids.length; i++) nll -= mm.scorer.scorePosition(ids, i, 1).logprob;
  console.log(
    mm.name,
    Math.exp(nll / (ids.length - 1)),
    mm.scorer.data.followTok.length,
    mm.scorer.data.childIds.length,
  );
}
