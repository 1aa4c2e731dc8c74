// The widget's style sheet. Host pages theme it with the CSS variables
// below (docs/widget.md), set on the mounting element or any ancestor.
// Everything is scoped under .ringproof so that the host page's styles
// and ours do not mix.

export const css = `
.ringproof {
  --rp-font: var(--ringproof-font, inherit);
  --rp-size: var(--ringproof-font-size, 1rem);
  --rp-color: var(--ringproof-color, #1b1b1f);
  --rp-muted: var(--ringproof-muted, #4a4a52);
  --rp-bg: var(--ringproof-background, #ffffff);
  --rp-field-bg: var(--ringproof-field-background, #ffffff);
  --rp-border: var(--ringproof-border, #77767d);
  --rp-accent: var(--ringproof-accent, #0b57d0);
  --rp-accent-text: var(--ringproof-accent-text, #ffffff);
  --rp-error: var(--ringproof-error, #b3261e);
  --rp-success: var(--ringproof-success, #146c2e);
  --rp-focus: var(--ringproof-focus, #0b57d0);
  --rp-radius: var(--ringproof-radius, 8px);
  --rp-gap: var(--ringproof-gap, 0.75rem);
  box-sizing: border-box;
  max-width: var(--ringproof-max-width, 28rem);
  min-width: 0;
  padding: var(--ringproof-padding, 1rem);
  font-family: var(--rp-font);
  font-size: var(--rp-size);
  line-height: 1.45;
  color: var(--rp-color);
  background: var(--rp-bg);
  border-radius: var(--rp-radius);
}
.ringproof *, .ringproof *::before, .ringproof *::after { box-sizing: border-box; }
.ringproof [hidden] { display: none !important; }
.ringproof .rp-stage { display: flex; flex-direction: column; gap: var(--rp-gap); }
.ringproof .rp-row { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.5rem 0.75rem; }
.ringproof .rp-row > .rp-field { flex: 1 1 12rem; min-width: 0; }
.ringproof .rp-field { display: flex; flex-direction: column; gap: 0.25rem; }
.ringproof label, .ringproof legend { font-weight: 600; }
.ringproof .rp-hint { color: var(--rp-muted); font-size: 0.9em; margin: 0; }
.ringproof input[type=tel], .ringproof input[type=text], .ringproof select {
  width: 100%;
  min-height: 2.75rem;
  padding: 0.5rem 0.75rem;
  font: inherit;
  color: var(--rp-color);
  background: var(--rp-field-bg);
  border: 1px solid var(--rp-border);
  border-radius: calc(var(--rp-radius) * 0.75);
}
.ringproof input.rp-code { letter-spacing: 0.3em; font-variant-numeric: tabular-nums; max-width: 12rem; }
.ringproof input[aria-invalid=true] { border-color: var(--rp-error); border-width: 2px; }
.ringproof fieldset { border: 0; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.4rem; }
.ringproof .rp-choice { display: flex; align-items: flex-start; gap: 0.5rem; font-weight: 400; }
.ringproof .rp-choice input { margin-top: 0.3rem; width: 1.1rem; height: 1.1rem; flex: none; }
.ringproof button {
  min-height: 2.75rem;
  padding: 0.5rem 1rem;
  font: inherit;
  font-weight: 600;
  border-radius: calc(var(--rp-radius) * 0.75);
  cursor: pointer;
}
.ringproof .rp-primary { color: var(--rp-accent-text); background: var(--rp-accent); border: 1px solid var(--rp-accent); }
.ringproof .rp-secondary { color: var(--rp-accent); background: transparent; border: 1px solid var(--rp-accent); }
.ringproof .rp-link { color: var(--rp-accent); background: none; border: 0; padding: 0.5rem 0; text-decoration: underline; min-height: 2.75rem; text-align: left; }
.ringproof button[disabled] { opacity: 0.6; cursor: progress; }
.ringproof :focus-visible { outline: 3px solid var(--rp-focus); outline-offset: 2px; }
.ringproof .rp-status { margin: var(--rp-gap) 0 0; min-height: 1.45em; color: var(--rp-muted); }
.ringproof .rp-status:empty { margin: 0; }
.ringproof .rp-error { margin: 0; color: var(--rp-error); font-weight: 600; }
.ringproof .rp-error:empty { display: none; }
.ringproof .rp-cli { font-size: 1.25em; font-variant-numeric: tabular-nums; margin: 0; overflow-wrap: anywhere; }
.ringproof .rp-cli .rp-blank { color: var(--rp-accent); letter-spacing: 0.15em; }
.ringproof .rp-dial { font-size: 1.4em; font-weight: 700; color: var(--rp-accent); overflow-wrap: anywhere; }
.ringproof .rp-done { color: var(--rp-success); font-weight: 700; font-size: 1.1em; margin: 0; }
.ringproof .rp-done::before { content: "\\2713\\00a0"; }
.ringproof .rp-actions { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem; }
@media (prefers-reduced-motion: no-preference) {
  .ringproof .rp-stage { animation: rp-in 120ms ease-out; }
  @keyframes rp-in { from { opacity: 0.4; } to { opacity: 1; } }
}
`;

// install adds the style sheet to doc once. It uses a constructed style
// sheet where the browser has them, which a Content-Security-Policy
// without 'unsafe-inline' styles allows, and a <style> element elsewhere.
export function install(doc) {
  if (doc.__ringproofStyled) return;
  doc.__ringproofStyled = true;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    return;
  } catch (e) {
    // Older browsers: fall through.
  }
  const style = doc.createElement("style");
  style.textContent = css;
  doc.head.appendChild(style);
}
