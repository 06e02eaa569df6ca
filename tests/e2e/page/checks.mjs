// Accessibility and layout checks run inside the page.

/** Every input, select and button has an accessible name (a label, text or aria-label). */
export async function labelled(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("input, select, button")].every((control) => {
      if (control.closest("[hidden]") || control.closest("template")) return true;
      const named = control.labels?.length > 0 || control.getAttribute("aria-label");
      return Boolean(named || control.textContent.trim());
    }),
  );
}

/** Nothing makes the page scroll sideways. */
export async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/**
 * The lowest contrast ratio (WCAG) of visible text against its background; throws when a
 * piece of text is under 4.5:1.
 */
export async function readableContrast(page) {
  const lowest = await page.evaluate(() => {
    const rgb = (css) => css.match(/[\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
      const lin = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const background = (element) => {
      for (let e = element; e; e = e.parentElement) {
        const [r, g, b, a = 1] = rgb(getComputedStyle(e).backgroundColor);
        if (a > 0) return [r, g, b];
      }
      return [255, 255, 255];
    };
    let worst = { ratio: 21, text: "" };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const element = walker.currentNode.parentElement;
      const text = walker.currentNode.textContent.trim();
      if (!text || !element.checkVisibility() || element.closest(".skip, .sr")) continue;
      const style = getComputedStyle(element);
      const opacity = element.closest("button:disabled") ? 0.6 : 1;
      if (opacity < 1) continue;
      const [l1, l2] = [luminance(rgb(style.color)), luminance(background(element))];
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      if (ratio < worst.ratio) worst = { ratio, text: text.slice(0, 40) };
    }
    return worst;
  });
  if (lowest.ratio < 4.5) {
    throw new Error(`text "${lowest.text}" has contrast ${lowest.ratio.toFixed(2)}:1, under 4.5:1`);
  }
  return Number(lowest.ratio.toFixed(2));
}
