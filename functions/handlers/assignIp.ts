import { makeHandler } from './make-handler';

export const handler = makeHandler('ASSIGN_IP');
