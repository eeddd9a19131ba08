#!/usr/bin/env node
/**
 * The benchmark's "API pod": a plain node:http server that answers every GET with the same JSON body
 * (a few hundred bytes, shaped like a Kubernetes object) over keep-alive connections, so `wrk` produces
 * the many small request/response exchanges typical of service-to-service traffic.
 *
 * usage: node bench/http-server.mjs HOST PORT
 * Prints `listening HOST:PORT` on stdout once it accepts connections. Stops on SIGTERM or SIGINT.
 */
import { createServer } from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 8080);

// Built once: the benchmark measures the capture, not this server, so it should be cheap per request.
const body = Buffer.from(
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'checkout-7d9f8b6c5d-x2x7q',
      namespace: 'shop',
      uid: '3f6c2a4e-9b1d-4e8a-a5c7-2d4f6b8e0a1c',
      resourceVersion: '48213377',
      labels: { app: 'checkout', 'pod-template-hash': '7d9f8b6c5d' },
    },
    spec: { nodeName: 'node-a', containers: [{ name: 'checkout', image: 'shop/checkout:1.42.0' }] },
    status: { phase: 'Running', podIP: '198.18.0.20', hostIP: '198.18.0.1' },
  }),
);
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-length': '0' });
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.end(body);
});

server.listen(port, host, () => {
  process.stdout.write(`listening ${host}:${port}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
