// The web console's scenario in a real browser (Debian's chromium, headless, driven by playwright-core) against a
// private `tandem stack` of two agents: log in (a wrong token refused), create a HA device through the wizard and see
// it ONLINE, resize it, kill one agent and see the device DEGRADED with an alert live (no reload), write through the
// surviving node, restart the agent and watch the resync bar move to ONLINE, then time travel to before the resize.
// The page is the only observer: the GraphQL API and qemu-io only drive load (the surviving replica's iSCSI URL).
// TANDEM_CONSOLE_SCREENSHOTS=1 also saves the main views into docs/console/*.png (committed; CI leaves them alone).
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { browserMissing, closeBrowser, launchBrowser, type OpenBrowser } from '../support/browser';
import { PrivateStack } from '../support/privateStack';
import { run, until } from '@tandem/testing';
import { REPO_ROOT } from '../support/target';
import { missingBinaries, skipWithReason } from '../support/tools';

const TITLE = 'web console in Chromium: the administrator scenario against a stack of two agents';
const MiB = 1 << 20;
// Loopback octets of its own: cli-verbs 30-49, fleet-truth 60-89, control-plane 100-199, netns 160-223, stack-node-death 200-249.
const octet = 90 + (process.pid % 10);
const SCREENSHOTS = process.env.TANDEM_CONSOLE_SCREENSHOTS === '1';
const DEVICE = 'web-ha';
const SIZE_BEFORE = 64 * MiB;
const SIZE_AFTER = 96 * MiB;
// Written through node-a while node-b is down, resynchronised at 6 MiB/s: about 8 s of resync bar to watch.
const WRITTEN = 48 * MiB;
const missing = missingBinaries(['nats-server', 'qemu-io']);
const skip = browserMissing() ?? (missing.length ? `missing ${missing.join(', ')} (scripts/setup.sh installs them)` : undefined);

/**
 * The little of the page's globals the in-page probes touch (the test project compiles without the DOM library;
 * a function given to page.evaluate runs in the page, so it names `globalThis` itself).
 */
interface InPage {
  __noReload?: boolean;
  __resync: number[];
  location: { hash: string };
  document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
}

/** What a test-id'd element shows, trimmed ('' when absent). */
async function textOf(page: Page, testId: string): Promise<string> {
  const el = page.getByTestId(testId).first();
  return (await el.count()) ? ((await el.textContent()) ?? '').trim() : '';
}

/** Waits, as the page's observer, until `probe` holds; the failure names what it waited for and what the page showed. */
async function seen<T>(page: Page, probe: () => Promise<T>, what: string, timeoutMs: number, errors: string[]): Promise<NonNullable<T>> {
  try {
    return await until(probe, what, timeoutMs, 200);
  } catch (err) {
    const body = await page.locator('body').innerText().catch(() => '(no page)');
    throw new Error(`${(err as Error).message}\n--- page (${page.url()}):\n${body.slice(0, 3000)}\n--- page errors:\n${errors.join('\n')}`);
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(path.join(REPO_ROOT, 'docs', 'console'), { recursive: true });
  await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'console', `${name}.png`) });
}

/** Navigates inside the single-page console (a hash change: never a reload). */
async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => ((globalThis as unknown as InPage).location.hash = h), hash);
}

if (skip) skipWithReason(TITLE, skip);
else
  describe(TITLE, () => {
    let stack: PrivateStack | undefined;
    let open: OpenBrowser | undefined;
    let page: Page;
    let errors: string[] = [];
    let deviceId = '';
    const nodeIds: Record<string, string> = {};
    const observe = <T>(probe: () => Promise<T>, what: string, timeoutMs: number) => seen(page, probe, what, timeoutMs, errors);
    const deviceState = () => textOf(page, 'device-state');
    const sizeShown = async () => Number(await page.getByTestId('device-size').first().getAttribute('data-bytes', { timeout: 5000 }));

    beforeAll(async () => {
      // --no-restart: node-b stays down until the test restarts it. The agents inherit the resync rate and a progress
      // report every half second from the stack's environment.
      stack = await PrivateStack.start('console', octet, { TANDEM_NODE_RESYNC_MIB_PER_SECOND: '6', TANDEM_RESYNC_PROGRESS_REPORT_MS: '500' }, ['--no-restart']);
      for (const n of stack.state().nodes) nodeIds[n.name] = n.nodeId;
      open = await launchBrowser();
      page = open.page;
      errors = open.pageErrors;
    }, 240_000);

    afterAll(async () => {
      await closeBrowser(open);
      const stopped = await stack?.stop();
      if (stopped) expect(stopped).toMatchObject({ code: 0, killed: false });
    }, 90_000);

    it('refuses a wrong token, then logs in with the stack token (kept out of the URL)', async () => {
      const consoleUrl = stack!.state().graphql.replace(/graphql$/, '');
      await page.goto(`${consoleUrl}#/login`, { timeout: 60_000 });
      await page.getByTestId('login-token').fill(`not-${stack!.token}`);
      await page.getByTestId('login-submit').click();
      await observe(async () => (await page.getByTestId('login-error').isVisible()) && (await textOf(page, 'login-error')), 'login-error for a wrong token', 20_000);
      expect(await page.getByTestId('fleet-view').count()).toBe(0);

      await page.getByTestId('login-token').fill(stack!.token);
      await page.getByTestId('login-submit').click();
      await observe(() => page.getByTestId('fleet-view').isVisible(), 'the fleet view after logging in', 30_000);
      expect(page.url()).not.toContain(stack!.token);
      for (const name of ['node-a', 'node-b']) {
        await observe(() => page.locator(`[data-testid="node-row"][data-name="${name}"]`).isVisible(), `${name} in the fleet`, 30_000);
      }
    }, 90_000);

    it('creates a HA device on both nodes through the wizard and sees it ONLINE', async () => {
      await page.getByTestId('nav-create-device').click();
      await observe(() => page.getByTestId('create-wizard').isVisible(), 'the create wizard', 20_000);
      // Step 1, the device. A size the console cannot read is refused before anything is sent.
      await page.getByTestId('wizard-name').fill(DEVICE);
      await page.getByTestId('wizard-size').fill('64 parsecs');
      await page.getByTestId('wizard-next').click();
      await observe(async () => /parsecs/.test(await textOf(page, 'wizard-error')), 'wizard-error naming the bad size', 10_000);
      await page.getByTestId('wizard-size').fill('64MiB');
      await page.getByTestId('wizard-sector-size').selectOption('512');
      await page.getByTestId('wizard-store-kind').selectOption('FLAT');
      await page.getByTestId('wizard-cache').selectOption('WRITE_THROUGH');
      await page.getByTestId('wizard-next').click();
      // Step 2, availability: HA on node-a (primary) and node-b (partner).
      await observe(() => page.getByTestId('wizard-ha').isVisible(), 'the availability step', 10_000);
      await page.getByTestId('wizard-ha').check();
      await page.getByTestId('wizard-node-0').selectOption(nodeIds['node-a']);
      await page.getByTestId('wizard-node-1').selectOption(nodeIds['node-b']);
      await screenshot(page, 'wizard');
      await page.getByTestId('wizard-next').click();
      // Step 3, links: on one machine the stack's heartbeat runs on the sync link's hosts, and the wizard says so.
      await observe(() => page.getByTestId('wizard-heartbeat-warning').isVisible(), 'the heartbeat-shares-sync-link warning', 20_000);
      await page.getByTestId('wizard-next').click();
      // Step 4, initial sync and summary.
      await observe(() => page.getByTestId('wizard-submit').isVisible(), 'the last step', 10_000);
      expect(await textOf(page, 'wizard-error')).toBe('');
      await page.getByTestId('wizard-submit').click();
      const id = await observe(async () => /^#\/device\/([^/?]+)$/.exec(new URL(page.url()).hash)?.[1], 'the wizard to open the new device', 30_000);
      deviceId = id;
      await observe(() => page.getByTestId('device-view').isVisible(), 'the device view', 20_000);
      await observe(async () => (await deviceState()) === 'ONLINE', `${DEVICE} ONLINE on the device page`, 120_000);
      expect(await sizeShown()).toBe(SIZE_BEFORE);
    }, 180_000);

    it('resizes it from the device page', async () => {
      await page.getByTestId('resize-open').click();
      await page.getByTestId('resize-size').fill('96MiB');
      await page.getByTestId('resize-submit').click();
      await observe(async () => (await sizeShown()) === SIZE_AFTER, 'device-size to show the new size', 60_000);
      expect(await page.getByTestId('action-error').count()).toBe(0);
      await observe(async () => (await deviceState()) === 'ONLINE', `${DEVICE} ONLINE after the resize`, 60_000);
    }, 90_000);

    it('kill node-b: the fleet shows the device DEGRADED and an alert live, without a reload', async () => {
      await page.getByTestId('nav-fleet').click();
      await observe(() => page.getByTestId('fleet-view').isVisible(), 'the fleet view', 20_000);
      const row = page.locator(`[data-testid="device-row"][data-name="${DEVICE}"]`);
      const rowState = async () => (((await row.getByTestId('device-state').textContent()) ?? '').trim());
      await observe(async () => (await rowState()) === 'ONLINE', `${DEVICE} ONLINE in the fleet`, 30_000);
      const alertsBefore = Number(await textOf(page, 'alert-count'));
      // A reload would lose this mark: it proves the page changed by itself.
      await page.evaluate(() => ((globalThis as unknown as InPage).__noReload = true));

      const killed = await stack!.nodeVerb('kill', 'node-b');
      expect(killed.code).toBe(0);
      await observe(async () => (await rowState()) === 'DEGRADED', `${DEVICE} DEGRADED in the fleet`, 60_000);
      const alert = await observe(async () => {
        const items = await page.getByTestId('alert-item').allTextContents();
        return items.find((t) => /DeviceDegraded/.test(t) && t.includes(DEVICE));
      }, `a DeviceDegraded alert about ${DEVICE} in the alert list`, 60_000);
      expect(alert).toMatch(/WARNING|CRITICAL/i);
      expect(Number(await textOf(page, 'alert-count'))).toBeGreaterThan(alertsBefore);
      const nodeB = page.locator('[data-testid="node-row"][data-name="node-b"]');
      await observe(async () => /UNREACHABLE/.test((await nodeB.getByTestId('node-health').textContent()) ?? ''), 'node-b UNREACHABLE in the fleet', 60_000);
      expect(await page.evaluate(() => (globalThis as unknown as InPage).__noReload)).toBe(true);
      await screenshot(page, 'fleet');

      await go(page, `#/node/${nodeIds['node-b']}`);
      await observe(() => page.getByTestId('node-view').isVisible(), "node-b's page", 20_000);
      await screenshot(page, 'node');
    }, 180_000);

    it('writes through node-a while node-b is down; node-b restarted resyncs with a moving bar, then ONLINE', async () => {
      // Load driven from outside: the surviving replica's iSCSI URL from the API, qemu-io writing through it.
      const { device } = await stack!.gql<{ device: { replicas: { node: { name: string }; iscsiUrl: string | null }[] } }>(
        'query($id: ID!) { device(id: $id) { replicas { node { name } iscsiUrl } } }',
        { id: deviceId },
      );
      const url = device.replicas.find((r) => r.node.name === 'node-a')?.iscsiUrl;
      expect(url).toMatch(/^iscsi:\/\//);
      const wrote = await run('qemu-io', ['-f', 'raw', '-c', `write -P 0x5a 0 ${WRITTEN}`, url!], { timeoutMs: 120_000 });
      expect(wrote.stdout).toContain(`wrote ${WRITTEN}/${WRITTEN} bytes`);

      await go(page, `#/device/${deviceId}`);
      await observe(() => page.getByTestId('device-view').isVisible(), 'the device view', 20_000);
      await observe(async () => (await deviceState()) === 'DEGRADED', `${DEVICE} DEGRADED on its page`, 20_000);
      // The page records every value its resync bar shows, whenever it shows one.
      await page.evaluate(() => {
        const w = globalThis as unknown as InPage;
        w.__resync = [];
        setInterval(() => {
          const bar = w.document.querySelector('[data-testid="resync-progress"]');
          if (!bar) return;
          const value = Number(bar.getAttribute('aria-valuenow') ?? bar.getAttribute('value'));
          if (w.__resync[w.__resync.length - 1] !== value) w.__resync.push(value);
        }, 50);
      });
      const restarted = await stack!.nodeVerb('restart', 'node-b');
      expect(restarted.code).toBe(0);
      const values = () => page.evaluate(() => (globalThis as unknown as InPage).__resync);
      let shot = !SCREENSHOTS;
      const moved = await observe(async () => {
        const v = await values();
        if (!shot && v.some((x) => x > 0 && x < 100) && (await page.getByTestId('resync-progress').count())) {
          await screenshot(page, 'device-resync');
          shot = true;
        }
        // Forward from a reported value (0 is also what the bar shows before the first progress report).
        return v.some((x, i) => i > 0 && v[i - 1] > 0 && x > v[i - 1]) ? v : undefined;
      }, 'the resync bar to move forward from one reported value to a higher one', 90_000);
      await observe(async () => (await deviceState()) === 'ONLINE', `${DEVICE} ONLINE after the resync`, 90_000);
      console.log(`resync bar values seen: ${(await values()).join(' ')} (moved at ${moved.join(' ')})`);
      expect(moved.every((x) => x >= 0 && x <= 100)).toBe(true);
      expect(await page.evaluate(() => (globalThis as unknown as InPage).__noReload)).toBe(true);
    }, 240_000);

    it('time travel: the event before the resize shows the size before it; exit returns to now', async () => {
      const events = async () => {
        const list = page.getByTestId('timeline-event');
        const n = await list.count();
        const out: { position: number; text: string }[] = [];
        for (let i = 0; i < n; i++) out.push({ position: Number(await list.nth(i).getAttribute('data-position')), text: ((await list.nth(i).textContent()) ?? '').trim() });
        return out;
      };
      const resized = await observe(async () => (await events()).find((e) => e.text.includes('DeviceResized')), 'DeviceResized in the timeline', 30_000);
      const before = (await events()).filter((e) => e.position < resized.position).sort((a, b) => b.position - a.position)[0];
      expect(before).toBeDefined();
      await page.locator(`[data-testid="timeline-event"][data-position="${before.position}"]`).click();
      await observe(() => page.getByTestId('time-travel-banner').isVisible(), 'the time-travel banner', 20_000);
      await observe(async () => (await sizeShown()) === SIZE_BEFORE, `device-size ${SIZE_BEFORE} as of position ${before.position}`, 30_000);
      expect(await textOf(page, 'time-travel-banner')).toContain(String(before.position));
      await screenshot(page, 'time-travel');
      await page.getByTestId('time-travel-exit').click();
      await observe(async () => !(await page.getByTestId('time-travel-banner').isVisible()) && (await sizeShown()) === SIZE_AFTER, 'now again: no banner, the new size', 30_000);
    }, 90_000);
  });
