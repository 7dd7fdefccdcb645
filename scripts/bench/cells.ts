/** What the bench measures, cell by cell: the shapes the tables and the bar read. */
import type { LatencyResult } from './latency';
import type { Target } from './targets';
import type { ThroughputResult } from './throughput';

/** Which request a latency cell sends: one that passes, or one that is rejected. */
export type Case = 'allowed' | 'blocked';

/** One latency cell: a target, a case and an RTT, measured over two runs. */
export interface LatencyCell {
  readonly target: string;
  readonly label: string;
  readonly family: Target['family'];
  readonly case: Case;
  readonly rttMs: number;
  readonly runs: LatencyResult[];
  /** Redis commands (HTTP-level, as the Upstash server received them) per limited request, per run. */
  readonly commandsPerRequest: number[];
  /** Redis commands as Upstash bills them (INFO commandstats, script commands included), per run. */
  readonly billedPerRequest: number[];
  /** Durable Object requests (RPC calls and alarms) per limited request, per run; edgelimit only. */
  readonly doRequestsPerRequest: number[];
  /** Durable Object rows written per limited request, per run; edgelimit only. */
  readonly doRowsPerRequest: number[];
}

/** One throughput cell: a target at an RTT. */
export interface ThroughputCell {
  readonly target: string;
  readonly label: string;
  readonly rttMs: number;
  readonly result: ThroughputResult;
}
