// Shared helpers for the browser suite: launching Debian's Chromium, keyboard-only
// navigation, axe checks and screenshots.
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve("axe-core/axe.min.js");

/** What the Rust side (tests/tests/browser.rs) started for us. */
export function env(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run this suite through \`cargo test --test browser\``);
  return value;
}

export const SHOTS = process.env.KINDRED_SCREENSHOTS || "target/browser-screenshots";

/** Debian's Chromium, with the flags this sandboxed, offline machine needs. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.KINDRED_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * Presses Tab until the element matching `selector` has focus; fails if it is not reached
 * in `max` presses (so it is not reachable by keyboard).
 */
export async function tabTo(page, selector, max = 60) {
  for (let i = 0; i < max; i++) {
    const found = await page.evaluate(
      (sel) => document.activeElement && document.activeElement.matches(sel),
      selector,
    );
    if (found) return;
    await page.keyboard.press("Tab");
  }
  assert.fail(`${selector} was not reached with the Tab key in ${max} presses`);
}

/**
 * Runs axe-core on the page (WCAG 2.0-2.2 A and AA rules, and the best practices that all
 * content sits in landmarks and headings go in order) and fails on any violation.
 */
export async function expectNoAxeViolations(page, label) {
  // Evaluated through DevTools, so the page's strict CSP stays on for everything else.
  await page.evaluate(readFileSync(AXE_PATH, "utf8"));
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    return await axe.run(document, {
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
      },
      resultTypes: ["violations"],
    });
  });
  const problems = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join("\n    ")}`,
  );
  assert.equal(problems.length, 0, `axe found problems on ${label}:\n  ${problems.join("\n  ")}`);
}

/** Saves a full-page screenshot as `<name>-<width>.png`. */
export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const width = page.viewportSize().width;
  await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
}

/** Fills a labelled field (found by its label, as a person would). */
export async function fill(page, label, value) {
  await page.getByLabel(label, { exact: true }).fill(value);
}

/** Console errors (CSP violations, failed loads, script errors) seen on any page. */
export const consoleErrors = [];

/** Records console errors and uncaught exceptions from every page of `context`. */
export function watchConsole(context, label) {
  context.on("page", (page) => {
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(`${label} ${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`${label} ${page.url()}: ${err.message}`));
  });
  return context;
}
