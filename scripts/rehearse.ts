/**
 * @module
 * `npm run rehearse`: a deploy rehearsal without AWS. The real synthesized stack is applied with real Terraform
 * to moto's server mode on loopback (TLS), checked through the emulator's APIs, a host boots from the applied user
 * data with the real `ep-boot.sh` and AWS CLI, the controller serves a keyed request on the load balancer's path,
 * the key is revoked, and the stack is destroyed without a trace, applied again and destroyed again.
 *
 *   npm run rehearse [-- --variant default|domain|hosts2] [--once] [--keep]
 *   npm run rehearse -- --break bundle-sha|host-port|leftover-secret   (the rehearsal's own tests)
 *
 * Prints a phase table and a last line `rehearsal: ok …`, or `rehearsal: FAILED at <phase>: <message>`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../infra/context.ts';
import { isMainModule } from './lib/main-module.ts';
import { assertApplied, type Outputs } from './rehearse/assert-state.ts';
import { awsCli, awsClientEnv, cleanEnv } from './rehearse/aws-env.ts';
import {
  waitForAllModels,
  waitForCalibrationMaking,
  loadBalancerPath,
  runOutputCommand,
  score,
  throughLoadBalancer,
  waitFor200,
} from './rehearse/e2e.ts';
import { makeLoopbackCert, startMoto, type Moto } from './rehearse/emulator.ts';
import { startFront, type Front } from './rehearse/front.ts';
import { bootHost, type BootedHost } from './rehearse/host.ts';
import { newSince, takeInventory, type Inventory } from './rehearse/inventory.ts';
import { buildOverride, type OverrideFault } from './rehearse/override.ts';
import { PhaseError, PhaseLog } from './rehearse/phases.ts';
import { synthStack, VARIANTS, type SynthFault, type VariantName } from './rehearse/synth.ts';
import { applyWithRecovery, terraformIn, type TerraformRunner } from './rehearse/terraform.ts';
import {
  findProviderMirror,
  missingCommands,
  terraformVersion,
  ToolMissingError,
} from './rehearse/tools.ts';

/** Deliberate faults, and the phase each must fail (test/scripts/rehearse-faults.test.ts). */
export const FAULTS = {
  'bundle-sha': 'boot',
  'host-port': 'ready',
  'leftover-secret': 'verify-empty',
} as const;
export type FaultName = keyof typeof FAULTS;

export interface RehearsalOptions {
  readonly variant: VariantName;
  readonly fault?: FaultName;
  /** Skip the second apply/destroy. */
  readonly once?: boolean;
  /** Keep the temporary folder (printed) for inspection. */
  readonly keep?: boolean;
  readonly say?: (line: string) => void;
}

const TEXT =
  'The committee met on Tuesday to review the budget, and after a long discussion it agreed to fund the new library.';

/** Whether every port is free on 127.0.0.1 (outside a private network namespace the host's ports are shared). */
async function portsFree(ports: number[]): Promise<number[]> {
  const busy: number[] = [];
  for (const port of ports) {
    await new Promise<void>((done) => {
      const s = createServer();
      s.once('error', () => {
        busy.push(port);
        done();
      });
      s.listen(port, '127.0.0.1', () => s.close(() => done()));
    });
  }
  return busy;
}

/** Runs the rehearsal. Resolves with the phase log; rejects with a PhaseError naming the failed phase. */
export async function rehearse(o: RehearsalOptions): Promise<{ log: PhaseLog; summary: string }> {
  const say = o.say ?? ((l: string) => console.log(l));
  const log = new PhaseLog(say);
  const work = mkdtempSync(join(tmpdir(), 'ep-rehearsal-'));
  let moto: Moto | undefined;
  let front: Front | undefined;
  let host: BootedHost | undefined;
  const notes: string[] = [];
  try {
    const mirror = await log.run(
      'tools',
      async () => {
        const missing = missingCommands();
        if (missing.length) throw new ToolMissingError(`missing on PATH: ${missing.join(', ')}`);
        const m = findProviderMirror();
        say(
          `  ${terraformVersion()}; hashicorp/aws ${m.version} in ${m.dir} (found by ${m.foundBy})`,
        );
        return m;
      },
      (m) =>
        `aws provider ${m.version}${process.env.EP_REHEARSAL_NETNS ? ', private network namespace' : ''}`,
    );

    const synthFault =
      o.fault === 'bundle-sha' || o.fault === 'host-port' ? (o.fault as SynthFault) : undefined;
    const synth = await log.run(
      'synth',
      () =>
        synthStack({
          outdir: join(work, 'synth'),
          variant: o.variant,
          ...(synthFault ? { fault: synthFault } : {}),
        }),
      (s) =>
        `${Object.values(s.stack.resource ?? {}).reduce((n, r) => n + Object.keys(r).length, 0)} resources, ${s.settings.models.length} models${synthFault ? `, FAULT ${synthFault}` : ''}`,
    );
    const region = synth.settings.region;

    const emulator = await log.run(
      'emulator',
      async () => {
        const cert = makeLoopbackCert(work);
        moto = await startMoto(cert);
        front = await startFront(cert, moto.url);
        say(
          `  moto at ${moto.url}; the rehearsal's front at ${front.url} forwards to it and stands in for CloudFront VPC origins`,
        );
        const env = cleanEnv(
          awsClientEnv({ endpoint: front.url, caFile: cert.certFile, region, dir: work }),
        );
        return { cert, env };
      },
      () => 'moto_server (TLS) + front with VPC-origin stand-in',
    );
    const env = emulator.env;

    const stackDir = join(work, 'stack');
    const tf: TerraformRunner = await log.run(
      'init',
      async () => {
        cpSync(synth.stackDir, stackDir, { recursive: true });
        const override = buildOverride(synth.stack, {
          endpoint: front!.url,
          caBundle: emulator.cert.certFile,
          providerVersion: mirror.version,
          parameterPrefix: '/ep-rehearsal',
          ...(o.fault === 'leftover-secret' ? { fault: o.fault as OverrideFault } : {}),
        });
        writeFileSync(
          join(stackDir, 'rehearsal_override.tf.json'),
          `${JSON.stringify(override.json, null, 2)}\n`,
        );
        for (const w of override.workarounds) {
          say(`  override ${w.name}: ${w.why}`);
          notes.push(w.name);
        }
        if (override.parameters.length) {
          const images = (await awsCli(env, [
            'ec2',
            'describe-images',
            '--owners',
            'amazon',
            // An Amazon Linux 2 image from moto's own list; the name filter keeps the answer small.
            '--filters',
            'Name=name,Values=amzn2-ami-hvm-*-x86_64-gp2',
          ])) as {
            Images: Array<{ ImageId: string }>;
          };
          const ami = images.Images[0]?.ImageId;
          if (!ami)
            throw new Error('the emulator lists no Amazon Linux 2 image to stand in for the DLAMI');
          for (const p of override.parameters) {
            await awsCli(env, [
              'ssm',
              'put-parameter',
              '--name',
              p.name,
              '--type',
              'String',
              '--value',
              ami,
              '--overwrite',
            ]);
          }
        }
        if (synth.settings.domain?.hostedZoneName) {
          await awsCli(env, [
            'route53',
            'create-hosted-zone',
            '--name',
            synth.settings.domain.hostedZoneName,
            '--caller-reference',
            `rehearsal-${Date.now()}`,
          ]);
        }
        const runner = terraformIn(stackDir, env);
        await runner.run(['init', '-input=false', `-plugin-dir=${mirror.dir}`]);
        await runner.run(['validate']);
        return runner;
      },
      () => `override: ${notes.join(', ')}`,
    );

    const baseline: Inventory = await takeInventory(env);

    await log.run(
      'plan',
      () => tf.run(['plan', '-input=false', '-out=tfplan']),
      (r) => /Plan: [^\n]+/.exec(r.output)?.[0] ?? '',
    );
    const recovered = await log.run(
      'apply',
      () => applyWithRecovery(tf, env),
      (r) =>
        r.length
          ? `recovered ${r.length} dropped-connection duplicate(s) by import: ${r.join('; ')}`
          : 'applied',
    );

    const outputs: Outputs = await (async () => {
      const r = await tf.run(['output', '-json']);
      const parsed = JSON.parse(r.output.slice(r.output.indexOf('{'))) as Record<
        string,
        { value: unknown }
      >;
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v.value)]));
    })();

    const applied = await log.run(
      'state',
      async () => {
        const fresh = newSince(baseline, await takeInventory(env));
        const a = await assertApplied({
          stack: synth.stack,
          outputs,
          fresh,
          env,
          bundleSha256: synth.bundleSha256,
          // As many instances as the group's desired capacity in the synthesized stack.
          hostCount: Number(
            Object.values(synth.stack.resource?.aws_autoscaling_group ?? {})[0]?.desired_capacity ??
              Object.values(synth.stack.resource?.aws_autoscaling_group ?? {})[0]?.min_size ??
              1,
          ),
        });
        const lbs = (fresh.load_balancers ?? []) as Array<{ arn: string; scheme?: string }>;
        return { ...a, lbArn: lbs[0]?.arn ?? '' };
      },
      (a) => a.checks.join('; '),
    );

    await log.run(
      'hf-token',
      () =>
        runOutputCommand(outputs.set_hf_token_command!, {
          cwd: REPO_ROOT,
          env: { ...env, HF_TOKEN: 'hf_rehearsalTokenNotReal0123' },
        }),
      () => 'set_hf_token_command',
    );

    const hostConfigPorts = (() => {
      const obj = Object.values(synth.stack.resource?.aws_s3_object ?? {}).find(
        (b) => typeof b.content === 'string',
      );
      const cfg = JSON.parse(String(obj?.content ?? '{}')) as {
        port?: number;
        models?: Array<{ backends: string[] }>;
      };
      return [
        cfg.port ?? 8080,
        ...(cfg.models ?? []).flatMap((m) => m.backends.map((b) => Number(new URL(b).port))),
      ];
    })();

    const key = await log.run(
      'first-key',
      async () => {
        const out = await runOutputCommand(outputs.create_first_key_command!, {
          cwd: REPO_ROOT,
          env,
        });
        const k = /\bep_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}\b/.exec(out)?.[0];
        if (!k) throw new Error(`create_first_key_command printed no key: ${out.slice(0, 300)}`);
        return { key: k, id: k.slice(3, 15) };
      },
      (k) => `key id ${k.id}`,
    );

    host = await log.run(
      'boot',
      async () => {
        if (!process.env.EP_REHEARSAL_NETNS) {
          const busy = await portsFree(hostConfigPorts);
          if (busy.length)
            throw new Error(
              `ports ${busy.join(', ')} are in use here; run as root with unshare available so the host gets its own loopback`,
            );
        }
        const described = (await awsCli(env, [
          'ec2',
          'describe-instances',
          '--instance-ids',
          applied.instanceId,
        ])) as {
          Reservations: Array<{
            Instances: Array<{
              PrivateIpAddress?: string;
              Placement?: { AvailabilityZone?: string };
            }>;
          }>;
        };
        const inst = described.Reservations[0]?.Instances[0];
        return bootHost({
          root: join(work, 'host'),
          userData: applied.userData,
          identity: {
            instanceId: applied.instanceId,
            region,
            availabilityZone: inst?.Placement?.AvailabilityZone ?? `${region}a`,
            privateIp: inst?.PrivateIpAddress ?? '10.0.0.10',
          },
          awsEnv: Object.fromEntries(
            Object.entries(env).filter(
              ([k]) => k.startsWith('AWS_') || k === 'NODE_EXTRA_CA_CERTS',
            ),
          ) as Record<string, string>,
          repoRoot: REPO_ROOT,
        });
      },
      (h) =>
        `${Object.keys(h.containers()).length} containers: ${Object.keys(h.containers()).join(', ')}`,
    );

    const lb = await loadBalancerPath(env, applied.lbArn);
    const base = `http://127.0.0.1:${lb.port}`;
    await log.run(
      'ready',
      async () => {
        if (!hostConfigPorts.includes(lb.port))
          throw new Error(
            `the target group sends port ${lb.port}; the controller listens on ${hostConfigPorts[0]}`,
          );
        await waitFor200(`${base}${lb.healthPath}`, 90_000, throughLoadBalancer(lb));
        // Every configured model, not just the load balancer's quorum.
        return waitForAllModels(
          `${base}/readyz`,
          synth.settings.models.length,
          60_000,
          throughLoadBalancer(lb),
        );
      },
      (n) =>
        `${lb.healthPath === '/readyz' ? '' : `${lb.healthPath} and `}/readyz 200 on port ${lb.port}; ${n} of ${n} models ready${Object.keys(lb.requiredHeaders).length ? ` (with ${Object.keys(lb.requiredHeaders).join(', ')})` : ''}`,
    );

    await log.run(
      'score',
      async () => {
        // The key was created before the host booted, so the controller loaded it at start.
        const r = await score(base, throughLoadBalancer(lb, key.key), TEXT);
        if (r.status !== 200)
          throw new Error(
            `keyed request answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`,
          );
        const result = (r.body as { results?: Array<{ models?: unknown }> }).results?.[0];
        const models = result?.models as
          Record<string, { error?: unknown }> | Array<{ error?: unknown }> | undefined;
        const list = Array.isArray(models) ? models : Object.values(models ?? {});
        if (list.length !== synth.settings.models.length || list.some((m) => m?.error)) {
          throw new Error(
            `not every model scored the text: ${JSON.stringify(models).slice(0, 400)}`,
          );
        }
        const nokey = await score(base, throughLoadBalancer(lb), TEXT);
        if (nokey.status !== 401)
          throw new Error(`a request without a key answered ${nokey.status}, not 401`);
        const ensemble = (
          r.body as {
            results?: Array<{ ensemble?: { bits_per_byte?: number; perplexity?: number } }>;
          }
        ).results?.[0]?.ensemble;
        return ensemble;
      },
      (e) => `200 with the key (ensemble ${JSON.stringify(e ?? {}).slice(0, 80)}), 401 without`,
    );

    await log.run(
      'calibration',
      async () => {
        const uri = outputs.calibration_s3_uri ?? '';
        const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) ?? [];
        if (!bucket || !key) throw new Error(`output calibration_s3_uri is ${uri || 'missing'}`);
        // A deployment's first boot finds no calibration in the bucket; the controller makes one from its models.
        if (!host!.output.includes(`no calibration in ${uri} yet`))
          throw new Error(`the boot script did not look for the calibration at ${uri}`);
        const status = await waitForCalibrationMaking(
          `${base}/v1/calibration`,
          15_000,
          throughLoadBalancer(lb),
        );
        // The sync with the real AWS CLI: the file a controller made goes up (a stand-in file: the real one
        // takes minutes)...
        const file = join(host!.root, 'var/lib/ep/calibration/calibration.json');
        writeFileSync(file, '{"rehearsal": "a calibration file made on this host"}\n');
        const up = await host!.runScript('/opt/ep/bin/ep-calibration-sync.sh');
        if (up.code !== 0 || !/uploaded this host's calibration/.test(up.output))
          throw new Error(`the calibration sync did not upload: ${up.output.trim().slice(-300)}`);
        const head = (await awsCli(env, [
          's3api',
          'head-object',
          '--bucket',
          bucket,
          '--key',
          key,
        ])) as {
          ContentLength?: number;
        };
        // ...and an operator's deletion of the object removes the host's copy, so the controller makes afresh.
        await awsCli(env, ['s3api', 'delete-object', '--bucket', bucket, '--key', key]);
        const down = await host!.runScript('/opt/ep/bin/ep-calibration-sync.sh');
        if (down.code !== 0 || existsSync(file))
          throw new Error(
            `the deleted object's local copy stayed: ${down.output.trim().slice(-300)}`,
          );
        return { texts: status.texts_total ?? 0, bytes: head.ContentLength ?? 0 };
      },
      (r) =>
        `controller making its own from ${r.texts} reference texts; sync uploaded ${r.bytes} B, then removed the copy of a deleted object`,
    );

    await log.run(
      'revoke',
      async () => {
        const store = /--store (\S+)/.exec(outputs.create_first_key_command!)?.[1];
        // Asynchronously: the emulator's front runs in this process.
        await runOutputCommand(
          `npm run --silent keys -- revoke ${key.id} --store ${store} --region ${region}`,
          { cwd: REPO_ROOT, env },
        );
        const started = Date.now();
        for (;;) {
          const s = await score(base, throughLoadBalancer(lb, key.key), TEXT);
          if (s.status === 401) return (Date.now() - started) / 1000;
          if (Date.now() - started > 40_000)
            throw new Error(`the revoked key still answers ${s.status} after 40 s`);
          await new Promise((res) => setTimeout(res, 1000));
        }
      },
      (s) => `401 ${s.toFixed(0)} s after npm run keys -- revoke`,
    );

    await host.shutdown();
    host = undefined;

    const destroyAndVerify = async (suffix: string) => {
      await log.run(
        `destroy${suffix}`,
        () => tf.run(['destroy', '-auto-approve', '-input=false', '-parallelism=20']),
        () => 'destroyed',
      );
      await log.run(
        `verify-empty${suffix}`,
        async () => {
          const left = newSince(baseline, await takeInventory(env));
          // Our own copy of reserved parameters and the domain's hosted zone existed before the apply.
          const kinds = Object.keys(left);
          if (kinds.length) {
            throw new Error(
              `destroy left ${kinds.map((k) => `${k}: ${JSON.stringify(left[k]).slice(0, 200)}`).join('; ')}`,
            );
          }
          const origins = front!.vpcOrigins.origins.size;
          if (origins) throw new Error(`destroy left ${origins} CloudFront VPC origin(s)`);
        },
        () =>
          'nothing left (instances, EIPs, NAT, LBs, TGs, secrets incl. scheduled, buckets, logs, distributions, VPC origins, VPCs, IAM)',
      );
    };
    await destroyAndVerify('');

    if (!o.once) {
      await log.run(
        'apply-again',
        () => applyWithRecovery(tf, env),
        () => 'same name, applied',
      );
      await destroyAndVerify('-again');
    }

    const calls = [...front!.vpcOrigins.calls].map(([k, v]) => `${k}×${v}`).join(', ');
    const summary = [
      `${o.variant} stack`,
      `${Object.values(synth.stack.resource ?? {}).reduce((n, r) => n + Object.keys(r).length, 0)} resources`,
      `${log.totalSeconds().toFixed(0)} s`,
      `overrides: ${notes.join(', ')}`,
      `VPC-origin stand-in: ${calls || 'not used by this stack'}`,
      ...(recovered.length ? [`dropped-connection duplicates recovered: ${recovered.length}`] : []),
    ].join('; ');
    return { log, summary };
  } catch (err) {
    if (err instanceof PhaseError) err.table = log.table();
    throw err;
  } finally {
    await host?.shutdown().catch(() => undefined);
    await front?.close().catch(() => undefined);
    await moto?.stop().catch(() => undefined);
    if (o.keep) say(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Re-runs this process in a private network namespace so the host's fixed ports (8080, 8001…) are its own, and in
 * a private PID namespace whose first process is this one: however the rehearsal ends, the kernel ends every
 * server it started (moto, the host's containers) with it.
 */
function reexecInNetns(): number | undefined {
  if (process.env.EP_REHEARSAL_NETNS || process.env.EP_REHEARSAL_NO_NETNS) return undefined;
  if (process.getuid?.() !== 0) return undefined;
  const probe = spawnSync('unshare', ['--net', '--pid', '--fork', '--kill-child', 'true'], {
    stdio: 'ignore',
  });
  if (probe.status !== 0) return undefined;
  const r = spawnSync(
    'unshare',
    [
      '--net',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, EP_REHEARSAL_NETNS: '1' } },
  );
  return r.status ?? 1;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      variant: { type: 'string', default: 'default' },
      break: { type: 'string' },
      once: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  if (!(values.variant! in VARIANTS)) {
    console.error(`--variant must be one of ${Object.keys(VARIANTS).join(', ')}`);
    return 2;
  }
  if (values.break !== undefined && !(values.break in FAULTS)) {
    console.error(`--break must be one of ${Object.keys(FAULTS).join(', ')}`);
    return 2;
  }
  const fault = values.break as FaultName | undefined;
  let log: PhaseLog | undefined;
  try {
    const r = await rehearse({
      variant: values.variant as VariantName,
      once: values.once!,
      keep: values.keep!,
      ...(fault ? { fault } : {}),
    });
    log = r.log;
    console.log(`\n${log.table()}\n`);
    console.log(`rehearsal: ok (${r.summary})`);
    return 0;
  } catch (err) {
    const phase = err instanceof PhaseError ? err.phase : 'setup';
    const message =
      err instanceof PhaseError && err.cause instanceof Error
        ? err.cause.message
        : (err as Error).message;
    if (err instanceof PhaseError && err.table) console.log(`\n${err.table}`);
    console.log(`\nrehearsal: FAILED at ${phase}: ${message}`);
    return 1;
  }
}

if (isMainModule(import.meta.url)) {
  const code = reexecInNetns();
  if (code !== undefined) process.exit(code);
  // Stopped from outside (Ctrl-C, a test timeout): moto and the host's servers must not outlive the rehearsal.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => process.exit(130));
  process.exitCode = await main(process.argv.slice(2));
  // Servers started by the host (now stopped) may hold handles a moment; the result is already printed.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref();
}
