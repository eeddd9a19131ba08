/**
 * Agents to hub: one long-lived WebSocket per agent, batches acknowledged once stored, replay of
 * what was not acknowledged, a memory-then-disk queue on the agent (docs/transport.md).
 *
 *   agent: HubClient (client.ts) -> BatchBuilder (batch.ts: ASCII JSON bytes)
 *          -> Outbox (outbox.ts: memory, Spool spool.ts) -> WebSocket
 *   hub:   registerAgentStream (hub-stream.ts: agents take turns) -> records checked (records.ts)
 *          -> IngestTarget.ingest -> ack
 */
export {
  defaultAgentId,
  HubClient,
  type HubClientOptions,
  type HubClientStatus,
  streamUrl,
} from './client.js';
export { SpoolError, TransportConfigError } from './errors.js';
export {
  type AgentConnectionStatus,
  type AgentStream,
  type AgentStreamOptions,
  type IngestTarget,
  registerAgentStream,
} from './hub-stream.js';
export { AGENT_STREAM_PATH, CLOSE, PROTOCOL_VERSION } from './protocol.js';
