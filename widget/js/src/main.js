// ringproof.js: the verification widget. Load it with
//
//   <script src="https://verify.example/widget/v1/ringproof.js" defer></script>
//
// and it mounts itself into every element with a data-ringproof-key
// attribute; or call RingProof.mount(element, options). docs/widget.md
// lists the options and events.

import { Widget } from "./widget.js";

// The server the script was loaded from: the widget's API lives there.
const script = document.currentScript;
const scriptServer = script && script.src ? new URL(script.src).origin : location.origin;

// optionsFrom reads a widget's options from el's data attributes.
function optionsFrom(el) {
  const d = el.dataset;
  return {
    key: d.ringproofKey,
    server: d.server,
    country: d.country,
    locale: d.locale,
    methods: d.methods ? d.methods.split(/[\s,]+/).filter(Boolean) : undefined,
    tokenField: d.tokenField,
    numberField: d.numberField,
  };
}

// mount starts a widget in el. options: key (required), server, country,
// locale, methods, tokenField, numberField, and the callbacks onReady,
// onStatus, onVerified, onFailed, onError.
function mount(el, options) {
  if (typeof el === "string") el = document.querySelector(el);
  if (!el) throw new Error("RingProof.mount: no such element");
  if (el.__ringproof) return el.__ringproof;
  const opts = Object.assign({}, optionsFrom(el), options || {});
  for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
  opts.server = opts.server || scriptServer;
  const w = new Widget(el, opts);
  el.__ringproof = { restart: () => w.restart(), element: el };
  return el.__ringproof;
}

function mountAll() {
  document.querySelectorAll("[data-ringproof-key]").forEach((el) => mount(el));
}

window.RingProof = { mount, version: "1" };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
else mountAll();
