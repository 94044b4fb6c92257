// Worker bootstrap in plain JS: registers tsx's loader inside the worker, then runs the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./train-worker.ts');
