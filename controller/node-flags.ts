/**
 * @module
 * The Node (V8) flags the controller process runs with, wherever it runs as its own process (the AWS hosts'
 * container, the benchmarks). Under load every request's objects outlive a few young-generation collections,
 * so they die in the old generation, which V8 lets grow by up to 4× between full collections and keeps once
 * grown. A 20 % growing factor and 8 MiB semi-spaces keep the resident size near what is live: in the full-load
 * benchmark (`npm run bench -- --memory`), peak RSS 216 instead of 357 MiB and no growth instead of ~60 MiB/min,
 * for roughly 10 % more CPU in garbage collection. Flags of V8 (https://v8.dev/docs) passed on Node's command
 * line: `node --heap-growing-percent=20 --max-semi-space-size=8 controller.mjs`.
 */
export const CONTROLLER_NODE_FLAGS: readonly string[] = [
  '--heap-growing-percent=20',
  '--max-semi-space-size=8',
];
