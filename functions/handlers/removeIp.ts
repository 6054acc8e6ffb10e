import { makeHandler } from './make-handler';

export const handler = makeHandler('REMOVE_IP');
