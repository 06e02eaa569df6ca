// A gateway without `--admin-actions` (as in the manifests) refuses pause, resume and
// rewind with `403 admin_actions_disabled`: after the first refusal the subscribers panel
// says the actions are off and shows no more buttons, while it still shows each
// subscription. The only console error allowed is the browser's note of the 403.

import { PATIENCE_MS, check, open, run } from "./browser.mjs";
import { load } from "./steps.mjs";

run(async () => {
  const session = await open({ allowConsole: [/status of 403/] });
  const { page } = session;
  await load(page);
  await page.getByRole("button", { name: "Pause query", exact: true }).click();
  await page.locator("#subs-status").getByText("Admin actions are off on this gateway")
    .waitFor({ timeout: PATIENCE_MS });
  check((await page.locator("#subs button").count()) === 0, "action buttons are still shown");
  const query = page.locator('#subs tr[data-name="query"]');
  check((await query.locator(".state").textContent()) === "active", "query's row is gone or paused");
  return session.close();
});
