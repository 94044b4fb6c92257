/**
 * @module
 * Writes images/compose.yaml and images/compose.config.json from the host generators, formatted like the rest
 * of the repository. Usage: `npx tsx infra/host/write-compose.ts` (a test fails when they are out of date).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { composeControllerConfig, renderCompose } from './compose.ts';

export const COMPOSE_FILE = fileURLToPath(new URL('../../images/compose.yaml', import.meta.url));
export const COMPOSE_CONFIG_FILE = fileURLToPath(
  new URL('../../images/compose.config.json', import.meta.url),
);

/** The two files' expected contents, keyed by path. */
export async function composeFiles(): Promise<Record<string, string>> {
  const yamlOpts = { ...(await resolveConfig(COMPOSE_FILE)), filepath: COMPOSE_FILE };
  const jsonOpts = { ...(await resolveConfig(COMPOSE_CONFIG_FILE)), filepath: COMPOSE_CONFIG_FILE };
  return {
    [COMPOSE_FILE]: await format(renderCompose(), yamlOpts),
    [COMPOSE_CONFIG_FILE]: await format(JSON.stringify(composeControllerConfig()), jsonOpts),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [path, text] of Object.entries(await composeFiles())) {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
