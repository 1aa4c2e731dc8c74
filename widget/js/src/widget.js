// The widget: one instance mounted into an element of the host page. It
// walks the user through one verification (number and method, then the
// code, the missed call or the fallback) and, once the number is
// verified, puts the result token into the page's form.

import { Client, APIError, chainOver } from "./api.js";
import { countryOptions, guessCountry, formatAsTyped, parse, display } from "./phone.js";
import { translator, pickLanguage } from "./i18n.js";
import { install } from "./styles.js";

// supported are the methods the widget can walk a user through, in the
// order it offers them.
const supported = ["flashcall", "sms", "voice", "inbound_missed"];

// chainOrder is the order of a fallback chain: a method falls back to the
// allowed methods after it.
const chainOrder = ["flashcall", "sms", "voice"];

let instances = 0;

// h builds an element: attrs are attributes (on* are listeners), children
// are nodes or strings (text, never HTML).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// noImplicitSubmit keeps Enter in input from submitting the host page's
// form: the widget acts on the keydown, and some input methods deliver the
// Enter's keypress on its own.
function noImplicitSubmit(input) {
  input.addEventListener("keypress", (e) => {
    if (e.key === "Enter") e.preventDefault();
  });
}

// Widget is one mounted widget; see mount in main.js for its options.
export class Widget {
  constructor(el, opts) {
    this.el = el;
    this.opts = opts;
    this.n = ++instances;
    const doc = el.ownerDocument;
    const pageLang = (el.closest("[lang]") || doc.documentElement).getAttribute("lang");
    this.lang = pickLanguage([opts.locale, pageLang, ...(navigator.languages || [navigator.language])]);
    this.t = translator(this.lang);
    this.country = (opts.country || guessCountry(navigator.languages || [navigator.language], "US")).toUpperCase();
    this.client = new Client(opts.server, opts.key || "");
    this.methods = [];
    this.link = null; // the verification being followed (the chain's current link)
    this.view = null; // its last state
    this.follower = null;
    this.done = false;
    this.number = null; // {e164, display}
    this.lastStatus = "";

    install(doc);
    el.classList.add("ringproof");
    el.setAttribute("lang", this.lang);
    this.body = h("div", { class: "rp-body" });
    this.statusEl = h("p", { class: "rp-status", role: "status", "aria-live": "polite", "aria-atomic": "true", id: this.ids("status") });
    this.tokenField = h("input", { type: "hidden", name: opts.tokenField || "ringproof_result_token", value: "" });
    this.numberField = h("input", { type: "hidden", name: opts.numberField || "ringproof_number", value: "" });
    el.replaceChildren(this.body, this.statusEl, this.tokenField, this.numberField);
    this.load();
  }

  ids(name) {
    return "ringproof" + this.n + "-" + name;
  }

  // emit dispatches ringproof:<type> on the element and calls the matching
  // on<Type> option.
  emit(type, detail) {
    this.el.dispatchEvent(new CustomEvent("ringproof:" + type, { detail, bubbles: true }));
    const cb = this.opts["on" + type.charAt(0).toUpperCase() + type.slice(1)];
    if (typeof cb === "function") cb(detail);
  }

  // say shows text in the live region, which screen readers announce.
  say(text) {
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.statusEl.textContent = text;
  }

  // load asks which methods the key allows, then shows the first stage.
  async load() {
    if (!this.opts.key) {
      this.showProblem(this.t("errNoKey"), false);
      return;
    }
    try {
      const s = await this.client.settings();
      const wanted = this.opts.methods && this.opts.methods.length ? this.opts.methods : supported;
      this.methods = supported.filter((m) => s.methods.includes(m) && wanted.includes(m));
    } catch (e) {
      this.showProblem(this.problemText(e), true);
      return;
    }
    this.emit("ready", { methods: this.methods.slice() });
    this.showStart();
  }

  // showProblem shows a problem in place of the stage, with a way to start
  // again when retry.
  showProblem(text, retry) {
    this.stop();
    const err = h("p", { class: "rp-error", role: "alert" }, text);
    const again = retry ? h("button", { type: "button", class: "rp-secondary", onclick: () => this.restart() }, this.t("startAgain")) : null;
    this.body.replaceChildren(h("div", { class: "rp-stage" }, err, again));
    this.emit("error", { message: text });
  }

  restart() {
    this.stop();
    this.link = null;
    this.view = null;
    this.done = false;
    this.say("");
    if (this.methods.length) this.showStart();
    else this.load();
  }

  stop() {
    if (this.follower) this.follower.stop();
    this.follower = null;
  }

  // showStart shows the number, the country and the method choice.
  showStart() {
    const t = this.t;
    const select = h("select", { id: this.ids("country"), autocomplete: "tel-country-code" });
    for (const c of countryOptions(this.lang)) {
      select.append(h("option", { value: c.code, selected: c.code === this.country }, `${c.name} (+${c.calling})`));
    }
    const error = h("p", { class: "rp-error", id: this.ids("phone-error"), role: "alert" });
    const input = h("input", {
      type: "tel", id: this.ids("phone"), autocomplete: "tel-national", inputmode: "tel",
      "aria-describedby": this.ids("phone-hint") + " " + this.ids("phone-error"),
      value: this.typed || "",
    });
    const reformat = () => {
      // Reformat only when typing at the end, so that the caret stays put.
      if (input.selectionStart !== input.value.length) return;
      const { formatted, country } = formatAsTyped(input.value, this.country);
      if (formatted !== input.value) input.value = formatted;
      if (country && country !== this.country) {
        this.country = country;
        select.value = country;
      }
    };
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
      reformat();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault(); // not the host form's submit
        this.start(input, select, error, button);
      }
    });
    noImplicitSubmit(input);
    select.addEventListener("change", () => {
      this.country = select.value;
      if (input.value) input.value = formatAsTyped(input.value.replace(/[^\d+]/g, ""), this.country).formatted;
    });

    let methods = null;
    if (this.methods.length > 1) {
      methods = h("fieldset", { class: "rp-methods" }, h("legend", {}, t("methodLegend")));
      this.methods.forEach((m, i) => {
        const id = this.ids("method-" + m);
        methods.append(h("label", { class: "rp-choice", for: id },
          h("input", { type: "radio", name: this.ids("method"), id, value: m, checked: i === 0 }),
          h("span", {}, t("method." + m))));
      });
    }
    const button = h("button", { type: "button", class: "rp-primary", onclick: () => this.start(input, select, error, button) }, t("verify"));
    this.body.replaceChildren(h("div", { class: "rp-stage rp-start" },
      h("div", { class: "rp-row" },
        h("div", { class: "rp-field" }, h("label", { for: select.id }, t("country")), select),
        h("div", { class: "rp-field" }, h("label", { for: input.id }, t("phone")), input)),
      h("p", { class: "rp-hint", id: this.ids("phone-hint") }, t("phoneHint")),
      error, methods, h("div", { class: "rp-actions" }, button)));
  }

  // start creates the verification for the number and method chosen.
  async start(input, select, error, button) {
    if (button.disabled) return;
    const t = this.t;
    this.country = select.value;
    this.typed = input.value;
    const number = parse(input.value, this.country);
    if (!number) {
      input.setAttribute("aria-invalid", "true");
      error.textContent = t("invalidNumber");
      input.focus();
      return;
    }
    const chosen = this.body.querySelector(`input[name="${this.ids("method")}"]:checked`);
    const method = chosen ? chosen.value : this.methods[0];
    const after = chainOrder.indexOf(method);
    const fallback = after < 0 ? [] : chainOrder.slice(after + 1).filter((m) => this.methods.includes(m));
    button.disabled = true;
    this.say(t("starting"));
    let v;
    try {
      const req = { number: number.e164, method };
      if (fallback.length) req.fallback = fallback;
      v = await this.client.create(req);
    } catch (e) {
      button.disabled = false;
      this.say("");
      if (e instanceof APIError && (e.code === "invalid_number" || e.field === "number") && e.status === 400) {
        input.setAttribute("aria-invalid", "true");
        error.textContent = t("invalidNumber");
        input.focus();
        return;
      }
      error.textContent = this.problemText(e);
      this.emit("error", { code: e.code, message: error.textContent });
      return;
    }
    this.number = number;
    this.token = v.watch_token;
    this.follow(v);
  }

  // follow shows v's stage and follows its event stream, link to link.
  follow(v) {
    this.update(v);
    this.follower = this.client.follow(v.id, this.token, (nv) => this.update(nv), () => {
      if (!this.done && this.view && !chainOver(this.view)) this.showProblem(this.t("errNetwork"), true);
    });
  }

  // update takes a new state of the current link (or the first of the
  // next one) and shows it.
  update(v) {
    if (this.done) return;
    const t = this.t;
    if (v.next_id) {
      this.say(t("status.fallback"));
      return;
    }
    const fresh = !this.view || this.view.id !== v.id;
    this.view = v;
    this.link = v.id;
    this.emit("status", { id: v.id, method: v.method, status: v.status, reason: v.reason || "" });
    if (v.status === "verified") {
      this.verified(v);
      return;
    }
    if (chainOver(v)) {
      this.failed(v);
      return;
    }
    if (v.status === "failed" && !(v.events || []).some((e) => e.type === "fallback_failed")) {
      // The chain moves on by itself.
      this.say(t("status.fallback"));
      return;
    }
    if (fresh) this.showLink(v);
    this.say(this.statusText(v));
  }

  // statusText is what the user is told of v now.
  statusText(v) {
    const t = this.t;
    const number = this.number ? this.number.display : display(v.number);
    const events = (v.events || []).map((e) => e.type);
    if (events.includes("fallback_failed")) return t("status.fallback_failed");
    if (v.method === "sms") return t(events.includes("sent") ? "status.sms.sent" : "status.sms.pending", { number });
    if (v.method === "flashcall" && (v.status === "rang" || events.includes("cancelled"))) {
      return t("status.flashcall.rang", { n: v.code_length });
    }
    const key = `status.${v.method}.${v.status}`;
    const text = t(key, { number, n: v.code_length });
    return text === key ? t(`status.${v.method}.pending`, { number }) : text;
  }

  // showLink shows the stage of link v: the code entry, or the number to
  // call.
  showLink(v) {
    const t = this.t;
    if (v.method === "inbound_missed") {
      const number = this.number ? this.number.display : "";
      const link = h("a", { href: "tel:" + v.dial_number, class: "rp-dial", id: this.ids("dial") }, display(v.dial_number));
      this.body.replaceChildren(h("div", { class: "rp-stage rp-inbound" },
        h("p", { class: "rp-hint" }, t("dialIntro", { number })),
        link,
        h("p", { class: "rp-hint" }, t("dialHint")),
        h("div", { class: "rp-actions" }, h("button", { type: "button", class: "rp-link", onclick: () => this.restart() }, t("startAgain")))));
      link.focus();
      return;
    }
    const n = v.code_length || 4;
    const labelKey = v.method === "flashcall" ? "codeFlash" : v.method === "sms" ? "codeText" : "codeVoice";
    const error = h("p", { class: "rp-error", id: this.ids("code-error"), role: "alert" });
    const input = h("input", {
      type: "text", id: this.ids("code"), class: "rp-code", inputmode: "numeric", autocomplete: "one-time-code",
      pattern: "[0-9]*", maxlength: n, "aria-describedby": this.ids("code-error"),
    });
    const button = h("button", { type: "button", class: "rp-primary", onclick: () => this.check(input, error, button) }, t("check"));
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.check(input, error, button);
      }
    });
    noImplicitSubmit(input);
    let cli = null;
    if (v.method === "flashcall" && v.cli_prefix) {
      cli = h("p", { class: "rp-cli" },
        h("span", { class: "rp-hint" }, t("cliShown"), " "),
        h("span", { class: "rp-prefix" }, v.cli_prefix),
        h("span", { class: "rp-blank", "aria-hidden": "true" }, "•".repeat(n)));
    }
    const remaining = (v.fallback || []).filter((m) => this.methods.includes(m));
    const actions = h("div", { class: "rp-actions" }, button);
    if (v.method !== "voice" || remaining.length) {
      const next = remaining[0];
      const label = next === "sms" ? t("tryText") : next === "voice" ? t("tryVoice") : next === "flashcall" ? t("tryFlash") : t("startAgain");
      const question = v.method === "sms" ? t("noText") : t("noCall");
      actions.append(h("span", { class: "rp-hint" }, question),
        h("button", { type: "button", class: "rp-link", onclick: () => (next ? this.nothingCame() : this.restart()) }, label));
    }
    this.body.replaceChildren(h("div", { class: "rp-stage rp-code-stage", "data-method": v.method },
      cli,
      h("div", { class: "rp-field" }, h("label", { for: input.id }, t(labelKey, { n })), input),
      error, actions));
    input.focus();
  }

  // check checks the code typed.
  async check(input, error, button) {
    if (button.disabled || this.done) return;
    const t = this.t;
    const n = (this.view && this.view.code_length) || 4;
    const code = input.value.replace(/\s/g, "");
    if (!new RegExp(`^[0-9]{${n}}$`).test(code)) {
      input.setAttribute("aria-invalid", "true");
      error.textContent = t("codeFormat", { n });
      input.focus();
      return;
    }
    button.disabled = true;
    const label = button.textContent;
    button.textContent = t("checking");
    let res;
    try {
      res = await this.client.check(this.link, code);
    } catch (e) {
      button.disabled = false;
      button.textContent = label;
      error.textContent = this.problemText(e);
      return;
    }
    button.disabled = false;
    button.textContent = label;
    if (res.status === "verified") {
      this.verified(Object.assign({}, this.view, { status: "verified" }), res.result_token);
      return;
    }
    if (res.status === "failed" || res.status === "expired" || res.status === "canceled") {
      const reason = { failed: "attempts_exhausted", expired: "expired", canceled: "cancel_requested" }[res.status];
      this.failed(Object.assign({}, this.view, { status: res.status, reason }));
      return;
    }
    input.value = "";
    input.setAttribute("aria-invalid", "true");
    error.textContent = res.attempts_left === 1 ? t("wrongCodeOne") : t("wrongCode", { left: res.attempts_left });
    input.focus();
  }

  // nothingCame tells ringproof that no call or text came (HANGUP): the
  // chain moves on to its next link, which the stream then shows.
  async nothingCame() {
    this.say(this.t("status.fallback"));
    try {
      await this.client.check(this.link, "HANGUP");
    } catch (e) {
      this.showProblem(this.problemText(e), true);
    }
  }

  // verified shows the outcome and hands the result token to the form.
  async verified(v, token) {
    if (this.done) return;
    this.done = true;
    this.stop();
    if (!token) {
      try {
        token = (await this.client.get(v.id)).result_token || "";
      } catch (e) {
        token = "";
      }
    }
    const t = this.t;
    const number = this.number ? this.number.display : display(v.number);
    this.tokenField.value = token || "";
    this.numberField.value = this.number ? this.number.e164 : "";
    const done = h("p", { class: "rp-done", tabindex: "-1", id: this.ids("done") }, t("verifiedTitle"), ": ", number);
    this.body.replaceChildren(h("div", { class: "rp-stage rp-verified" }, done));
    this.say(t("status.verified", { number }));
    done.focus();
    this.el.setAttribute("data-ringproof-status", "verified");
    this.emit("verified", { id: v.id, number: this.numberField.value, resultToken: this.tokenField.value });
  }

  // failed shows a final failure and a way to start again.
  failed(v) {
    this.stop();
    const t = this.t;
    const number = this.number ? this.number.display : "";
    let text;
    if (v.status === "expired") text = t("status.expired");
    else if (v.status === "canceled") text = t("status.canceled");
    else if (v.reason === "attempts_exhausted") text = t("status.failed.attempts_exhausted");
    else if ((v.events || []).some((e) => e.type === "fallback_failed")) text = t("status.fallback_failed");
    else text = t("status.failed", { number });
    const again = h("button", { type: "button", class: "rp-secondary", onclick: () => this.restart() }, t("startAgain"));
    this.body.replaceChildren(h("div", { class: "rp-stage rp-failed" }, h("p", { class: "rp-error" }, text), h("div", { class: "rp-actions" }, again)));
    this.say(text);
    again.focus();
    this.emit("failed", { id: v.id, status: v.status, reason: v.reason || "" });
  }

  // problemText says what an API error means to the user.
  problemText(e) {
    const t = this.t;
    if (!(e instanceof APIError)) return t("errGeneric", { code: String(e && e.message) });
    switch (e.code) {
      case "network":
        return t("errNetwork");
      case "origin_not_allowed":
        return t("errOrigin");
      case "rate_limited":
        return e.field === "number" ? t("errTooMany") : t("errRate", { s: e.retryAfter || 60 });
      case "method_not_allowed":
        return t("errMethod");
      default:
        return t("errGeneric", { code: e.code });
    }
  }
}
