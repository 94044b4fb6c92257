/**
 * @module
 * What a benchmark result must say about where it ran: CPU model, cores, memory, OS, Node version, date and the
 * exact command, so anyone can rerun it and compare like with like.
 */
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the run ended: on a shared machine, other work skews the numbers. */
  loadAverage: number;
  date: string;
  command: string;
}

export function machineInfo(argv: readonly string[] = process.argv): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    date: new Date().toISOString(),
    command: `npm run bench --${redactKey(argv.slice(2))
      .map((a) => ` ${a}`)
      .join('')}`,
  };
}

/** The command line without the API key (`--key K` / `--key=K`): results are shared, keys are not. */
function redactKey(args: readonly string[]): string[] {
  return args.map((a, i) =>
    a.startsWith('--key=') ? '--key=***' : args[i - 1] === '--key' ? '***' : a,
  );
}
