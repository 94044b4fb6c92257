/**
 * @module
 * A stand-in for CloudFront's VPC-origin API (Create/Get/Update/Delete/ListVpcOrigins, and tags on VPC-origin
 * ARNs), which moto 5.2 does not have. It keeps the origins in memory and echoes each endpoint configuration back
 * as it was sent. moto also drops an origin's `VpcOriginConfig` from a distribution, so the stand-in remembers it
 * from CreateDistribution/UpdateDistribution and puts it back into moto's answers.
 * API shapes: https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateVpcOrigin.html
 */
import { randomBytes } from 'node:crypto';
import { EMULATED_ACCOUNT } from './emulator.ts';

const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';
const PREFIX = '/2020-05-31';

/** An answer the stand-in gives instead of moto. */
export interface StandInAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** One VPC origin as the stand-in stores it. */
export interface StoredVpcOrigin {
  readonly id: string;
  readonly arn: string;
  /** The `<VpcOriginEndpointConfig>` element exactly as the client sent it. */
  endpointConfigXml: string;
  etag: string;
  tags: Map<string, string>;
  readonly created: string;
  modified: string;
}

/** The first `<name>…</name>` element of an XML text (the documents here are small and machine-written). */
function element(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>[\\s\\S]*?</${name}>`).exec(xml);
  return m?.[0];
}

function text(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1];
}

function tagsOf(xml: string): Array<[string, string]> {
  return [
    ...xml.matchAll(/<Tag>\s*<Key>([\s\S]*?)<\/Key>\s*(?:<Value>([\s\S]*?)<\/Value>)?\s*<\/Tag>/g),
  ].map((m) => [m[1]!, m[2] ?? '']);
}

function xmlAnswer(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): StandInAnswer {
  return {
    status,
    headers: {
      'content-type': 'text/xml',
      'x-amz-request-id': randomBytes(8).toString('hex'),
      ...headers,
    },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
  };
}

function notFound(id: string): StandInAnswer {
  return xmlAnswer(
    404,
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>EntityNotFound</Code>` +
      `<Message>The VPC origin ${id} does not exist.</Message></Error></ErrorResponse>`,
  );
}

function preconditionFailed(): StandInAnswer {
  return xmlAnswer(
    412,
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>PreconditionFailed</Code>` +
      `<Message>The If-Match version is missing or not valid.</Message></Error></ErrorResponse>`,
  );
}

/** The stand-in: one per emulator. */
export class VpcOriginStandIn {
  readonly origins = new Map<string, StoredVpcOrigin>();
  /** Distribution id → origin id → `<VpcOriginConfig>` element, for putting back into moto's answers. */
  private readonly distributionOrigins = new Map<string, Map<string, string>>();
  /** Calls answered, by operation name (shown in the rehearsal's output). */
  readonly calls = new Map<string, number>();

  private count(op: string): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
  }

  private originXml(o: StoredVpcOrigin, status: string): string {
    return (
      `<VpcOrigin xmlns="${NS}"><Id>${o.id}</Id><Arn>${o.arn}</Arn><Status>${status}</Status>` +
      `<CreatedTime>${o.created}</CreatedTime><LastModifiedTime>${o.modified}</LastModifiedTime>` +
      `${o.endpointConfigXml}</VpcOrigin>`
    );
  }

  /**
   * Answers a VPC-origin call, or returns undefined for anything else (which goes to moto).
   * @param url path and query of the request
   */
  handle(
    method: string,
    url: string,
    headers: Record<string, string | string[] | undefined>,
    body: string,
  ): StandInAnswer | undefined {
    const u = new URL(url, 'https://emulator');
    const path = u.pathname;
    if (path === `${PREFIX}/tagging`) {
      const arn = u.searchParams.get('Resource') ?? '';
      const origin = [...this.origins.values()].find((o) => o.arn === arn);
      if (!origin) return undefined;
      return this.tagging(method, u.searchParams.get('Operation'), origin, body);
    }
    if (path === `${PREFIX}/vpc-origin` && method === 'POST') return this.create(body);
    if (path === `${PREFIX}/vpc-origin` && method === 'GET') return this.list();
    const m = new RegExp(`^${PREFIX}/vpc-origin/([^/]+)$`).exec(path);
    if (!m) return undefined;
    const id = decodeURIComponent(m[1]!);
    const origin = this.origins.get(id);
    if (!origin) return notFound(id);
    const ifMatch = headers['if-match'];
    if (method === 'GET') {
      this.count('GetVpcOrigin');
      return xmlAnswer(200, this.originXml(origin, 'Deployed'), { etag: origin.etag });
    }
    if (method === 'PUT') {
      this.count('UpdateVpcOrigin');
      if (ifMatch !== origin.etag) return preconditionFailed();
      const config = element(body, 'VpcOriginEndpointConfig');
      if (!config)
        return xmlAnswer(
          400,
          '<ErrorResponse><Error><Code>MalformedInput</Code></Error></ErrorResponse>',
        );
      origin.endpointConfigXml = config;
      origin.etag = randomBytes(7).toString('hex').toUpperCase();
      origin.modified = new Date().toISOString();
      return xmlAnswer(202, this.originXml(origin, 'Deployed'), { etag: origin.etag });
    }
    if (method === 'DELETE') {
      this.count('DeleteVpcOrigin');
      if (ifMatch !== origin.etag) return preconditionFailed();
      this.origins.delete(id);
      return xmlAnswer(202, this.originXml(origin, 'Deleting'), { etag: origin.etag });
    }
    return undefined;
  }

  private create(body: string): StandInAnswer {
    this.count('CreateVpcOrigin');
    const config = element(body, 'VpcOriginEndpointConfig');
    const arn = config && text(config, 'Arn');
    if (!config || !arn) {
      return xmlAnswer(
        400,
        `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>InvalidArgument</Code>` +
          `<Message>VpcOriginEndpointConfig with an Arn is required.</Message></Error></ErrorResponse>`,
      );
    }
    const id = `vo_${randomBytes(11).toString('base64url').replace(/[-_]/g, 'x')}`;
    const now = new Date().toISOString();
    const origin: StoredVpcOrigin = {
      id,
      arn: `arn:aws:cloudfront::${EMULATED_ACCOUNT}:vpcorigin/${id}`,
      endpointConfigXml: config,
      etag: randomBytes(7).toString('hex').toUpperCase(),
      tags: new Map(tagsOf(element(body, 'Tags') ?? '')),
      created: now,
      modified: now,
    };
    this.origins.set(id, origin);
    return xmlAnswer(202, this.originXml(origin, 'Deployed'), {
      etag: origin.etag,
      location: `https://cloudfront.amazonaws.com${PREFIX}/vpc-origin/${id}`,
    });
  }

  private list(): StandInAnswer {
    this.count('ListVpcOrigins');
    const items = [...this.origins.values()]
      .map(
        (o) =>
          `<VpcOriginSummary><Id>${o.id}</Id><Name>${text(o.endpointConfigXml, 'Name') ?? ''}</Name>` +
          `<Status>Deployed</Status><CreatedTime>${o.created}</CreatedTime>` +
          `<LastModifiedTime>${o.modified}</LastModifiedTime><Arn>${o.arn}</Arn>` +
          `<OriginEndpointArn>${text(o.endpointConfigXml, 'Arn') ?? ''}</OriginEndpointArn></VpcOriginSummary>`,
      )
      .join('');
    return xmlAnswer(
      200,
      `<VpcOriginList xmlns="${NS}"><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated>` +
        `<Quantity>${this.origins.size}</Quantity>${items ? `<Items>${items}</Items>` : ''}</VpcOriginList>`,
    );
  }

  private tagging(
    method: string,
    operation: string | null,
    origin: StoredVpcOrigin,
    body: string,
  ): StandInAnswer {
    if (method === 'GET') {
      this.count('ListTagsForResource(vpc-origin)');
      const items = [...origin.tags]
        .map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`)
        .join('');
      return xmlAnswer(
        200,
        `<Tags xmlns="${NS}">${items ? `<Items>${items}</Items>` : '<Items/>'}</Tags>`,
      );
    }
    if (operation === 'Tag') {
      this.count('TagResource(vpc-origin)');
      for (const [k, v] of tagsOf(body)) origin.tags.set(k, v);
      return { status: 204, headers: {}, body: '' };
    }
    if (operation === 'Untag') {
      this.count('UntagResource(vpc-origin)');
      for (const m of body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)) origin.tags.delete(m[1]!);
      return { status: 204, headers: {}, body: '' };
    }
    return xmlAnswer(
      400,
      '<ErrorResponse><Error><Code>InvalidArgument</Code></Error></ErrorResponse>',
    );
  }

  /** Whether moto's answer to this call may need a distribution's VpcOriginConfig put back (and so buffering). */
  touchesDistribution(method: string, url: string): boolean {
    return (
      /^\/2020-05-31\/distribution(\/[^/?]+(\/config)?)?(\?|$)/.test(url) && method !== 'DELETE'
    );
  }

  /**
   * Remembers the VpcOriginConfig of each origin in a CreateDistribution/UpdateDistribution request and puts it
   * back into moto's answer (which lacks it). Returns the answer body to send.
   */
  rewriteDistribution(
    method: string,
    url: string,
    requestBody: string,
    responseBody: string,
  ): string {
    const sent = new Map<string, string>();
    for (const m of requestBody.matchAll(/<Origin>([\s\S]*?)<\/Origin>/g)) {
      const id = text(m[1]!, 'Id');
      const vpc = element(m[1]!, 'VpcOriginConfig');
      if (id && vpc) sent.set(id, vpc);
    }
    const path = url.split('?')[0]!;
    const distId =
      /^\/2020-05-31\/distribution\/([^/]+)/.exec(path)?.[1] ??
      (method === 'POST' ? text(responseBody, 'Id') : undefined);
    if (!distId) return responseBody;
    if (method === 'POST' || method === 'PUT') {
      if (sent.size > 0) this.distributionOrigins.set(distId, sent);
      else this.distributionOrigins.delete(distId);
    }
    const known = this.distributionOrigins.get(distId);
    if (!known) return responseBody;
    this.count('VpcOriginConfig restored in a distribution answer');
    return responseBody.replace(/<Origin>([\s\S]*?)<\/Origin>/g, (whole, inner: string) => {
      const vpc = known.get(text(inner, 'Id') ?? '');
      if (!vpc || inner.includes('<VpcOriginConfig>')) return whole;
      // A VPC origin has no custom-origin settings; moto answers with empty defaults for them.
      const cleaned = inner
        .replace(/<CustomOriginConfig>[\s\S]*?<\/CustomOriginConfig>/, '')
        .replace(/<S3OriginConfig>[\s\S]*?<\/S3OriginConfig>/, '');
      return `<Origin>${cleaned}${vpc}</Origin>`;
    });
  }
}
