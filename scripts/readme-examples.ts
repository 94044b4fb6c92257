/**
 * @module
 * The README's example requests and responses, produced by a real run so they cannot drift from the service.
 * Starts the four local models and a controller on a free loopback port (the same models and defaults as
 * `npm start`), sends each example's request with a real API key, and rewrites the README's blocks between
 * `<!-- example:NAME -->` and `<!-- /example:NAME -->`. The local n-gram models are deterministic, so a fresh run
 * reproduces the blocks exactly; numbers are rounded to 6 significant digits for reading.
 *
 * Usage: `npm run readme-examples` rewrites README.md; `npm run readme-examples -- --check` exits 1 when it is
 * out of date (test/scripts/readme-examples.test.ts runs the same check).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stringify from 'json-stringify-pretty-compact';
import { KeyAdmin } from '../controller/auth/key-admin.ts';
import { openKeyStore } from '../controller/auth/stores/open-key-store.ts';
import { parseConfig } from '../controller/config.ts';
import type { PerplexityResponse } from '../controller/api/schemas.ts';
import { startController } from '../controller/main.ts';
import { createLogger } from '../controller/observability/logger.ts';
import { startLocalFleet } from '../images/local-lm/index.ts';
import { isMainModule } from './lib/main-module.ts';

export const README_PATH = new URL('../README.md', import.meta.url);

/** Where the README says the service is: `npm start`'s default address. */
const README_URL = 'http://127.0.0.1:8000';
const WIDTH = 110;
const SIGNIFICANT_DIGITS = 6;

/** One request the README shows, and how much of its answer. */
interface ReadmeExample {
  /** Block names: `NAME-request` and `NAME-response`. */
  readonly name: string;
  readonly path: string;
  readonly body: unknown;
  /** NDJSON: the answer is one JSON value per line, shown one per line. @default false */
  readonly stream?: boolean;
  /**
   * The part of the answer the README shows (`"…"` keys mark what is left out). A stream's answer is the array
   * of its lines.
   */
  readonly excerpt: (response: unknown) => unknown;
}

const TEXTS = [
  'The ship sailed across the sea at dawn.',
  'dawn sea the across at ship sailed The.',
];

export const README_EXAMPLES: readonly ReadmeExample[] = [
  {
    name: 'perplexity',
    path: '/v1/perplexity',
    body: { texts: TEXTS },
    // The first text in full but for three of its models; of the second only the ensemble.
    excerpt: (response) => {
      const r = response as PerplexityResponse;
      return {
        ...r,
        results: r.results.map((result, i) => {
          const [first, ...rest] = Object.entries(result.models);
          const models =
            i === 0 && first
              ? { [first[0]]: first[1], ...(rest.length ? { '…': {} } : {}) }
              : { '…': {} };
          return { ...result, models };
        }),
      };
    },
  },
  {
    name: 'stream',
    path: '/v1/perplexity',
    body: { texts: ['one', 'two', 'three'], stream: true },
    stream: true,
    // Lines leave in completion order, which varies from run to run: the README shows them by index.
    excerpt: (response) => {
      const lines = response as Array<{ index?: number; ensemble?: { perplexity: number } }>;
      const byIndex = (line: { index?: number }) => line.index ?? Number.POSITIVE_INFINITY;
      return [...lines]
        .sort((a, b) => byIndex(a) - byIndex(b))
        .map((line) =>
          line.index === undefined
            ? line
            : {
                index: line.index,
                ensemble: { perplexity: line.ensemble?.perplexity, '…': {} },
                models: { '…': {} },
              },
        );
    },
  },
  {
    name: 'legacy',
    path: '/ensemble_perplexity',
    body: { prompts: TEXTS },
    excerpt: (r) => r,
  },
];

/** The curl command the README shows for an example. */
export function curlBlock(example: ReadmeExample): string {
  const body = stringify(example.body, { maxLength: Infinity });
  if (body.includes("'")) throw new Error(`${example.name}: the body cannot hold a single quote`);
  const accept = example.stream ? ` -H 'Accept: application/x-ndjson'` : '';
  return [
    '```sh',
    `curl -s${example.stream ? 'N' : ''} ${README_URL}${example.path} \\`,
    `  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json'${accept} \\`,
    `  -d '${body}'`,
    '```',
  ].join('\n');
}

/** The response block the README shows for an example's answer. */
export function responseBlock(example: ReadmeExample, response: unknown): string {
  const rounded: unknown = JSON.parse(
    JSON.stringify(example.excerpt(response)),
    (_key, value: unknown) =>
      typeof value === 'number' && !Number.isInteger(value)
        ? Number(value.toPrecision(SIGNIFICANT_DIGITS))
        : value,
  );
  const text = example.stream
    ? (rounded as unknown[]).map((line) => stringify(line, { maxLength: Infinity })).join('\n')
    : stringify(rounded, { maxLength: WIDTH });
  return ['```jsonc', text, '```'].join('\n');
}

/**
 * Runs every example against a fresh local stack and returns the README blocks by name.
 * @throws Error when a request does not answer 200
 */
export async function renderReadmeExamples(): Promise<Map<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'ep-readme-'));
  const fleet = await startLocalFleet({ host: '127.0.0.1' });
  try {
    const store = `file:${join(dir, 'keys.json')}`;
    const { key } = await new KeyAdmin(openKeyStore(store, { create: true })).create({
      name: 'readme',
    });
    const config = parseConfig({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
      auth: { store },
    });
    const controller = await startController(config, { logger: createLogger('silent') });
    try {
      const blocks = new Map<string, string>();
      for (const example of README_EXAMPLES) {
        const res = await fetch(`${controller.url}${example.path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            ...(example.stream ? { accept: 'application/x-ndjson' } : {}),
          },
          body: JSON.stringify(example.body),
        });
        const text = await res.text();
        if (res.status !== 200) {
          throw new Error(`${example.name}: ${example.path} answered ${res.status}: ${text}`);
        }
        blocks.set(`${example.name}-request`, curlBlock(example));
        const answer: unknown = example.stream
          ? text
              .split('\n')
              .filter((line) => line !== '')
              .map((line) => JSON.parse(line) as unknown)
          : JSON.parse(text);
        blocks.set(`${example.name}-response`, responseBlock(example, answer));
      }
      return blocks;
    } finally {
      await controller.close();
    }
  } finally {
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const MARKED = /(<!-- example:([\w-]+) -->\n)([\s\S]*?)(\n<!-- \/example:\2 -->)/g;

/** The README's marked blocks by name (without their markers). */
export function readBlocks(readme: string): Map<string, string> {
  return new Map([...readme.matchAll(MARKED)].map((m) => [m[2]!, m[3]!]));
}

/**
 * The README with every marked block replaced.
 * @throws Error when the README lacks a block the examples produce, or marks one they do not
 */
export function replaceBlocks(readme: string, blocks: ReadonlyMap<string, string>): string {
  const marked = readBlocks(readme);
  const missing = [...blocks.keys()].filter((name) => !marked.has(name));
  const unknown = [...marked.keys()].filter((name) => !blocks.has(name));
  if (missing.length || unknown.length) {
    throw new Error(
      `README markers do not match the examples (missing: ${missing.join(', ') || 'none'}; unknown: ${unknown.join(', ') || 'none'})`,
    );
  }
  return readme.replace(MARKED, (_all, open: string, name: string, _old, close: string) => {
    return `${open}${blocks.get(name)}${close}`;
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  const readme = readFileSync(README_PATH, 'utf8');
  const updated = replaceBlocks(readme, await renderReadmeExamples());
  if (updated === readme) {
    console.log('README.md examples are up to date');
    return 0;
  }
  if (check) {
    console.error('README.md examples are out of date: run npm run readme-examples');
    return 1;
  }
  writeFileSync(README_PATH, updated);
  console.log('rewrote the examples in README.md');
  return 0;
}

if (isMainModule(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
