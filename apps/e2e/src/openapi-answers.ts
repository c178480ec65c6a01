import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { repoRoot } from './system';

type Json = Record<string, unknown>;

/** Every `$ref` to the document's own components, made absolute (`doc#/components/...`), so ajv resolves it in the added document. */
function absoluteRefs(value: unknown, doc: string): unknown {
  if (Array.isArray(value)) return value.map((v) => absoluteRefs(v, doc));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${doc}${v}` : absoluteRefs(v, doc)]),
  );
}

/**
 * Checks real answers of an HTTP API against its checked-in OpenAPI document
 * (docs/api/<file>): the path must be documented, the status documented for
 * it, and the JSON body valid against that response's schema (JSON Schema
 * 2020-12, formats checked). Records which documented responses were seen,
 * so a test can require that every one of them was.
 */
export class OpenApiAnswers {
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  private readonly document: Json;
  private readonly seenResponses = new Set<string>();

  constructor(file: string) {
    const id = `openapi:${file}`;
    this.document = absoluteRefs(JSON.parse(readFileSync(join(repoRoot, 'docs', 'api', file), 'utf8')), id) as Json;
    this.ajv.addSchema({ $id: id, components: this.document['components'] });
  }

  /** Every documented response, as `METHOD /path/{template} status`. */
  documented(): string[] {
    const out: string[] = [];
    for (const [template, operations] of Object.entries(this.document['paths'] as Record<string, Record<string, Json>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const status of Object.keys(operation['responses'] as Json)) out.push(`${method.toUpperCase()} ${template} ${status}`);
      }
    }
    return out.sort();
  }

  seen(): string[] {
    return [...this.seenResponses].sort();
  }

  /**
   * Problems with one answer (empty when it is as documented): `path` is the
   * request's path without its query string, as sent (percent-encoded).
   */
  problems(method: string, path: string, status: number, body: unknown): string[] {
    const segments = path.split('/');
    const match = Object.entries(this.document['paths'] as Record<string, Record<string, Json>>).find(([template]) => {
      const parts = template.split('/');
      return parts.length === segments.length && parts.every((p, i) => (p.startsWith('{') ? segments[i] !== '' : p === segments[i]));
    });
    if (match === undefined) return [`${path}: no documented path`];
    const [template, operations] = match;
    const operation = operations[method.toLowerCase()];
    if (operation === undefined) return [`${method} ${template}: not documented`];
    const response = (operation['responses'] as Record<string, Json>)[String(status)];
    if (response === undefined) return [`${method} ${template}: status ${status} not documented`];
    this.seenResponses.add(`${method.toUpperCase()} ${template} ${status}`);
    const schema = (response['content'] as Record<string, { schema: Json }> | undefined)?.['application/json']?.schema;
    if (schema === undefined) return [];
    const validate = this.ajv.compile(schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${method} ${template} ${status}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** GET `url`, its JSON body checked against the document; throws on any problem, so a test fails at the call. */
  async get<T = Json>(url: string): Promise<{ status: number; body: T }> {
    const response = await fetch(url);
    const body = (await response.json()) as T;
    const problems = this.problems('GET', new URL(url).pathname, response.status, body);
    if (problems.length > 0) throw new Error(`answer not as documented in the OpenAPI document:\n${problems.join('\n')}\nbody: ${JSON.stringify(body)}`);
    return { status: response.status, body };
  }
}
