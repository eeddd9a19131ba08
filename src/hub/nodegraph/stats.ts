/**
 * The three graph modes of k8spacket's node graph (`stats-type`: connection, bytes, duration) and
 * what each prints on nodes and edges (CONTRACTS.md's table; k8spacket's connection_stats.go,
 * bytes_stats.go, duration_stats.go). Missing values print `N/A`.
 *
 * Where podwire differs, on purpose:
 * - bytes are per second of connection time (bytes ÷ seconds), where k8spacket divided bytes by
 *   milliseconds and printed "/s"; a node's rate is over the connections it took part in at either
 *   end, as its bytes are (k8spacket divided them by the time of the connections it served only);
 * - a node with nothing to show has `arc__3` ("No data") = 1, so every node's arcs sum to 1 (k8spacket
 *   left both arcs at 0).
 */
import { byteSize, durationMs } from './format.js';
import { NOT_AVAILABLE } from './names.js';

export const STATS_TYPES = ['connection', 'bytes', 'duration'] as const;
export type StatsType = (typeof STATS_TYPES)[number];

export function isStatsType(s: string): s is StatsType {
  return (STATS_TYPES as readonly string[]).includes(s);
}

/** A display name and colour, as the fields response declares them. */
export interface FieldLook {
  displayName: string;
  color?: string;
}

/** Per mode, k8spacket's GetConfig(): display names (trailing spaces are in the originals) and colours. */
export const MODE_LOOKS: Record<
  StatsType,
  { mainStat: FieldLook; secondaryStat: FieldLook; arc1: FieldLook; arc2: FieldLook }
> = {
  connection: {
    mainStat: { displayName: 'All connections ' },
    secondaryStat: { displayName: 'Persistent connections ' },
    arc1: { displayName: 'Persistent connections', color: 'green' },
    arc2: { displayName: 'Short-lived connections', color: 'red' },
  },
  bytes: {
    mainStat: { displayName: 'Bytes received ' },
    secondaryStat: { displayName: 'Bytes responded ' },
    arc1: { displayName: 'Bytes received', color: 'blue' },
    arc2: { displayName: 'Bytes responded', color: 'yellow' },
  },
  duration: {
    mainStat: { displayName: 'Average duration ' },
    secondaryStat: { displayName: 'Max duration ' },
    arc1: { displayName: 'Average duration', color: 'purple' },
    arc2: { displayName: 'Max duration', color: 'white' },
  },
};

/** The arc of a node with nothing to show in the mode. */
export const NO_DATA_ARC: FieldLook = { displayName: 'No data', color: 'gray' };

/** What a node has added up (k8spacket's ConnectionEndpoint, with the time for byte rates). */
export interface NodeTotals {
  /** Connections it served (it was the destination). */
  connCount: number;
  connPersistent: number;
  /** Durations of the connections it served, µs. */
  durationUs: number;
  maxDurationUs: number;
  /** Bytes it received and sent, at either end. */
  bytesReceived: number;
  bytesSent: number;
  /** Durations of the connections it took part in at either end, µs: the time its bytes flowed in. */
  activeUs: number;
}

/** What an edge (a client IP, server IP pair) has added up. */
export interface EdgeTotals {
  connCount: number;
  connPersistent: number;
  bytesSent: number;
  bytesReceived: number;
  durationUs: number;
  maxDurationUs: number;
}

export interface NodeStats {
  mainStat: string;
  secondaryStat: string;
  arc__1: number;
  arc__2: number;
  arc__3: number;
}

export interface EdgeStats {
  mainStat: string;
  secondaryStat: string;
}

function na(main: string, secondary: string): NodeStats {
  return {
    mainStat: `${main}: ${NOT_AVAILABLE}`,
    secondaryStat: `${secondary}: ${NOT_AVAILABLE}`,
    arc__1: 0,
    arc__2: 0,
    arc__3: 1,
  };
}

/** Bytes over a time in µs, as a rate per second. */
function rate(bytes: number, us: number): string {
  return `${byteSize(bytes / (us / 1e6))}/s`;
}

/** k8spacket prints durations under a microsecond (0.001 ms) as `<0.001s`. */
function duration(us: number): string {
  const ms = us / 1000;
  return ms >= 0.001 ? durationMs(ms) : '<0.001s';
}

export function nodeStats(mode: StatsType, t: NodeTotals): NodeStats {
  switch (mode) {
    case 'connection': {
      if (t.connCount <= 0) return na('all', 'persistent');
      const arc1 = t.connPersistent / t.connCount;
      return {
        mainStat: `all: ${t.connCount}`,
        secondaryStat: `persistent: ${t.connPersistent}`,
        arc__1: arc1,
        arc__2: 1 - arc1,
        arc__3: 0,
      };
    }
    case 'bytes': {
      const total = t.bytesReceived + t.bytesSent;
      if (t.activeUs <= 0 || total <= 0) return na('recv', 'resp');
      const arc1 = t.bytesReceived / total;
      return {
        mainStat: `recv: ${rate(t.bytesReceived, t.activeUs)}`,
        secondaryStat: `resp: ${rate(t.bytesSent, t.activeUs)}`,
        arc__1: arc1,
        arc__2: 1 - arc1,
        arc__3: 0,
      };
    }
    case 'duration': {
      if (t.connCount <= 0) return na('avg', 'max');
      const avg = t.durationUs / t.connCount;
      // All durations 0 (single-packet connections): the average is the maximum.
      const arc1 = t.maxDurationUs > 0 ? avg / t.maxDurationUs : 1;
      return {
        mainStat: `avg: ${duration(avg)}`,
        secondaryStat: `max: ${duration(t.maxDurationUs)}`,
        arc__1: arc1,
        arc__2: 1 - arc1,
        arc__3: 0,
      };
    }
  }
}

export function edgeStats(mode: StatsType, t: EdgeTotals): EdgeStats {
  switch (mode) {
    case 'connection':
      return { mainStat: `all: ${t.connCount}`, secondaryStat: `persistent: ${t.connPersistent}` };
    case 'bytes':
      if (t.durationUs <= 0 || t.bytesSent + t.bytesReceived <= 0)
        return { mainStat: `sent: ${NOT_AVAILABLE}`, secondaryStat: `recv: ${NOT_AVAILABLE}` };
      return {
        mainStat: `sent: ${rate(t.bytesSent, t.durationUs)}`,
        secondaryStat: `recv: ${rate(t.bytesReceived, t.durationUs)}`,
      };
    case 'duration':
      if (t.connCount <= 0)
        return { mainStat: `avg: ${NOT_AVAILABLE}`, secondaryStat: `max: ${NOT_AVAILABLE}` };
      return {
        mainStat: `avg: ${duration(t.durationUs / t.connCount)}`,
        secondaryStat: `max: ${duration(t.maxDurationUs)}`,
      };
  }
}
