/**
 * Error bodies as each service spells them. Handlers throw ApiError; the service's
 * front door turns it into its own format.
 */
import { STATUS_CODES } from 'node:http';
import type { SimReply } from './http';
import type { ServiceName } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Neutron's NeutronError.type, e.g. 'FloatingIPNotFound'. */
    readonly errorType?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

export function defaultMessage(status: number): string {
  switch (status) {
    case 400:
      return 'The server could not comply with the request since it is either malformed or otherwise incorrect.';
    case 401:
      return 'The request you have made requires authentication.';
    case 403:
      return 'Access was denied to this resource.';
    case 404:
      return 'The resource could not be found.';
    case 405:
      return 'The method is not allowed for the requested URL.';
    case 409:
      return 'There was a conflict when trying to complete your request.';
    case 500:
      return 'An unexpected error prevented the server from fulfilling your request.';
    case 503:
      return 'The server is currently unavailable. Please try again at a later time.';
    default:
      return statusTitle(status);
  }
}

const NOVA_FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** Nova's wsgi Fault: `{"itemNotFound": {"code": 404, "message": "..."}}`; other codes are 'computeFault'. */
export function novaErrorBody(status: number, message: string): Record<string, { code: number; message: string }> {
  return { [NOVA_FAULT_NAMES[status] ?? 'computeFault']: { code: status, message } };
}

const NEUTRON_DEFAULT_TYPES: Record<number, string> = {
  400: 'HTTPBadRequest',
  401: 'HTTPUnauthorized',
  403: 'HTTPForbidden',
  404: 'HTTPNotFound',
  405: 'HTTPMethodNotAllowed',
  409: 'HTTPConflict',
  500: 'HTTPInternalServerError',
  503: 'HTTPServiceUnavailable',
};

export function neutronErrorBody(
  status: number,
  message: string,
  type?: string,
): { NeutronError: { type: string; message: string; detail: string } } {
  return { NeutronError: { type: type ?? NEUTRON_DEFAULT_TYPES[status] ?? 'NeutronError', message, detail: '' } };
}

export function keystoneErrorBody(
  status: number,
  message: string,
): { error: { code: number; message: string; title: string } } {
  return { error: { code: status, message, title: statusTitle(status) } };
}

/**
 * Plain webob HTTP exceptions (Glance raises these): webob renders them as JSON only when the
 * client prefers application/json, and as a small HTML page otherwise.
 */
export function webobErrorReply(status: number, message: string, accept: string | undefined): SimReply {
  const statusLine = `${status} ${statusTitle(status)}`;
  const wantsJson = accept !== undefined && accept.includes('application/json') && !accept.includes('text/html');
  if (wantsJson) {
    return { status, body: { message: `${message}<br /><br />\n\n\n`, code: statusLine, title: statusTitle(status) } };
  }
  const html = `<html>\n <head>\n  <title>${statusLine}</title>\n </head>\n <body>\n  <h1>${statusLine}</h1>\n  ${message}<br /><br />\n\n\n\n </body>\n</html>`;
  return { status, text: html, contentType: 'text/html; charset=UTF-8' };
}

/**
 * What every token-protected service answers without a valid token. The rejection comes from
 * keystonemiddleware's auth_token filter in front of Nova, Neutron and Glance alike, so the body is
 * Keystone's error format, with a WWW-Authenticate header naming the identity endpoint.
 */
export function authRequiredReply(identityUrl: string): SimReply {
  return {
    status: 401,
    body: keystoneErrorBody(401, 'The request you have made requires authentication.'),
    headers: { 'WWW-Authenticate': `Keystone uri="${identityUrl}"` },
  };
}

/** The error reply a service gives for `status`, e.g. for an injected fault without a body. */
export function serviceErrorReply(service: ServiceName, status: number, message: string, accept?: string): SimReply {
  switch (service) {
    case 'identity':
      return { status, body: keystoneErrorBody(status, message) };
    case 'compute':
      return { status, body: novaErrorBody(status, message) };
    case 'network':
      return { status, body: neutronErrorBody(status, message) };
    case 'image':
      return webobErrorReply(status, message, accept);
  }
}
