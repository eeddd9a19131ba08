/**
 * Redis: RESP2 and RESP3 (redis.io protocol spec), commands paired with replies in order, pub/sub
 * and RESP3 pushes as entries of their own. tshark's `resp` decode-as name maps here (registry.ts).
 */
import type { TcpDissector } from '../dissector.js';
import { detectRedis } from './detect.js';
import { RedisSession } from './session.js';

export const redisDissector: TcpDissector = {
  name: 'redis',
  protocol: 'redis',
  ports: [6379],
  spec: 'RESP2/RESP3: redis.io/docs/latest/develop/reference/protocol-spec',
  detect: detectRedis,
  createSession: (ctx) => new RedisSession(ctx),
};

export { RedisSession } from './session.js';
