/**
 * @module
 * The AWS API emulator of a rehearsal: moto's server mode on a free loopback port with TLS (a self-signed
 * certificate made for this run), behind the rehearsal's own loopback front (./front.ts). Everything it knows
 * lives in its memory: stopping it leaves nothing behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';

/** The account id moto answers with. */
export const EMULATED_ACCOUNT = '123456789012';

/** A certificate and key for 127.0.0.1 and localhost, valid for a day. */
export interface LoopbackCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** Makes a self-signed certificate (its own CA, so clients trust it with a CA-bundle setting). */
export function makeLoopbackCert(dir: string): LoopbackCert {
  const certFile = join(dir, 'emulator-cert.pem');
  const keyFile = join(dir, 'emulator-key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=ep-rehearsal-emulator',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr}`);
  return {
    certFile,
    keyFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  };
}

/** A port the OS says is free on 127.0.0.1 now (moto_server takes a number, not 0). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A running moto server. */
export interface Moto {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly process: ChildProcess;
  /** The server's own request log (stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `moto_server` with TLS and waits until it answers. */
export async function startMoto(cert: LoopbackCert, timeoutMs = 60_000): Promise<Moto> {
  const port = await freeLoopbackPort();
  const child = spawn(
    'moto_server',
    ['-H', '127.0.0.1', '-p', String(port), '-c', cert.certFile, '-k', cert.keyFile],
    {
      // AWS managed policies (AmazonSSMManagedInstanceCore, ...) are attached by the stack.
      // ACM issues a DNS-validated certificate after this many seconds (moto's default is 60).
      env: {
        ...process.env,
        MOTO_IAM_LOAD_MANAGED_POLICIES: 'true',
        MOTO_ACM_VALIDATION_WAIT: '5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // Never outlive the rehearsal, however it ends.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `https://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connect: { ca: cert.cert } });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`moto_server exited (${child.exitCode}): ${output.slice(-2000)}`);
      try {
        const res = await request(`${url}/moto-api/data.json`, {
          dispatcher,
          headersTimeout: 2_000,
        });
        await res.body.dump();
        if (res.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`moto_server did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await dispatcher.close();
  }
  return {
    url,
    process: child,
    log: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', reap);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
