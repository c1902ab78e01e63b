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

/** RFC 7143 result function of each numeric key: min or max of the offer and our limit. */
const NUMERIC_RESULT: Record<Exclude<NumericKey, 'MaxRecvDataSegmentLength'>, (offer: number, l: TargetLimits, p: SessionParameters) => number> = {
  MaxBurstLength: (n, l) => Math.min(n, l.maxBurstLength),
  FirstBurstLength: (n, l, p) => Math.min(n, l.firstBurstLength, p.maxBurstLength),
  MaxOutstandingR2T: (n, l) => Math.min(n, l.maxOutstandingR2T),
  MaxConnections: (n, l) => Math.min(n, l.maxConnections),
  ErrorRecoveryLevel: (n, l) => Math.min(n, l.errorRecoveryLevel),
  DefaultTime2Wait: (n, l) => Math.max(n, l.defaultTime2Wait),
  DefaultTime2Retain: (n, l) => Math.min(n, l.defaultTime2Retain),
};

const NUMERIC_FIELD: Record<keyof typeof NUMERIC_RESULT, (p: SessionParameters, v: number) => void> = {
  MaxBurstLength: (p, v) => (p.maxBurstLength = v),
  FirstBurstLength: (p, v) => (p.firstBurstLength = v),
  MaxOutstandingR2T: (p, v) => (p.maxOutstandingR2T = v),
  MaxConnections: (p, v) => (p.maxConnections = v),
  ErrorRecoveryLevel: (p, v) => (p.errorRecoveryLevel = v),
  DefaultTime2Wait: (p, v) => (p.defaultTime2Wait = v),
  DefaultTime2Retain: (p, v) => (p.defaultTime2Retain = v),
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
        // Declarative, per direction: the initiator's value bounds what we send; we answer with ours.
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        p.maxXmitDataSegmentLength = n;
        this.declaredOwnMaxRecv = true;
        return String(L.maxRecvDataSegmentLength);
      }
      case 'MaxBurstLength':
      case 'FirstBurstLength':
      case 'MaxOutstandingR2T':
      case 'MaxConnections':
      case 'ErrorRecoveryLevel':
      case 'DefaultTime2Wait':
      case 'DefaultTime2Retain': {
        const n = this.number(key, value);
        if (n === undefined) return 'Reject';
        const result = NUMERIC_RESULT[key](n, L, p);
        NUMERIC_FIELD[key](p, result);
        // FirstBurstLength may never exceed MaxBurstLength, whichever was negotiated first.
        if (p.firstBurstLength > p.maxBurstLength) p.firstBurstLength = p.maxBurstLength;
        return String(result);
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
