/**
 * Operational parameter negotiation (RFC 7143 §13). Pure: takes the initiator's offers, returns our answers
 * and the resulting session parameters. The connection decides when login stages change.
 */
import { TextPairs } from './textParameters';

export interface TargetLimits {
  /** Largest data segment we accept (declared to the initiator). */
  maxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  maxOutstandingR2T: number;
  immediateData: boolean;
  initialR2T: boolean;
  maxConnections: number;
  errorRecoveryLevel: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  /** Header digests the target accepts; ['CRC32C'] makes them mandatory. */
  headerDigests: Array<'CRC32C' | 'None'>;
  /** Data digests the target accepts; ['CRC32C'] makes them mandatory. */
  dataDigests: Array<'CRC32C' | 'None'>;
}

export const DEFAULT_TARGET_LIMITS: TargetLimits = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 16776192,
  maxOutstandingR2T: 16,
  immediateData: true,
  initialR2T: false,
  maxConnections: 1,
  errorRecoveryLevel: 0,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  headerDigests: ['CRC32C', 'None'],
  dataDigests: ['CRC32C', 'None'],
};

/** What a session runs with after login; RFC defaults until negotiated otherwise. */
export interface SessionParameters {
  headerDigest: boolean;
  dataDigest: boolean;
  /** Largest data segment the initiator may send us. */
  maxRecvDataSegmentLength: number;
  /** Largest data segment we may send the initiator. */
  maxXmitDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  maxOutstandingR2T: number;
  immediateData: boolean;
  initialR2T: boolean;
  maxConnections: number;
  errorRecoveryLevel: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  dataPduInOrder: boolean;
  dataSequenceInOrder: boolean;
}

export function rfcDefaultParameters(): SessionParameters {
  return {
    headerDigest: false,
    dataDigest: false,
    maxRecvDataSegmentLength: 8192,
    maxXmitDataSegmentLength: 8192,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    maxOutstandingR2T: 1,
    immediateData: true,
    initialR2T: true,
    maxConnections: 1,
    errorRecoveryLevel: 0,
    defaultTime2Wait: 2,
    defaultTime2Retain: 20,
    dataPduInOrder: true,
    dataSequenceInOrder: true,
  };
}

export class NegotiationError extends Error {
  constructor(message: string, readonly status: 'initiator-error' | 'missing-parameter') {
    super(message);
  }
}

type NumericKey = 'MaxRecvDataSegmentLength' | 'MaxBurstLength' | 'FirstBurstLength' | 'MaxOutstandingR2T'
  | 'DefaultTime2Wait' | 'DefaultTime2Retain' | 'MaxConnections' | 'ErrorRecoveryLevel';

const NUMERIC_RANGE: Record<NumericKey, [number, number]> = {
  MaxRecvDataSegmentLength: [512, 16777215],
  MaxBurstLength: [512, 16777215],
  FirstBurstLength: [512, 16777215],
  MaxOutstandingR2T: [1, 65535],
  DefaultTime2Wait: [0, 3600],
  DefaultTime2Retain: [0, 3600],
  MaxConnections: [1, 65535],
  ErrorRecoveryLevel: [0, 2],
};

/** Keys handled by the login state machine itself, not by operational negotiation. */
export const LOGIN_KEYS = new Set([
  'InitiatorName', 'InitiatorAlias', 'TargetName', 'SessionType', 'AuthMethod',
  'CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R', 'TargetAlias', 'TargetAddress', 'TargetPortalGroupTag',
]);

/** Keys only meaningful in normal sessions; discovery sessions answer Irrelevant. */
const NORMAL_SESSION_ONLY = new Set([
  'MaxBurstLength', 'FirstBurstLength', 'MaxOutstandingR2T', 'ImmediateData', 'InitialR2T',
  'MaxConnections', 'DataPDUInOrder', 'DataSequenceInOrder', 'DefaultTime2Wait', 'DefaultTime2Retain',
]);

function parseNumber(v: string): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Negotiates operational keys across the PDUs of one login.
 * `answer` returns the pairs to send for one PDU's offers and updates `params`.
 */
export class OperationalNegotiator {
  readonly params: SessionParameters = rfcDefaultParameters();
  private readonly seen = new Set<string>();
  private declaredOwnMaxRecv = false;

  constructor(private readonly limits: TargetLimits, private readonly discovery: () => boolean) {
    this.params.maxRecvDataSegmentLength = limits.maxRecvDataSegmentLength;
  }

  answer(offers: TextPairs): TextPairs {
    const out: TextPairs = [];
    for (const [key, value] of offers) {
      if (LOGIN_KEYS.has(key)) continue;
      if (this.seen.has(key)) throw new NegotiationError(`key ${key} offered twice`, 'initiator-error');
      this.seen.add(key);
      const reply = this.answerOne(key, value);
      if (reply !== null) out.push([key, reply]);
    }
    return out;
  }

  /** Declarations the target must make before leaving the operational stage. */
  closingDeclarations(): TextPairs {
    const out: TextPairs = [];
    if (!this.declaredOwnMaxRecv) {
      this.declaredOwnMaxRecv = true;
      out.push(['MaxRecvDataSegmentLength', String(this.limits.maxRecvDataSegmentLength)]);
    }
    return out;
  }

  private answerOne(key: string, value: string): string | null {
    const p = this.params;
    const L = this.limits;
    if (this.discovery() && NORMAL_SESSION_ONLY.has(key)) return 'Irrelevant';
    switch (key) {
      case 'HeaderDigest':
      case 'DataDigest': {
        const accepted: string[] = key === 'HeaderDigest' ? L.headerDigests : L.dataDigests;
        const choice = value.split(',').find((v) => accepted.includes(v));
        if (!choice) return 'Reject';
        if (key === 'HeaderDigest') p.headerDigest = choice === 'CRC32C';
        else p.dataDigest = choice === 'CRC32C';
        return choice;
      }
      case 'MaxRecvDataSegmentLength': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.maxXmitDataSegmentLength = n;
        this.declaredOwnMaxRecv = true;
        return String(L.maxRecvDataSegmentLength);
      }
      case 'MaxBurstLength': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.maxBurstLength = Math.min(n, L.maxBurstLength);
        if (p.firstBurstLength > p.maxBurstLength) p.firstBurstLength = p.maxBurstLength;
        return String(p.maxBurstLength);
      }
      case 'FirstBurstLength': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.firstBurstLength = Math.min(n, L.firstBurstLength, p.maxBurstLength);
        return String(p.firstBurstLength);
      }
      case 'MaxOutstandingR2T': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.maxOutstandingR2T = Math.min(n, L.maxOutstandingR2T);
        return String(p.maxOutstandingR2T);
      }
      case 'MaxConnections': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.maxConnections = Math.min(n, L.maxConnections);
        return String(p.maxConnections);
      }
      case 'ErrorRecoveryLevel': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.errorRecoveryLevel = Math.min(n, L.errorRecoveryLevel);
        return String(p.errorRecoveryLevel);
      }
      case 'DefaultTime2Wait': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.defaultTime2Wait = Math.max(n, L.defaultTime2Wait);
        return String(p.defaultTime2Wait);
      }
      case 'DefaultTime2Retain': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.defaultTime2Retain = Math.min(n, L.defaultTime2Retain);
        return String(p.defaultTime2Retain);
      }
      case 'ImmediateData': {
        const b = yesNo(value);
        if (b === undefined) return 'Reject';
        p.immediateData = b && L.immediateData; // AND
        return p.immediateData ? 'Yes' : 'No';
      }
      case 'InitialR2T': {
        const b = yesNo(value);
        if (b === undefined) return 'Reject';
        p.initialR2T = b || L.initialR2T; // OR
        return p.initialR2T ? 'Yes' : 'No';
      }
      case 'DataPDUInOrder':
      case 'DataSequenceInOrder': {
        const b = yesNo(value);
        if (b === undefined) return 'Reject';
        // We deliver and accept data in order only: OR with our Yes.
        if (key === 'DataPDUInOrder') p.dataPduInOrder = true;
        else p.dataSequenceInOrder = true;
        return 'Yes';
      }
      case 'IFMarker':
      case 'OFMarker':
      case 'RDMAExtensions':
        return yesNo(value) === undefined ? 'Reject' : 'No'; // AND with our No
      case 'IFMarkInt':
      case 'OFMarkInt':
        return 'Irrelevant';
      case 'TaskReporting':
        return value.split(',').includes('RFC3720') ? 'RFC3720' : 'Reject';
      default:
        return 'NotUnderstood';
    }
  }

  private number(key: NumericKey, value: string): number | undefined {
    const n = parseNumber(value);
    const [lo, hi] = NUMERIC_RANGE[key];
    if (n === undefined || n < lo || n > hi) return undefined;
    return n;
  }
}

function yesNo(v: string): boolean | undefined {
  return v === 'Yes' ? true : v === 'No' ? false : undefined;
}
