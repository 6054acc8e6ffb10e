/** The gearmand launcher lives with the local fleet (scripts/fleet/gearmand.ts); tests use the same one. */
export * from '../../../scripts/fleet/gearmand';
