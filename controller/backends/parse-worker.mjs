// Worker bootstrap in plain JS for running from source (tests, tsx): Node 20 workers do not inherit tsx's
// loader from `--import`, so it is registered here before the TypeScript entry loads. The controller bundle
// does not use this file: it starts the worker from source text built into the bundle.
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker.ts');
