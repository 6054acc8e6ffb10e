import { makeHandler } from './make-handler';

export const handler = makeHandler('BUILD_DEVICE');
