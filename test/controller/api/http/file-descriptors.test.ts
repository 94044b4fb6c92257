import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  connectionBudget,
  openFileLimit,
} from '../../../../controller/api/http/file-descriptors.ts';

describe('file descriptor budget', () => {
  it("reads the soft open-file limit from the process's limits", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-limits-'));
    try {
      const file = join(dir, 'limits');
      writeFileSync(
        file,
        'Limit                     Soft Limit           Hard Limit           Units\n' +
          'Max open files            4096                 524288               files\n',
      );
      expect(openFileLimit(file)).toBe(4096);
      writeFileSync(
        file,
        'Max open files            unlimited            unlimited            files\n',
      );
      expect(openFileLimit(file)).toBeUndefined();
      expect(openFileLimit(join(dir, 'missing'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the reserve free of client connections, and a configured cap can only lower it', () => {
    expect(
      connectionBudget({ configured: undefined, reserved: 1024, openFileLimit: 20_000 })
        .maxConnections,
    ).toBe(18_976);
    expect(
      connectionBudget({ configured: 50_000, reserved: 1024, openFileLimit: 20_000 })
        .maxConnections,
    ).toBe(18_976);
    expect(
      connectionBudget({ configured: 500, reserved: 1024, openFileLimit: 20_000 }).maxConnections,
    ).toBe(500);
    // A small limit halves the reserve rather than leave no room for clients.
    expect(
      connectionBudget({ configured: undefined, reserved: 1024, openFileLimit: 1024 })
        .maxConnections,
    ).toBe(512);
  });

  it('applies to this process: its own limit is known on Linux', () => {
    if (process.platform === 'linux') expect(openFileLimit()).toBeGreaterThan(0);
  });
});
