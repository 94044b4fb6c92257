/**
 * @module
 * The loopback TLS front every client of a rehearsal talks to (Terraform, the AWS CLI, the SDK): it answers the
 * calls moto lacks through stand-ins (CloudFront VPC origins, ./vpc-origin-standin.ts) and forwards everything
 * else to moto unchanged. A connection moto drops is dropped here too, so clients see what they would see.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { LoopbackCert } from './emulator.ts';
import { VpcOriginStandIn } from './vpc-origin-standin.ts';

/**
 * Headers that describe one hop, not the request. `expect: 100-continue` (the S3 uploader sends it for large
 * bodies) was answered by this server already; the body is complete when it is forwarded.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'expect',
]);

export interface Front {
  /** `https://127.0.0.1:PORT`: the endpoint of every emulated service. */
  readonly url: string;
  readonly vpcOrigins: VpcOriginStandIn;
  /** Connections to moto that failed (and were dropped towards the client), most recent last. */
  readonly dropped: string[];
  close(): Promise<void>;
}

/** Starts the front on a free loopback port, forwarding to `motoUrl`. */
export async function startFront(cert: LoopbackCert, motoUrl: string): Promise<Front> {
  const vpcOrigins = new VpcOriginStandIn();
  const dropped: string[] = [];
  const moto = new Pool(motoUrl, { connect: { ca: cert.cert }, connections: 32, pipelining: 0 });
  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = req.url ?? '/';
      const method = req.method ?? 'GET';
      const answer = vpcOrigins.handle(method, url, req.headers, body.toString('utf8'));
      if (answer) {
        res.writeHead(answer.status, {
          ...answer.headers,
          'content-length': Buffer.byteLength(answer.body),
        });
        res.end(answer.body);
        return;
      }
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
      }
      moto
        .request({ method: method as 'GET', path: url, headers, body: body.length ? body : null })
        .then(async (r) => {
          let out: Buffer = Buffer.from(await r.body.arrayBuffer());
          if (vpcOrigins.touchesDistribution(method, url) && r.statusCode < 300) {
            out = Buffer.from(
              vpcOrigins.rewriteDistribution(
                method,
                url,
                body.toString('utf8'),
                out.toString('utf8'),
              ),
            );
          }
          const outHeaders: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers)) {
            if (v !== undefined && !HOP_BY_HOP.has(k)) outHeaders[k] = v;
          }
          // HEAD answers carry the size of what a GET would return; keep it.
          if (method !== 'HEAD') outHeaders['content-length'] = String(out.length);
          res.writeHead(r.statusCode, outHeaders);
          res.end(out);
        })
        .catch((err: Error) => {
          dropped.push(`${method} ${url.slice(0, 120)}: ${err.message}`);
          if (dropped.length > 50) dropped.shift();
          // moto dropped the connection: drop the client's too, as moto itself would have.
          res.destroy();
        });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    vpcOrigins,
    dropped,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await moto.close();
    },
  };
}
