/**
 * Mode pages a LU keeps (SPC-4 7.5, SBC-3 6.4): caching (08h), control (0Ah), informational
 * exceptions control (1Ch). Each page is its bytes as MODE SENSE returns them (page code, length,
 * parameters) plus a mask of the bits MODE SELECT may change. No page is savable (PS = 0).
 */

export const enum ModePageCode {
  Caching = 0x08,
  Control = 0x0a,
  InformationalExceptionsControl = 0x1c,
  AllPages = 0x3f,
}

export const enum PageControl {
  Current = 0,
  Changeable = 1,
  Default = 2,
  Saved = 3,
}

export interface ModePageDefinition {
  readonly code: ModePageCode;
  readonly name: string;
  /** Default values, including the two-byte page header. */
  readonly defaults: Buffer;
  /** Bits an initiator may change with MODE SELECT. */
  readonly changeable: Buffer;
}

// Caching: WCE on (writes land in the host page cache until SYNCHRONIZE CACHE or FUA), changeable.
const CACHING_DEFAULTS = page(ModePageCode.Caching, 0x12, { 2: 0x04 });
const CACHING_CHANGEABLE = mask(CACHING_DEFAULTS, { 2: 0x04 });

// Control: GLTSD (no saved log parameters), unrestricted reordering (commands run concurrently),
// busy timeout unlimited; only D_SENSE is changeable.
const CONTROL_DEFAULTS = page(ModePageCode.Control, 0x0a, { 2: 0x02, 3: 0x10, 8: 0xff, 9: 0xff });
const CONTROL_CHANGEABLE = mask(CONTROL_DEFAULTS, { 2: 0x04 });

// Informational exceptions: DEXCPT set, since there are no failure predictions to report.
const IEC_DEFAULTS = page(ModePageCode.InformationalExceptionsControl, 0x0a, { 2: 0x08 });
const IEC_CHANGEABLE = mask(IEC_DEFAULTS, {});

/** In ascending page-code order, the order MODE SENSE all-pages returns them. */
export const MODE_PAGES: readonly ModePageDefinition[] = [
  { code: ModePageCode.Caching, name: 'caching', defaults: CACHING_DEFAULTS, changeable: CACHING_CHANGEABLE },
  { code: ModePageCode.Control, name: 'control', defaults: CONTROL_DEFAULTS, changeable: CONTROL_CHANGEABLE },
  {
    code: ModePageCode.InformationalExceptionsControl,
    name: 'informational exceptions control',
    defaults: IEC_DEFAULTS,
    changeable: IEC_CHANGEABLE,
  },
];

export function findModePage(code: number): ModePageDefinition | undefined {
  for (const def of MODE_PAGES) if (def.code === code) return def;
  return undefined;
}

/** Current values of a LU's mode pages; shared by every I_T nexus. */
export class ModePageState {
  private readonly current = new Map<number, Buffer>();
  /** Cached from the caching page: read on every write. */
  writeCacheEnabled = true;
  private writeCacheDefault = true;
  /** Cached from the control page (D_SENSE): read on every error. */
  descriptorSense = false;

  constructor() {
    this.resetToDefaults();
  }

  resetToDefaults(): void {
    for (const def of MODE_PAGES) this.current.set(def.code, Buffer.from(def.defaults));
    this.refreshCachedBits();
    if (!this.writeCacheDefault) this.applyWriteCacheDefault();
  }

  /** The page as MODE SENSE reports it for a page control value (saved is not supported). */
  page(code: number, pc: PageControl): Buffer {
    const def = findModePage(code)!;
    switch (pc) {
      case PageControl.Changeable:
        return def.changeable;
      case PageControl.Default:
        return def.defaults;
      default:
        return this.current.get(code)!;
    }
  }

  /** Replaces the current page bytes (already validated against the changeable mask). */
  setPage(code: number, bytes: Buffer): void {
    this.current.set(code, Buffer.from(bytes));
    this.refreshCachedBits();
  }

  /** The LU's own default for WCE (a write-through LU: off), applied now and on every reset to defaults. */
  setWriteCacheDefault(on: boolean): void {
    this.writeCacheDefault = on;
    this.applyWriteCacheDefault();
  }

  private applyWriteCacheDefault(): void {
    const caching = Buffer.from(this.current.get(ModePageCode.Caching)!);
    caching[2] = this.writeCacheDefault ? caching[2] | 0x04 : caching[2] & ~0x04;
    this.current.set(ModePageCode.Caching, caching);
    this.refreshCachedBits();
  }

  private refreshCachedBits(): void {
    this.writeCacheEnabled = (this.current.get(ModePageCode.Caching)![2] & 0x04) !== 0;
    this.descriptorSense = (this.current.get(ModePageCode.Control)![2] & 0x04) !== 0;
  }
}

function page(code: number, length: number, bytes: Record<number, number>): Buffer {
  const buf = Buffer.alloc(length + 2);
  buf[0] = code;
  buf[1] = length;
  for (const [at, value] of Object.entries(bytes)) buf[Number(at)] = value;
  return buf;
}

function mask(defaults: Buffer, bytes: Record<number, number>): Buffer {
  const buf = Buffer.alloc(defaults.length);
  buf[0] = defaults[0];
  buf[1] = defaults[1];
  for (const [at, value] of Object.entries(bytes)) buf[Number(at)] = value;
  return buf;
}
