/**
 * @module
 * Whether the rehearsal's outside tools are here. Locally a missing tool skips the rehearsal suites with a message;
 * under CI (`CI` set) the suites run and fail, so a machine without Terraform or moto cannot pass quietly.
 */
import { missingCommands } from '../../../scripts/rehearse/tools.ts';

export function runRehearsalSuites(): boolean {
  const missing = missingCommands();
  if (missing.length === 0 || process.env.CI) return true;
  console.warn(
    `SKIPPED the deploy rehearsal: ${missing.join(', ')} not on PATH. In CI these tests fail instead.`,
  );
  return false;
}
