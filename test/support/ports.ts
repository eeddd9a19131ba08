/** TCP ports for tests that must name a port before anything listens on it. */
import { type AddressInfo, createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that nothing listens on: it was free a moment ago, when the kernel gave it
 * to a listener that is now closed. For a child process told its port on the command line, or a
 * client started before its server.
 */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
