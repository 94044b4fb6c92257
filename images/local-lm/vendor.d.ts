/** mistral-tokenizer-js ships no types; it has the same shape as llama-tokenizer-js (see tokenizers.ts). */
declare module 'mistral-tokenizer-js' {
  const tokenizer: unknown;
  export default tokenizer;
}
