/** The rule for tool-backed checks: skipped with a message locally, run (and failing) in CI. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireTool, runWithTool } from './tools.ts';

const MISSING = 'ep-no-such-tool';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('tool-backed checks', () => {
  it('skip with a message when a tool is missing outside CI', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(runWithTool(MISSING)).toBe(false);
    expect(warn.mock.calls[0]?.[0]).toMatch(/SKIPPED .* ep-no-such-tool: not installed/);
  });

  it('run and fail in CI when a tool is missing', () => {
    vi.stubEnv('CI', 'true');
    expect(runWithTool(MISSING)).toBe(true);
    expect(() => requireTool(MISSING)).toThrow(/ep-no-such-tool is required in CI/);
  });

  it('run when the tool is installed', () => {
    expect(runWithTool('sh')).toBe(true);
    expect(() => requireTool('sh')).not.toThrow();
  });
});
