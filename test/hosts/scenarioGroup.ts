// One host-tier scenario group: boots the guest once with the host guide's settings and the group's scenario,
// prints what the guest saw, keeps the results beside the image, and asserts each check with the guest's output.
import * as fs from 'fs';
import * as path from 'path';
import { bootGuest, BootResult, GuestImage, GuestResult, GUEST_CACHE, GUEST_INITIATOR, HOST_FROM_GUEST, hostGuideFiles } from '../support/guest';

export interface GroupOptions {
  name: string;
  image: GuestImage;
  dir: string;
  /** The scenario script beside this file (e.g. `linux-single.scenario.sh`). */
  scenarioFile: string;
  /** Written to params.env for the scenario (HOST is added). */
  params: Record<string, string | number>;
  handlers: Record<string, (arg: string) => Promise<string> | string>;
  timeoutMs: number;
  /** The targets' logs, for failure messages. */
  targetLogs: () => string;
}

export interface GroupRun {
  boot: BootResult;
  /** The guest's outcome of one check; throws with what the guest saw unless it passed. */
  expectOk(check: string): GuestResult;
  /** Throws with the console and logs unless the scenario ran to its end and the guest powered off in time. */
  expectCompleted(): void;
}

export async function runScenarioGroup(o: GroupOptions): Promise<GroupRun> {
  const share = path.join(o.dir, 'share');
  fs.mkdirSync(share, { recursive: true });
  const params = { HOST: HOST_FROM_GUEST, ...o.params };
  const boot = await bootGuest({
    image: o.image,
    shareDir: share,
    scenario: fs.readFileSync(path.join(__dirname, o.scenarioFile), 'utf8'),
    files: {
      ...hostGuideFiles(),
      'etc/initiatorname.iscsi': `InitiatorName=${GUEST_INITIATOR}\n`,
      'params.env': Object.entries(params).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n',
    },
    timeoutMs: o.timeoutMs,
    handlers: o.handlers,
  });
  const seen = new Map(boot.results.map((r) => [r.check, r]));
  console.log(`guest (${o.name}): build ${Math.round(o.image.buildMs / 1000)} s, boot to scenario ${boot.bootSeconds} s, whole run ${Math.round(boot.durationMs / 1000)} s\n` +
    boot.results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.check}${r.seconds !== undefined ? ` (${r.seconds} s)` : ''}${r.value ? `: ${r.value}` : ''}`).join('\n'));
  // Kept beside the cached image (outside the work tree) for docs/conformance.md's Linux section.
  fs.writeFileSync(path.join(GUEST_CACHE, `results-${o.name}.json`), JSON.stringify({ versions: o.image.versions, buildMs: o.image.buildMs, bootSeconds: boot.bootSeconds, durationMs: boot.durationMs, results: boot.results }, null, 2));
  return {
    boot,
    expectCompleted(): void {
      if (boot.timedOut || boot.scenarioExit !== 0) throw new Error(`scenario exit ${boot.scenarioExit}, timed out ${boot.timedOut}\n${boot.diagnostics()}`);
    },
    expectOk(check: string): GuestResult {
      const r = seen.get(check);
      if (!r) throw new Error(`the guest never reported ${check} (scenario exit ${boot.scenarioExit}, timed out ${boot.timedOut})\n${boot.diagnostics()}`);
      if (!r.ok) throw new Error(`${check} failed in the guest: exit ${r.exit ?? '-'} ${r.value ?? ''}\n${r.output ?? ''}\ntarget logs:\n${o.targetLogs().slice(-3000)}`);
      return r;
    },
  };
}

/** Whether the whole group passed (then its directory may go; otherwise it is kept for the console and logs). */
export function groupPassed(run: GroupRun | undefined): boolean {
  return run !== undefined && run.boot.scenarioExit === 0 && run.boot.results.every((r) => r.ok);
}
