/**
 * MQTT 3.1 (IBM), 3.1.1 (OASIS) and 5.0 (OASIS) over TCP: every control packet, the version-
 * dependent variable headers and 5.0 properties, Topic Aliases, and the pairing of each request
 * with its acknowledgement (QoS 2 flows as one exchange).
 */
import type { TcpDissector } from '../dissector.js';
import { detectMqtt } from './detect.js';
import { MqttSession } from './session.js';

export const mqttDissector: TcpDissector = {
  name: 'mqtt',
  protocol: 'mqtt',
  ports: [1883],
  spec: 'MQTT 3.1 (IBM), MQTT 3.1.1 (OASIS Standard), MQTT 5.0 (OASIS Standard)',
  detect: detectMqtt,
  createSession: (ctx) => new MqttSession(ctx),
};
