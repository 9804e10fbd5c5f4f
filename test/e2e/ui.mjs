// Driving VS Code's workbench from playwright: Explorer rows and context menus, the command palette and
// quick inputs, the Hybrid Compress sidebar and editor tabs. Shared by the e2e scenarios and the docs
// screenshots script.

import { waitFor } from './harness.mjs';

/** An Explorer tree row (rows carry the file name as aria-label). */
export async function explorerRow(page, name) {
  return waitFor(async () => {
    const rows = page.locator(`[id="workbench.view.explorer"] .monaco-list-row[role="treeitem"][aria-label="${name}"]`);
    return (await rows.count()) > 0 ? rows.first() : undefined;
  }, `Explorer row "${name}"`);
}

export async function contextMenuLabels(page, row) {
  await row.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.first().waitFor({ timeout: 10_000 });
  const labels = await page.locator('.context-view .monaco-menu .action-label').allInnerTexts();
  return labels.map((l) => l.trim()).filter(Boolean);
}

/** Opens the command palette (F1, when `command` is set) or uses the open quick pick; types, then clicks the row. */
export async function runQuickPick(page, command, item) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  if (command) {
    // F1 goes to whatever has focus; a webview's iframe may keep it: hand focus back to the workbench
    // (blur the iframe) and press again until the palette shows.
    await waitFor(async () => {
      if (await input.isVisible()) return true;
      await page.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : undefined));
      await page.keyboard.press('F1');
      await page.waitForTimeout(500);
      return input.isVisible();
    }, 'the command palette', 15_000, 250);
  }
  await input.waitFor({ timeout: 10_000 });
  await input.fill(command ? `>${command}` : item);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: item }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

export async function openSidebar(page) {
  const item = page.locator('.activitybar .action-item a[aria-label^="Hybrid Compress"], .activitybar .action-item .action-label[aria-label^="Hybrid Compress"]').first();
  await item.waitFor({ timeout: 20_000 });
  const selected = await item.evaluate((a) => a.closest('.action-item')?.classList.contains('checked'));
  if (!selected) await item.click();
}

/** Shows the Explorer (another scenario may have left the Hybrid Compress sidebar open). */
export async function openExplorer(page) {
  const item = page.locator('.activitybar .action-item a[aria-label^="Explorer"], .activitybar .action-item .action-label[aria-label^="Explorer"]').first();
  await item.waitFor({ timeout: 20_000 });
  const selected = await item.evaluate((a) => a.closest('.action-item')?.classList.contains('checked'));
  if (!selected) await item.click();
}

/** Expands a folder row of the Explorer unless it is open already. */
export async function expandFolder(page, name) {
  await openExplorer(page);
  const row = await explorerRow(page, name);
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
}

/**
 * Right-clicks `row` and picks the context-menu item `item`, retrying while the menu is still being built
 * (items appear once activation has published the checkpoint folders). A click that lands while the menu
 * is still animating in is lost and leaves the menu open (its overlay then blocks every later click):
 * such a menu is dismissed and the pick is made again. Returns the menu's labels.
 */
export async function menuPick(page, row, item, what, timeoutMs = 20_000) {
  const menu = page.locator('.context-view .monaco-menu');
  for (let attempt = 1; ; attempt++) {
    const labels = await waitFor(async () => {
      const l = await contextMenuLabels(page, row);
      if (l.includes(item)) return l;
      await page.keyboard.press('Escape');
      return undefined;
    }, `"${item}" in the context menu of ${what}`, timeoutMs, 500);
    await page.waitForTimeout(300);
    const target = page.locator('.context-view .monaco-menu .action-label', { hasText: item }).first();
    await target.hover();
    await target.click();
    const closed = await waitFor(async () => (await menu.count()) === 0 || !(await menu.first().isVisible()), 'the context menu to close', 3_000).catch(() => false);
    if (closed) return labels;
    await page.keyboard.press('Escape');
    if (attempt === 3) throw new Error(`the context menu of ${what} stayed open after clicking "${item}" ${attempt} times`);
  }
}

/** Right-clicks an Explorer row and picks a context-menu item. */
export async function explorerMenu(page, name, item) {
  await openExplorer(page);
  await menuPick(page, await explorerRow(page, name), item, name);
}

/** Closes the editor tab whose label contains `title` (scenarios leave the window as they found it, so the reload scenario restores few panels). */
export async function closeTab(page, title) {
  const tab = page.locator('.tabs-container .tab', { hasText: title }).first();
  if ((await tab.count()) === 0) return;
  await tab.hover();
  await tab.locator('.action-label.codicon-close, .codicon-close').first().click({ force: true });
  await waitFor(async () => (await page.locator('.tabs-container .tab', { hasText: title }).count()) === 0, `tab "${title}" to close`, 10_000);
}

/** Feeds `append` while sampling the panel's point count; returns the distinct counts seen, and checks the end state. */
export async function watchGrowth(page, f, append, rounds, expectFinal) {
  const count = async () => Number((await f.getAttribute('#point-count', 'data-points')) ?? 0);
  const seen = [await count()];
  for (let i = 0; i < rounds; i++) {
    append(i);
    await page.waitForTimeout(800);
    seen.push(await count());
  }
  await waitFor(async () => (await count()) === expectFinal(), `all ${expectFinal()} points`, 10_000);
  seen.push(await count());
  const increases = seen.filter((v, i) => i > 0 && v > seen[i - 1]).length;
  if (increases < 3) throw new Error(`point count grew only ${increases} times: ${seen.join(' → ')}`);
  return [...new Set(seen)];
}

/** Types into the open quick input (pick list or input box) and accepts with Enter, or clicks the row showing `row`. */
export async function answer(page, text, row) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ timeout: 20_000 });
  await input.fill(text);
  if (row) {
    const r = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: row }).first();
    await r.waitFor({ timeout: 10_000 });
    await r.click();
  } else await input.press('Enter');
  await page.waitForTimeout(300);
}

/** Screenshots the sidebar with the Importance view given its full height and 360 px more width, then restores the panes. */
export async function importanceSidebarShot(page, path) {
  const bar = await page.locator('.part.sidebar').boundingBox();
  if (bar) {
    await page.mouse.move(bar.x + bar.width + 1, bar.y + 300);
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width + 360, bar.y + 300, { steps: 8 });
    await page.mouse.up();
  }
  const toggle = (title) => page.locator('.part.sidebar .pane-header', { hasText: title }).first().click();
  await toggle('Checkpoints');
  await toggle('Runs');
  await page.waitForTimeout(1500);
  await page.locator('.part.sidebar').screenshot({ path });
  await toggle('Checkpoints');
  await toggle('Runs');
}
