/** The per-request view the Neutron handlers work with. */
import { ApiError } from '../errors';
import { headerValue, isObject, parseJson } from '../http';
import type { SimRequest } from '../http';
import type { CloudContext } from '../context';
import type { Token } from '../tokens';

export class NetworkRequest {
  constructor(
    readonly cloud: CloudContext,
    readonly request: SimRequest,
    readonly token: Token,
  ) {}

  /** The JSON body; a body that does not parse is Neutron's MalformedRequestBody. */
  body(): unknown {
    const parsed = parseJson(this.request);
    if (!parsed.ok) throw new ApiError(400, 'Malformed request body: Cannot understand JSON.', 'MalformedRequestBody');
    return parsed.value;
  }

  now(): number {
    return this.cloud.now();
  }

  /**
   * The `If-Match: revision_number=N` constraint of the request (Neutron's revision-if-match
   * extension), or undefined without one. Parsed as webob and Neutron do: a comma-separated
   * list of entity tags, quoted or not; other tags are ignored, two revision tags or one that
   * is not an integer are 400 BadRequest.
   */
  revisionConstraint(): number | undefined {
    const header = headerValue(this.request, 'if-match');
    if (header === undefined) return undefined;
    let revision: number | undefined;
    for (const raw of header.split(',')) {
      const tag = raw
        .trim()
        .replace(/^W\//, '')
        .replace(/^"(.*)"$/, '$1');
      if (!tag.startsWith('revision_number=')) continue;
      if (revision !== undefined)
        throw new ApiError(
          400,
          'Bad if-match request: Multiple revision_number etags are not supported.',
          'BadRequest',
        );
      const text = tag.slice('revision_number='.length);
      if (!/^[+-]?\d+$/.test(text.trim()))
        throw new ApiError(
          400,
          'Bad if-match request: Revision number etag must be in the format of revision_number=<int>.',
          'BadRequest',
        );
      revision = Number(text);
    }
    return revision;
  }

  /** 412 as Neutron's revision plugin answers when the resource moved on since the client read it. */
  enforceRevision(current: number): void {
    const expected = this.revisionConstraint();
    if (expected !== undefined && expected !== current) {
      throw new ApiError(
        412,
        `Constrained to ${expected}, but current revision is ${current}`,
        'RevisionNumberConstraintFailed',
      );
    }
  }
}

/** How an attribute of a Neutron resource may be written (the API's allow_post / allow_put). */
export interface AttributeRule {
  post: boolean;
  put: boolean;
  /** No default: a POST must carry it. */
  required?: boolean;
}

/**
 * The `resource` object of a POST/PUT body, checked as Neutron's prepare_request_body does
 * (same order, same wording); values are validated by the caller.
 */
export function resourceFields(
  nr: NetworkRequest,
  resource: string,
  attributes: Readonly<Record<string, AttributeRule>>,
  isCreate: boolean,
): Record<string, unknown> {
  const body = nr.body();
  if (pythonFalsy(body)) throw new ApiError(400, 'Resource body required', 'HTTPBadRequest');
  if (!isObject(body)) throw new ApiError(400, 'Body contains invalid data', 'HTTPBadRequest');
  const fields = body[resource];
  if (fields === undefined || fields === null)
    throw new ApiError(400, `Unable to find '${resource}' in request body`, 'HTTPBadRequest');
  if (!isObject(fields)) throw new ApiError(400, `Object '${resource}' contains invalid data`, 'HTTPBadRequest');
  const projectId = fields.project_id ?? fields.tenant_id;
  if (fields.project_id !== undefined && fields.tenant_id !== undefined && fields.project_id !== fields.tenant_id)
    throw new ApiError(400, "'project_id' and 'tenant_id' do not match", 'HTTPBadRequest');
  if (projectId !== undefined && projectId !== nr.token.projectId) {
    // The simulator keeps every resource in its owner's project; creating for another is not modelled.
    throw new ApiError(
      403,
      "Specifying 'project_id' other than the authenticated project in request requires admin privileges",
      'HTTPForbidden',
    );
  }
  const unknown = Object.keys(fields).filter((k) => !(k in attributes) && k !== 'project_id' && k !== 'tenant_id');
  if (unknown.length > 0)
    throw new ApiError(400, `Unrecognized attribute(s) '${unknown.join(', ')}'`, 'HTTPBadRequest');
  for (const [name, rule] of Object.entries(attributes)) {
    if (isCreate && rule.required && !(name in fields))
      throw new ApiError(400, `Failed to parse request. Required attribute '${name}' not specified`, 'HTTPBadRequest');
    if (isCreate && !rule.post && name in fields)
      throw new ApiError(400, `Attribute '${name}' not allowed in POST`, 'HTTPBadRequest');
    if (!isCreate && !rule.put && name in fields)
      throw new ApiError(400, `Cannot update read-only attribute ${name}`, 'HTTPBadRequest');
  }
  if (!isCreate && ('project_id' in fields || 'tenant_id' in fields))
    throw new ApiError(
      400,
      `Cannot update read-only attribute ${'project_id' in fields ? 'project_id' : 'tenant_id'}`,
      'HTTPBadRequest',
    );
  return fields;
}

/** Neutron's attribute validation failure: "Invalid input for name. Reason: ...". */
export function invalidInput(attribute: string, reason: string): ApiError {
  return new ApiError(400, `Invalid input for ${attribute}. Reason: ${reason}.`, 'HTTPBadRequest');
}

/** validate_string: a string of at most `maxLength` characters, or undefined when absent. */
export function stringAttribute(fields: Record<string, unknown>, name: string, maxLength: number): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidInput(name, `'${pythonRepr(value)}' is not a valid string`);
  if (value.length > maxLength) throw invalidInput(name, `'${value}' exceeds maximum length of ${maxLength}`);
  return value;
}

/** convert_to_boolean: true/false or their usual spellings; other values are InvalidInput. */
export function booleanAttribute(fields: Record<string, unknown>, name: string): boolean | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).toLowerCase() : undefined;
  if (text !== undefined && ['true', 't', '1', 'on', 'y', 'yes'].includes(text)) return true;
  if (text !== undefined && ['false', 'f', '0', 'off', 'n', 'no'].includes(text)) return false;
  throw new ApiError(
    400,
    `Invalid input for operation: '${pythonRepr(value)}' cannot be converted to boolean.`,
    'InvalidInput',
  );
}

/** Neutron tests the body with Python's truthiness: null, false, 0, '', [] and {} are "no body". */
function pythonFalsy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

/** How Python prints a JSON value in Neutron's messages. */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
}
