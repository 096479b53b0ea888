import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verificationWorkflowId } from '../../domain/scenarios';
import { PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(__dirname, '..', '..', 'test-output');
let h: Harness;
let browser: Browser;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup-browser.sh`).toBe(true);
  h = await startHarness();
  // Flags that keep a headless Chromium off the network and quiet on a machine without one.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe('the operator finds a verification in the Temporal Web UI', () => {
  it('searches UserId = "<id>" and sees the verification with its status', async () => {
    const org = freshOrg('ui');
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const id = (
      await h.call('POST', `/t/${org}/scim2/Users`, {
        token: admin,
        body: { userName: 'uma', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
      })
    ).body.id as string;
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456785' }],
      },
    });
    const code = await eventually(() => h.codeFor('0123456785', id));
    const self = await h.token(org, id, 'internal_login');
    expect(
      (await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, { token: self, body: { code } }))
        .status,
    ).toBe(200);
    const workflowId = verificationWorkflowId(org, id, 'MOBILE_VERIFICATION_ON_UPDATE');
    await h.client.workflow.getHandle(workflowId).result();

    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    const query = encodeURIComponent(`UserId = "${id}"`);
    const listUrl = `${inject('temporalUiUrl')}/namespaces/default/workflows?query=${query}`;
    // Visibility is eventually consistent: reload until the list shows the run.
    await eventually(async () => {
      await page.goto(listUrl);
      await page.getByText(workflowId).first().waitFor({ timeout: 3_000 });
    }, 30_000);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'web-ui-search-by-user-id.png'), fullPage: true });
    const row = page.locator('tr', { hasText: workflowId }).first();
    await expect(row.innerText()).resolves.toMatch(/completed/i);

    // The verification itself: payloads show only as ciphertext, the search attributes in clear.
    await page.getByText(workflowId).first().click();
    await page.getByText('Search Attributes', { exact: true }).first().click();
    await page.getByText('VerificationStatus').first().waitFor({ timeout: 15_000 });
    const text = await page.locator('body').innerText();
    expect(text).toMatch(/"VerificationStatus":\s*"verified"/);
    expect(text).toMatch(/"MaskedMobile":\s*"\*{6}6785"/);
    expect(text).toContain(`"UserId": "${id}"`);
    await expect(page.content()).resolves.not.toContain('0123456785');
    await page.screenshot({ path: join(SHOTS, 'web-ui-verification.png'), fullPage: true });
    await page.close();
  });
});
