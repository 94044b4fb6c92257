/**
 * The controller's import graph, read with the TypeScript compiler (type-only imports included): no cycle, Hono
 * only inside `api/`, and the layers below `api/` reach into it only for the wire types of `api/schemas.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CONTROLLER = join(ROOT, 'controller');

interface Import {
  /** The specifier as written. */
  readonly specifier: string;
  /** Repository-relative path of the imported file, for relative specifiers. */
  readonly target: string | undefined;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Every import and re-export of a file, with whether it is erased at run time. */
function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found: Import[] = [];
  const add = (node: ts.Expression | undefined, typeOnly: boolean) => {
    if (!node || !ts.isStringLiteral(node)) return;
    const specifier = node.text;
    const target = specifier.startsWith('.')
      ? relative(ROOT, resolve(dirname(file), specifier))
      : undefined;
    found.push({ specifier, target, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allNamedTypeOnly =
        !!named &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly) &&
        !clause?.name;
      add(node.moduleSpecifier, !!clause?.isTypeOnly || allNamedTypeOnly);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal as ts.Expression, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const graph = new Map(
  sourceFiles(CONTROLLER).map((file) => [relative(ROOT, file), importsOf(file)]),
);

/** Every cycle's files, found by a depth-first walk (each cycle reported once, from where it was entered). */
function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (!target || !graph.has(target)) continue;
      if (state.get(target) === 'open') found.push([...stack.slice(stack.indexOf(target)), target]);
      else if (!state.has(target)) walk(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) walk(file);
  return found;
}

const inApi = (file: string) => file.startsWith('controller/api/');
const isHono = (specifier: string) =>
  specifier === 'hono' || specifier.startsWith('hono/') || specifier.startsWith('@hono/');

describe('controller import graph', () => {
  it('reads the whole controller, every relative import resolving to a file', () => {
    expect(graph.size).toBeGreaterThan(50);
    const dangling = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((i) => i.target?.startsWith('controller/') && !graph.has(i.target))
        .map((i) => `${file} → ${i.specifier}`),
    );
    expect(dangling).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(cycles().map((c) => c.join(' → '))).toEqual([]);
  });

  it('finds a cycle when there is one (the walker itself works)', () => {
    const a = 'controller/a.ts';
    const b = 'controller/b.ts';
    graph.set(a, [{ specifier: './b.ts', target: b, typeOnly: true }]);
    graph.set(b, [{ specifier: './a.ts', target: a, typeOnly: true }]);
    try {
      expect(cycles()).toEqual([[a, b, a]]);
    } finally {
      graph.delete(a);
      graph.delete(b);
    }
  });

  it('imports Hono only inside api/', () => {
    const offenders = [...graph].flatMap(([file, imports]) =>
      inApi(file)
        ? []
        : imports.filter((i) => isHono(i.specifier)).map((i) => `${file} → ${i.specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('reaches into api/ from below only for the wire types of api/schemas.ts (type-only)', () => {
    const offenders = [...graph].flatMap(([file, imports]) =>
      inApi(file) || file === 'controller/main.ts'
        ? []
        : imports
            .filter((i) => i.target && inApi(i.target))
            .filter((i) => !(i.target === 'controller/api/schemas.ts' && i.typeOnly))
            .map((i) => `${file} → ${i.specifier}`),
    );
    expect(offenders).toEqual([]);
  });
});
