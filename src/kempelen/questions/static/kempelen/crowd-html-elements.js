/*
 * Kempelen's crowd-html-elements.js: the common subset of AWS's Crowd HTML Elements, written for Kempelen from
 * their public documentation, so that templates built on <crowd-form> work without Amazon's script.
 *
 * Task HTML that loads https://assets.crowd.aws/crowd-html-elements.js is served with this file instead (see
 * kempelen/questions/hosted_scripts.py). Plain JavaScript custom elements, no dependencies, no build step.
 *
 * What a template gets:
 *   <crowd-form>       wraps a real <form>; on submit it checks required answers, fires "submit" on itself
 *                      (onsubmit handlers may cancel it), then posts assignmentId and one taskAnswers field
 *                      (a JSON array holding one object keyed by element names) to turkSubmitTo +
 *                      "/mturk/externalSubmit". answer-format="flatten-objects" posts one field per leaf
 *                      instead (sentiment.label=...). In preview (assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE)
 *                      nothing can be submitted and a notice says so.
 *   form controls      crowd-input, crowd-text-area, crowd-checkbox, crowd-toggle-button, crowd-radio-group
 *                      and crowd-radio-button, crowd-slider, crowd-button (form-action submit/reset),
 *                      crowd-icon-button, crowd-fab.
 *   widgets            crowd-classifier, crowd-classifier-multi-select, crowd-image-classifier,
 *                      crowd-image-classifier-multi-select, crowd-bounding-box, crowd-keypoint,
 *                      crowd-entity-annotation.
 *   layout             crowd-alert, crowd-badge, crowd-card, crowd-instructions, crowd-modal, crowd-tabs and
 *                      crowd-tab, crowd-toast, short-instructions, full-instructions.
 *
 * Output shapes, attributes and the differences from AWS's elements are documented in
 * docs/crowd-html-elements.md. Pure helpers are exposed as window.KempelenCrowd for tests.
 */
(function (global) {
  "use strict";

  var PREVIEW_ASSIGNMENT_ID = "ASSIGNMENT_ID_NOT_AVAILABLE";
  var PREVIEW_NOTICE = "You must ACCEPT the HIT before you can submit the results.";
  var SUBMIT_PATH = "/mturk/externalSubmit";
  var PALETTE = ["#1f77b4", "#d9480f", "#2b8a3e", "#c92a2a", "#7048e8", "#8c564b", "#c2255c", "#495057",
                 "#807c00", "#0c8599"];

  // --- Pure helpers (no DOM) ----------------------------------------------------------------------------------

  /**
   * Parse an attribute written as JSON or as a JavaScript literal, as templates do:
   * "['Cat', 'Dog']", "{ text: 'None of the above' }", "[{label: 'person', startOffset: 0,},]".
   * Accepts single- or double-quoted strings, unquoted keys, trailing commas and comments; never evaluates code.
   */
  function parseLoose(text) {
    text = String(text);
    try {
      return JSON.parse(text);
    } catch (ignored) {
      // fall through to the lenient parser
    }
    var pos = 0;

    function fail(what) {
      throw new SyntaxError(what + " at position " + pos + " of " + JSON.stringify(text.slice(0, 80)));
    }

    function skip() {
      for (;;) {
        var c = text.charAt(pos);
        if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\u00a0" || c === "\ufeff") {
          pos++;
        } else if (c === "/" && text.charAt(pos + 1) === "/") {
          while (pos < text.length && text.charAt(pos) !== "\n") { pos++; }
        } else if (c === "/" && text.charAt(pos + 1) === "*") {
          var end = text.indexOf("*/", pos + 2);
          if (end < 0) { fail("Unclosed comment"); }
          pos = end + 2;
        } else {
          return;
        }
      }
    }

    function string() {
      var quote = text.charAt(pos++);
      var out = "";
      for (;;) {
        if (pos >= text.length) { fail("Unclosed string"); }
        var c = text.charAt(pos++);
        if (c === quote) { return out; }
        if (c !== "\\") { out += c; continue; }
        var e = text.charAt(pos++);
        var simple = {n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "0": "\0"};
        if (Object.prototype.hasOwnProperty.call(simple, e)) {
          out += simple[e];
        } else if (e === "u") {
          var hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) { fail("Bad \\u escape"); }
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
        } else if (e === "\n") {
          // a line continuation
        } else {
          out += e;
        }
      }
    }

    function identifier() {
      var match = /^[A-Za-z_$][\w$-]*/.exec(text.slice(pos));
      if (!match) { fail("Unexpected character " + JSON.stringify(text.charAt(pos))); }
      pos += match[0].length;
      return match[0];
    }

    function value() {
      skip();
      var c = text.charAt(pos);
      if (c === "{") { return object(); }
      if (c === "[") { return array(); }
      if (c === "'" || c === "\"") { return string(); }
      var number = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/.exec(text.slice(pos));
      if (number) {
        pos += number[0].length;
        return Number(number[0]);
      }
      var word = identifier();
      if (word === "true") { return true; }
      if (word === "false") { return false; }
      if (word === "null" || word === "undefined") { return null; }
      fail("Unexpected word " + JSON.stringify(word));
      return null;
    }

    function array() {
      var out = [];
      pos++;
      for (;;) {
        skip();
        if (text.charAt(pos) === "]") { pos++; return out; }
        if (text.charAt(pos) === ",") { pos++; continue; } // elisions and trailing commas
        out.push(value());
        skip();
        var c = text.charAt(pos);
        if (c === ",") { pos++; } else if (c !== "]") { fail("Expected , or ]"); }
      }
    }

    function object() {
      var out = {};
      pos++;
      for (;;) {
        skip();
        var c = text.charAt(pos);
        if (c === "}") { pos++; return out; }
        if (c === ",") { pos++; continue; }
        var key = c === "'" || c === "\"" ? string() : (/[-\d.]/.test(c) ? String(value()) : identifier());
        skip();
        if (text.charAt(pos) !== ":") { fail("Expected :"); }
        pos++;
        out[key] = value();
        skip();
        c = text.charAt(pos);
        if (c === ",") { pos++; } else if (c !== "}") { fail("Expected , or }"); }
      }
    }

    var result = value();
    skip();
    if (pos < text.length) { fail("Unexpected text after the value"); }
    return result;
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  /** A copy of ``value`` whose object keys are sorted at every level (arrays keep their order). */
  function sortKeys(value) {
    if (Array.isArray(value)) { return value.map(sortKeys); }
    if (!isPlainObject(value)) { return value; }
    var out = {};
    Object.keys(value).sort().forEach(function (key) { out[key] = sortKeys(value[key]); });
    return out;
  }

  /** JSON with object keys in sorted order, as AWS's crowd-form writes taskAnswers. */
  function stableStringify(value) {
    return JSON.stringify(sortKeys(value));
  }

  /**
   * The fields answer-format="flatten-objects" posts: nested object keys joined with dots, in sorted order.
   * Strings are posted as they are, numbers and booleans as text, arrays as JSON; empty objects and nulls vanish.
   */
  function flattenAnswers(answers, prefix) {
    var fields = [];
    Object.keys(answers).sort().forEach(function (key) {
      var name = prefix ? prefix + "." + key : key;
      var value = answers[key];
      if (value === null || value === undefined) { return; }
      if (isPlainObject(value)) {
        fields.push.apply(fields, flattenAnswers(value, name));
      } else if (Array.isArray(value)) {
        fields.push([name, stableStringify(value)]);
      } else {
        fields.push([name, String(value)]);
      }
    });
    return fields;
  }

  /** The number of Unicode code points in the first ``index`` UTF-16 units of ``text``. */
  function codePointOffset(text, index) {
    return Array.from(text.slice(0, index)).length;
  }

  /** The UTF-16 index of the code point at ``offset`` in ``text`` (clamped to the text). */
  function utf16Index(text, offset) {
    var index = 0;
    var seen = 0;
    while (seen < offset && index < text.length) {
      var code = text.charCodeAt(index);
      index += code >= 0xd800 && code <= 0xdbff && index + 1 < text.length ? 2 : 1;
      seen++;
    }
    return index;
  }

  /** Strings from a list attribute: JSON-ish arrays of strings (or of {label}/{text} objects); else comma-separated. */
  function stringList(text) {
    if (text === null || text === undefined || String(text).trim() === "") { return []; }
    var parsed;
    try {
      parsed = parseLoose(text);
    } catch (error) {
      return String(text).split(",").map(function (each) { return each.trim(); }).filter(Boolean);
    }
    if (!Array.isArray(parsed)) { parsed = [parsed]; }
    return parsed.map(function (item) {
      if (isPlainObject(item)) { return String(item.label !== undefined ? item.label : (item.text || "")); }
      return item === null || item === undefined ? "" : String(item);
    }).filter(function (each) { return each !== ""; });
  }

  var helpers = {
    parseLoose: parseLoose, stableStringify: stableStringify, flattenAnswers: flattenAnswers,
    codePointOffset: codePointOffset, utf16Index: utf16Index, stringList: stringList,
  };
  global.KempelenCrowd = helpers;

  var doc = global.document;
  if (!doc || !global.customElements || !global.HTMLElement) {
    return; // not a browser (the helpers above are still usable)
  }
  if (global.customElements.get("crowd-form")) {
    return; // already loaded on this page
  }

  // --- DOM infrastructure ---------------------------------------------------------------------------------------

  var parsed = doc.readyState !== "loading";
  doc.addEventListener("DOMContentLoaded", function () { parsed = true; });

  /** Run ``fn`` once the document is parsed: elements are upgraded at their start tag, before their children. */
  function whenParsed(fn) {
    if (parsed) {
      fn();
    } else {
      doc.addEventListener("DOMContentLoaded", fn, {once: true});
    }
  }

  /** Create an element: h("button", {type: "button", class: "x"}, "text", child…). Null attributes are skipped. */
  function h(tag, attrs) {
    var node = tag.indexOf("svg:") === 0
      ? doc.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
      : doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) { return; }
      node.setAttribute(key, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) { continue; }
      node.appendChild(typeof child === "string" ? doc.createTextNode(child) : child);
    }
    return node;
  }

  var sheetCache = {};

  /** Styles for a shadow root: a shared constructable sheet where supported, else a <style> element. */
  function adoptStyles(root, key, css) {
    if (global.CSSStyleSheet && "adoptedStyleSheets" in root) {
      try {
        if (!sheetCache[key]) {
          sheetCache[key] = new global.CSSStyleSheet();
          sheetCache[key].replaceSync(css);
        }
        root.adoptedStyleSheets = root.adoptedStyleSheets.concat([sheetCache[key]]);
        return;
      } catch (error) {
        // fall back to a style element
      }
    }
    var style = doc.createElement("style");
    style.textContent = css;
    root.insertBefore(style, root.firstChild);
  }

  var BASE_CSS = [
    ":host { display: block; font-family: inherit; color: inherit; box-sizing: border-box; }",
    ":host([hidden]), [hidden] { display: none !important; }",
    "*, *::before, *::after { box-sizing: inherit; }",
    ":focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }",
    "button { font: inherit; padding: .4rem .85rem; border-radius: 6px; border: 1px solid #0b5cad;",
    "  background: #fff; color: #0b5cad; cursor: pointer; }",
    "button.primary { background: #0b5cad; color: #fff; }",
    "button:disabled { opacity: .55; cursor: not-allowed; }",
    "button.link { border: none; background: none; padding: 0; text-decoration: underline; }",
    ".crowd-error { color: #b42318; font-weight: 600; margin: .35rem 0 0; }",
    ".help { color: #57606a; font-size: .9rem; margin: .35rem 0; }",
    ".visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);",
    "  white-space: nowrap; }",
    "input[type=text], input:not([type]), input[type=number], input[type=email], input[type=url],",
    "input[type=tel], input[type=date], input[type=password], input[type=search], textarea, select {",
    "  font: inherit; padding: .4rem .5rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff;",
    "  color: inherit; max-width: 100%; }",
    "[aria-invalid=true] { border-color: #b42318; box-shadow: 0 0 0 1px #b42318; }",
    "fieldset { border: 1px solid #d0d7de; border-radius: 8px; padding: .5rem .75rem .75rem; margin: .5rem 0; min-width: 0; }",
    "legend { padding: 0 .25rem; font-weight: 600; }",
    ".header { font-size: 1.15rem; font-weight: 600; margin: 0 0 .5rem; }",
    ".layout { display: flex; flex-wrap: wrap-reverse; gap: 1rem; align-items: flex-start; }",
    ".layout > .main { flex: 3 1 26rem; min-width: 0; }",
    ".layout > .instructions { flex: 1 1 14rem; min-width: 0; }",
  ].join("\n");

  function shadow(host, key, css) {
    var root = host.attachShadow({mode: "open"});
    adoptStyles(root, "base", BASE_CSS);
    if (css) { adoptStyles(root, key, css); }
    return root;
  }

  /** Page-level styles for what lives in the light DOM (the form, its notices, tabs, entity text). */
  var DOCUMENT_CSS = [
    "crowd-form, crowd-tabs, crowd-tab, classification-target, short-summary, detailed-instructions,",
    "positive-example, negative-example, worker-comment { display: block; }",
    "crowd-tab[hidden], crowd-form [hidden].crowd-form-part { display: none; }",
    "crowd-button, crowd-icon-button, crowd-fab, crowd-badge, crowd-toggle-button { display: inline-block; }",
    "crowd-modal { display: inline; }",
    "crowd-instructions > *, crowd-modal > * { }",
    ".crowd-form-footer { margin-top: 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }",
    ".crowd-form-notice { margin: .5rem 0; padding: .5rem .75rem; border-radius: 6px; background: #fff8c5;",
    "  border: 1px solid #d4a72c; color: #1b1f23; }",
    ".crowd-form-errors { margin: .75rem 0; padding: .5rem .75rem; border-radius: 6px; background: #fdecea;",
    "  border: 1px solid #b42318; color: #1b1f23; }",
    ".crowd-form-errors p { margin: 0 0 .25rem; font-weight: 600; color: #b42318; }",
    ".crowd-form-errors ul { margin: 0; padding-left: 1.25rem; }",
    ".crowd-form-errors a { color: #b42318; }",
    ".crowd-tabs-list { display: flex; flex-wrap: wrap; gap: .25rem; border-bottom: 1px solid #d0d7de; margin-bottom: .75rem; }",
    ".crowd-tabs-list button { font: inherit; padding: .4rem .85rem; border: 1px solid #d0d7de; border-bottom: none;",
    "  border-radius: 6px 6px 0 0; background: #f6f8fa; color: inherit; cursor: pointer; margin-bottom: -1px; }",
    ".crowd-tabs-list button[aria-selected=true] { background: #fff; font-weight: 600; border-color: #0b5cad;",
    "  border-top-width: 3px; }",
    ".crowd-tabs-list button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }",
    ".crowd-entity-text { white-space: pre-wrap; line-height: 2.4; padding: .5rem .75rem; border: 1px solid #8c959f;",
    "  border-radius: 6px; background: #fff; caret-color: #0b5cad; font-size: 1.05rem; overflow-wrap: anywhere; }",
    ".crowd-entity-text:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }",
    ".crowd-entity-mark { background: color-mix(in srgb, var(--crowd-entity-color) 22%, white);",
    "  border-bottom: 3px solid var(--crowd-entity-color); padding: .1em 0; position: relative; color: inherit; }",
    ".crowd-entity-mark::after { content: attr(data-short); position: absolute; left: 0; top: -1.35em;",
    "  font-size: .7rem; line-height: 1; font-weight: 700; color: #fff; background: var(--crowd-entity-color);",
    "  padding: .1em .3em; border-radius: 3px; white-space: nowrap; pointer-events: none; user-select: none; }",
  ].join("\n");

  var documentStylesAdded = false;

  function addDocumentStyles() {
    if (documentStylesAdded) { return; }
    documentStylesAdded = true;
    adoptStyles(doc, "document", DOCUMENT_CSS);
  }

  function boolAttr(element, name) {
    return element.hasAttribute(name);
  }

  function intAttr(element, name, fallback) {
    var value = parseInt(element.getAttribute(name), 10);
    return isNaN(value) ? fallback : value;
  }

  function numberAttr(element, name, fallback) {
    var raw = element.getAttribute(name);
    var value = raw === null || raw.trim() === "" ? NaN : Number(raw);
    return isFinite(value) ? value : fallback;
  }

  /** Parse a JSON-ish attribute, or return ``fallback`` (with a console warning) when it is malformed. */
  function jsonAttr(element, name, fallback) {
    var raw = element.getAttribute(name);
    if (raw === null || raw.trim() === "") { return fallback; }
    try {
      return parseLoose(raw);
    } catch (error) {
      global.console && global.console.warn("<" + element.localName + "> " + name + ": " + error.message);
      return fallback;
    }
  }

  /**
   * A name for a control that has no label of its own: aria-label, else the short text just before the element
   * (templates usually write the question in a <p> above it), else ``fallback``.
   */
  function contextLabel(host, fallback) {
    var own = host.getAttribute("aria-label");
    if (own) { return own; }
    var previous = host.previousElementSibling;
    if (previous && /^(P|LABEL|H[1-6]|DIV|SPAN|STRONG|B)$/.test(previous.tagName)) {
      var text = (previous.textContent || "").replace(/\s+/g, " ").trim();
      if (text && text.length <= 200) { return text; }
    }
    return fallback;
  }

  /** Make ``element`` visible before focusing it: select its tab, open its <details>. */
  function reveal(element) {
    var node = element;
    while (node) {
      if (node.localName === "crowd-tab" && node.parentElement && node.parentElement.localName === "crowd-tabs" &&
          typeof node.parentElement.select === "function") {
        node.parentElement.select(node);
      } else if (node.localName === "details") {
        node.open = true;
      }
      node = node.parentElement || (node.getRootNode && node.getRootNode().host) || null;
    }
  }

  function isEditableTarget(event) {
    var target = event.composedPath ? event.composedPath()[0] : event.target;
    if (!target || !target.tagName) { return false; }
    if (target.isContentEditable) { return true; }
    if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") { return true; }
    if (target.tagName === "INPUT") {
      return !/^(checkbox|radio|button|submit|reset|range|color|file|image)$/i.test(target.type);
    }
    return false;
  }

  /** The digit keys 1–9 and 0 (for the tenth) as an index, or -1. */
  function digitIndex(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return -1; }
    if (!/^[0-9]$/.test(event.key)) { return -1; }
    return event.key === "0" ? 9 : Number(event.key) - 1;
  }

  /** A few of the iron-icons names templates use, drawn with text so nothing needs loading. */
  var ICONS = {
    star: "\u2605", "star-border": "\u2606", check: "\u2713", "check-circle": "\u2713", close: "\u00d7",
    clear: "\u00d7", cancel: "\u00d7", warning: "\u26a0", "report-problem": "\u26a0", error: "!", info: "i",
    "info-outline": "i", help: "?", "help-outline": "?", "question-answer": "?", search: "\u2315",
    add: "+", remove: "\u2212", delete: "\u2715", done: "\u2713", flag: "\u2691", favorite: "\u2665",
    "thumb-up": "\u25b2", "thumb-down": "\u25bc", "arrow-forward": "\u2192", "arrow-back": "\u2190",
    send: "\u27a4", refresh: "\u21bb", undo: "\u21b6", redo: "\u21b7", visibility: "\u25c9",
  };

  function iconNode(icon) {
    if (!icon) { return null; }
    if (/^(https?:|data:|\/|\.)/.test(icon)) {
      return h("img", {src: icon, alt: "", class: "icon", width: 18, height: 18});
    }
    return h("span", {class: "icon", "aria-hidden": "true"}, ICONS[icon] || "\u2022");
  }

  var nextId = 0;

  function uniqueId(prefix) {
    nextId += 1;
    return "crowd-" + prefix + "-" + nextId;
  }

  /** Wire ARIA tab keys (arrows, Home, End) on a list of tab buttons; ``choose(index)`` shows a panel. */
  function tabKeys(tabs, choose) {
    tabs.forEach(function (tab, index) {
      tab.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight" || event.key === "ArrowDown") { next = (index + 1) % tabs.length; }
        if (event.key === "ArrowLeft" || event.key === "ArrowUp") { next = (index - 1 + tabs.length) % tabs.length; }
        if (event.key === "Home") { next = 0; }
        if (event.key === "End") { next = tabs.length - 1; }
        if (next === null) { return; }
        event.preventDefault();
        choose(next);
        tabs[next].focus();
      });
      tab.addEventListener("click", function () { choose(index); });
    });
  }

  function selectTab(tabs, panels, index) {
    tabs.forEach(function (tab, i) {
      tab.setAttribute("aria-selected", i === index ? "true" : "false");
      tab.tabIndex = i === index ? 0 : -1;
      panels[i].hidden = i !== index;
    });
  }

  // --- Base classes -----------------------------------------------------------------------------------------------

  /** An element built once its children exist (at DOMContentLoaded, or at once when created later). */
  class CrowdElement extends global.HTMLElement {
    connectedCallback() {
      var self = this;
      whenParsed(function () {
        if (!self._crowdBuilt && self.isConnected) {
          self._crowdBuilt = true;
          self.build();
        }
      });
    }

    build() {}
  }

  /**
   * An element whose answer goes into taskAnswers. Subclasses give answerEntries() ([name, value] pairs; none
   * when the element has nothing to say), validationMessage() ("" when fine), the control to focus, and reset().
   */
  class CrowdField extends CrowdElement {
    static get observedAttributes() { return ["disabled"]; }

    attributeChangedCallback(name) {
      if (name === "disabled" && this._crowdBuilt) { this.syncDisabled(); }
    }

    get name() { return this.getAttribute("name") || ""; }
    set name(value) { this.setAttribute("name", value); }
    get disabled() { return this.hasAttribute("disabled"); }
    set disabled(value) { this.toggleAttribute("disabled", Boolean(value)); }
    get required() { return this.hasAttribute("required"); }
    set required(value) { this.toggleAttribute("required", Boolean(value)); }

    answerEntries() { return []; }
    validationMessage() { return ""; }
    focusControl() { return this; }
    resetField() {}
    syncDisabled() {}

    /** How the error summary names this element. */
    fieldTitle() {
      return this.getAttribute("header") || this.getAttribute("label") || this.getAttribute("aria-label") ||
        (this.textContent || "").replace(/\s+/g, " ").trim().slice(0, 80) || this.name || this.localName;
    }

    /** Show or clear this element's own message; ``aria-invalid`` on its control. */
    showError(message) {
      this._errorShown = Boolean(message);
      var box = this.shadowRoot && this.shadowRoot.getElementById("error");
      if (box) {
        box.textContent = message || "";
        box.hidden = !message;
      }
      var control = this.focusControl();
      if (control && control !== this) {
        control.setAttribute("aria-invalid", message ? "true" : "false");
      }
      this.toggleAttribute("data-invalid", Boolean(message));
    }

    focusField() {
      reveal(this);
      var control = this.focusControl();
      if (control && typeof control.focus === "function") {
        control.focus();
        if (control.scrollIntoView) { control.scrollIntoView({block: "center"}); }
      }
    }

    /** Called after every change the worker makes: refresh a shown message, tell listeners. */
    changed() {
      if (this._errorShown) { this.showError(this.validationMessage()); }
      this.dispatchEvent(new global.Event("change", {bubbles: true}));
    }
  }

  // --- crowd-form -------------------------------------------------------------------------------------------------

  function queryParam(name) {
    try {
      return new global.URLSearchParams(global.location.search).get(name);
    } catch (error) {
      return null;
    }
  }

  function submitUrl() {
    var base = queryParam("turkSubmitTo");
    if (!base) {
      // location.origin is "null" in a sandboxed frame; protocol and host are still readable.
      base = global.location.protocol + "//" + global.location.host;
    }
    return base.replace(/\/+$/, "") + SUBMIT_PATH;
  }

  var NATIVE_SKIPPED = /^(submit|button|reset|image|file)$/i;

  function isSubmitControl(element) {
    if (element.localName === "crowd-button") {
      return (element.getAttribute("form-action") || "").toLowerCase() === "submit";
    }
    if (element.tagName === "BUTTON" || element.tagName === "INPUT") {
      return (element.getAttribute("type") || "").toLowerCase() === "submit";
    }
    return false;
  }

  /** The visible text that labels a native control, for the error summary. */
  function nativeTitle(control) {
    var labels = control.labels && control.labels.length ? control.labels[0].textContent : "";
    var text = (labels || control.getAttribute("aria-label") || control.getAttribute("placeholder") ||
      control.name || control.type || "").replace(/\s+/g, " ").trim();
    return text.slice(0, 80);
  }

  class CrowdForm extends CrowdElement {
    build() {
      addDocumentStyles();
      var form = h("form", {class: "crowd-form-body", method: "post", novalidate: true});
      while (this.firstChild) { form.appendChild(this.firstChild); }
      this.appendChild(form);
      this._form = form;
      this._errors = h("div", {class: "crowd-form-errors crowd-form-part", role: "alert", tabindex: "-1"});
      this._errors.hidden = true;
      this._preview = queryParam("assignmentId") === PREVIEW_ASSIGNMENT_ID || !queryParam("assignmentId");

      var submits = Array.prototype.filter.call(form.querySelectorAll("crowd-button, button, input"), isSubmitControl);
      var footer = null;
      if (!submits.length) {
        footer = h("div", {class: "crowd-form-footer crowd-form-part"});
        var button = h("crowd-button", {"form-action": "submit", variant: "primary"}, "Submit");
        footer.appendChild(button);
        form.appendChild(footer);
        submits = [button];
      }
      var anchor = footer || submits[0];
      anchor.parentNode.insertBefore(this._errors, anchor);
      if (this._preview) {
        var notice = h("p", {class: "crowd-form-notice crowd-form-part", role: "status"}, PREVIEW_NOTICE);
        anchor.parentNode.insertBefore(notice, anchor);
        this._notice = notice;
        submits.forEach(function (control) { control.setAttribute("disabled", ""); });
      }

      var self = this;
      form.addEventListener("submit", function (event) {
        // The native form never posts: crowd-form posts its own fields, after its checks and its own event.
        event.preventDefault();
        event.stopPropagation();
        self._attempt(event.submitter || null);
      });
      form.addEventListener("reset", function () {
        self._fields().forEach(function (field) { field.resetField(); field.showError(""); });
        self._hideProblems();
      });
    }

    /** The real <form> inside (templates append extra fields to it). */
    get form() { return this._form || null; }

    /** The object that taskAnswers will hold, from the current state of the page. */
    get value() { return this._collect(); }

    get answerFormat() { return this.getAttribute("answer-format") || ""; }

    /** Submit with the checks and the "submit" event, as pressing the Submit button does. */
    requestSubmit() {
      if (this._form) {
        this._attempt(null);
      }
    }

    /** Submit at once, without the checks or the "submit" event (like HTMLFormElement.submit()). */
    submit() {
      if (!this._form) { return; }
      if (this._preview) {
        this._showPreviewNotice();
        return;
      }
      this._send();
    }

    reset() {
      if (this._form) { this._form.reset(); }
    }

    /** Every answering element inside the form, in page order. */
    _fields() {
      return Array.prototype.filter.call(this._form.querySelectorAll("*"), function (element) {
        return element instanceof CrowdField;
      });
    }

    _nativeControls() {
      return Array.prototype.filter.call(this._form.elements, function (control) {
        return control.name && !NATIVE_SKIPPED.test(control.type || "") && control.tagName !== "BUTTON" &&
          control.tagName !== "FIELDSET" && control.tagName !== "OUTPUT" && control.tagName !== "OBJECT" &&
          !control.matches(":disabled");
      });
    }

    _collect() {
      var answers = {};
      function merge(name, value) {
        if (isPlainObject(value) && isPlainObject(answers[name])) {
          Object.assign(answers[name], value);
        } else {
          answers[name] = value;
        }
      }
      if (!this._form) { return answers; }
      this._fields().forEach(function (field) {
        if (!field.name || field.disabled) { return; }
        field.answerEntries().forEach(function (entry) { merge(entry[0], entry[1]); });
      });
      this._nativeControls().forEach(function (control) {
        var type = (control.type || "").toLowerCase();
        if (type === "checkbox" || type === "radio") {
          var entry = {};
          entry[control.value || "on"] = control.checked;
          merge(control.name, entry);
        } else if (type === "select-multiple") {
          var chosen = Array.prototype.filter.call(control.options, function (o) { return o.selected; })
            .map(function (o) { return o.value; });
          if (chosen.length) { merge(control.name, chosen); }
        } else if (control.value !== "") {
          merge(control.name, control.value.replace(/\r\n?/g, "\n"));
        }
      });
      return answers;
    }

    _validate() {
      var problems = [];
      this._fields().forEach(function (field) {
        var message = field.disabled ? "" : field.validationMessage();
        field.showError(message);
        if (message) {
          problems.push({title: field.fieldTitle(), message: message, focus: function () { field.focusField(); }});
        }
      });
      this._nativeControls().forEach(function (control) {
        if (!control.checkValidity()) {
          problems.push({
            title: nativeTitle(control), message: control.validationMessage,
            focus: function () { reveal(control); control.focus(); },
          });
        }
      });
      return problems;
    }

    _showProblems(problems) {
      var box = this._errors;
      box.textContent = "";
      box.appendChild(h("p", {}, problems.length === 1
        ? "One answer needs your attention before you can submit:"
        : problems.length + " answers need your attention before you can submit:"));
      var list = h("ul");
      problems.forEach(function (problem) {
        var link = h("a", {href: "#"}, (problem.title ? problem.title + ": " : "") + problem.message);
        link.addEventListener("click", function (event) {
          event.preventDefault();
          problem.focus();
        });
        list.appendChild(h("li", {}, link));
      });
      box.appendChild(list);
      box.hidden = false;
      problems[0].focus();
    }

    _hideProblems() {
      this._errors.hidden = true;
      this._errors.textContent = "";
    }

    _showPreviewNotice() {
      if (this._notice) {
        this._notice.setAttribute("tabindex", "-1");
        this._notice.scrollIntoView({block: "center"});
        this._notice.focus();
      }
    }

    _attempt(submitter) {
      if (this._sending) { return; }
      if (this._preview) {
        this._showPreviewNotice();
        return;
      }
      var problems = this._validate();
      if (problems.length) {
        this._showProblems(problems);
        return;
      }
      this._hideProblems();
      var init = {bubbles: true, cancelable: true};
      var event;
      try {
        init.submitter = submitter;
        event = new global.SubmitEvent("submit", init);
      } catch (error) {
        event = new global.Event("submit", {bubbles: true, cancelable: true});
      }
      if (!this.dispatchEvent(event)) { return; }
      this._send();
    }

    _send() {
      var answers = this._collect();
      var post = h("form", {method: "post", action: submitUrl(), "accept-charset": "UTF-8",
                            class: "crowd-form-post crowd-form-part"});
      post.hidden = true;
      function field(name, value) {
        post.appendChild(h("input", {type: "hidden", name: name, value: value}));
      }
      field("assignmentId", queryParam("assignmentId") || "");
      if (this.answerFormat === "flatten-objects") {
        flattenAnswers(answers).forEach(function (entry) { field(entry[0], entry[1]); });
      } else {
        field("taskAnswers", stableStringify([answers]));
      }
      this.appendChild(post);
      this._sending = true;
      Array.prototype.filter.call(this._form.querySelectorAll("crowd-button, button, input"), isSubmitControl)
        .forEach(function (control) { control.setAttribute("disabled", ""); });
      global.HTMLFormElement.prototype.submit.call(post);
    }
  }

  // --- Buttons ------------------------------------------------------------------------------------------------------

  var BUTTON_CSS = [
    ":host { display: inline-block; }",
    ".btn { display: inline-flex; align-items: center; gap: .4rem; text-decoration: none; font: inherit;",
    "  padding: .45rem 1rem; border-radius: 6px; border: 1px solid #0b5cad; background: #fff; color: #0b5cad;",
    "  cursor: pointer; }",
    ":host([variant=primary]) .btn { background: #0b5cad; color: #fff; }",
    ":host([variant=link]) .btn { border: none; background: none; padding: 0; text-decoration: underline; }",
    ":host([icon-align=right]) .btn { flex-direction: row-reverse; }",
    ".btn[aria-disabled=true], .btn:disabled { opacity: .55; cursor: not-allowed; }",
  ].join("\n");

  class CrowdButton extends CrowdElement {
    static get observedAttributes() { return ["disabled", "loading"]; }

    attributeChangedCallback() {
      if (this._inner) { this._sync(); }
    }

    get disabled() { return this.hasAttribute("disabled") || this.hasAttribute("loading"); }
    set disabled(value) { this.toggleAttribute("disabled", Boolean(value)); }

    build() {
      var root = shadow(this, "button", BUTTON_CSS);
      var href = this.getAttribute("href");
      var inner = href
        ? h("a", {href: href, target: this.getAttribute("target"), class: "btn", part: "button"})
        : h("button", {type: "button", class: "btn", part: "button"});
      var icon = iconNode(this.getAttribute("icon-url") || this.getAttribute("icon"));
      if (icon) { inner.appendChild(icon); }
      inner.appendChild(h("slot"));
      if (this.getAttribute("aria-label")) { inner.setAttribute("aria-label", this.getAttribute("aria-label")); }
      if (!(this.textContent || "").trim() && !inner.hasAttribute("aria-label")) {
        inner.setAttribute("aria-label", this.getAttribute("title") || this.getAttribute("icon") || "Button");
      }
      root.appendChild(inner);
      this._inner = inner;
      this._sync();
      var self = this;
      inner.addEventListener("click", function (event) {
        if (self.disabled) {
          event.preventDefault();
          event.stopPropagation();
          return;
        }
        var action = (self.getAttribute("form-action") || "").toLowerCase();
        var form = self.closest("crowd-form");
        if (form && action === "submit") { form.requestSubmit(); }
        if (form && action === "reset") { form.reset(); }
      });
    }

    _sync() {
      var disabled = this.disabled;
      if (this._inner.tagName === "BUTTON") {
        this._inner.disabled = disabled;
      } else {
        this._inner.setAttribute("aria-disabled", disabled ? "true" : "false");
      }
      this._inner.setAttribute("aria-busy", this.hasAttribute("loading") ? "true" : "false");
    }

    focus(options) {
      if (this._inner) { this._inner.focus(options); } else { super.focus(options); }
    }
  }

  var ICON_BUTTON_CSS = [
    ":host { display: inline-block; }",
    "button { width: 2.5rem; height: 2.5rem; border-radius: 50%; padding: 0; display: inline-flex;",
    "  align-items: center; justify-content: center; font-size: 1.1rem; }",
    ":host(crowd-fab) button { background: #0b5cad; color: #fff; width: 3.25rem; height: 3.25rem;",
    "  box-shadow: 0 2px 6px rgba(0,0,0,.3); }",
  ].join("\n");

  /** crowd-icon-button and crowd-fab: a round button showing an icon (or a one-character label). */
  class CrowdIconButton extends CrowdElement {
    static get observedAttributes() { return ["disabled"]; }

    attributeChangedCallback() {
      if (this._inner) { this._inner.disabled = this.hasAttribute("disabled"); }
    }

    get disabled() { return this.hasAttribute("disabled"); }
    set disabled(value) { this.toggleAttribute("disabled", Boolean(value)); }

    build() {
      var root = shadow(this, "icon-button", ICON_BUTTON_CSS);
      var label = this.getAttribute("label");
      var inner = h("button", {type: "button", part: "button",
                               "aria-label": this.getAttribute("title") || this.getAttribute("icon") || label || "Button"},
                    label ? h("span", {"aria-hidden": "true"}, label.slice(0, 2)) : iconNode(this.getAttribute("icon")));
      inner.disabled = this.disabled;
      root.appendChild(inner);
      this._inner = inner;
    }

    focus(options) {
      if (this._inner) { this._inner.focus(options); } else { super.focus(options); }
    }
  }

  // --- Text fields ----------------------------------------------------------------------------------------------------

  var TEXT_CSS = [
    ":host { margin: .5rem 0; }",
    "label { display: block; font-weight: 600; margin-bottom: .25rem; }",
    "input, textarea { width: 100%; max-width: 40rem; }",
    "textarea { resize: vertical; line-height: 1.4; }",
    ".counter { color: #57606a; font-size: .85rem; margin: .2rem 0 0; max-width: 40rem; text-align: right; }",
  ].join("\n");

  /** crowd-input and crowd-text-area: a labelled native control; the answer is its text (omitted when empty). */
  class CrowdTextField extends CrowdField {
    get multiline() { return false; }

    get value() { return this._control ? this._control.value : (this._pending !== undefined ? this._pending : (this.getAttribute("value") || "")); }
    set value(text) {
      text = text === null || text === undefined ? "" : String(text);
      if (this._control) {
        this._control.value = text;
        this._afterInput();
      } else {
        this._pending = text;
      }
    }

    build() {
      var root = shadow(this, "text", TEXT_CSS);
      var control = this.multiline
        ? h("textarea", {id: "control", part: "textarea", rows: intAttr(this, "rows", 3)})
        : h("input", {id: "control", part: "input", type: this._inputType()});
      var label = this.getAttribute("label");
      if (label) {
        root.appendChild(h("label", {for: "control", part: "label"}, label));
      } else {
        control.setAttribute("aria-label", contextLabel(this, this.getAttribute("placeholder") || this.name || "Answer"));
      }
      root.appendChild(control);
      var counter = h("p", {class: "counter", id: "counter", "aria-live": "polite"});
      counter.hidden = !this.hasAttribute("char-counter");
      root.appendChild(counter);
      root.appendChild(h("p", {class: "crowd-error", id: "error", hidden: true}));
      control.setAttribute("aria-describedby", "error");
      var map = {placeholder: "placeholder", "max-length": "maxlength", "min-length": "minlength",
                 maxlength: "maxlength", minlength: "minlength", pattern: "pattern", min: "min", max: "max",
                 step: "step", autocomplete: "autocomplete", inputmode: "inputmode"};
      var self = this;
      Object.keys(map).forEach(function (attr) {
        if (self.hasAttribute(attr)) { control.setAttribute(map[attr], self.getAttribute(attr)); }
      });
      control.required = this.required;
      this._control = control;
      this._initial = this.getAttribute("value") || "";
      control.value = this._pending !== undefined ? this._pending : this._initial;
      this.syncDisabled();
      this._maxRows = intAttr(this, "max-rows", 0);

      var allowed = this.getAttribute("allowed-pattern");
      if (allowed) {
        var test;
        try { test = new RegExp("^(?:" + allowed + ")$"); } catch (error) { test = null; }
        if (test) {
          control.addEventListener("beforeinput", function (event) {
            if (event.data && Array.from(event.data).some(function (ch) { return !test.test(ch); })) {
              event.preventDefault();
            }
          });
        }
      }
      control.addEventListener("input", function () { self._afterInput(); });
      control.addEventListener("change", function () { self.changed(); });
      if (this.hasAttribute("auto-validate")) {
        control.addEventListener("blur", function () { self.showError(self.validationMessage()); });
      }
      this._afterInput();
      if (this.hasAttribute("auto-focus") && this.getAttribute("auto-focus") !== "false") {
        global.setTimeout(function () { control.focus(); }, 0);
      }
    }

    _inputType() {
      var type = (this.getAttribute("type") || "text").toLowerCase();
      return /^(file|submit|button|reset|image|checkbox|radio|hidden)$/.test(type) ? "text" : type;
    }

    _afterInput() {
      var control = this._control;
      var max = control.getAttribute("maxlength");
      this.shadowRoot.getElementById("counter").textContent = control.value.length + (max ? " / " + max : "") + " characters";
      if (this.multiline) {
        var line = parseFloat(global.getComputedStyle(control).lineHeight) || 20;
        control.style.height = "auto";
        var height = control.scrollHeight + 2;
        if (this._maxRows > 0) {
          height = Math.min(height, this._maxRows * line + 16);
          control.style.overflowY = control.scrollHeight + 2 > height ? "auto" : "hidden";
        }
        control.style.height = Math.max(height, intAttr(this, "rows", 3) * line + 16) + "px";
      }
      if (this._errorShown || this.hasAttribute("auto-validate")) { this.showError(this.validationMessage()); }
    }

    syncDisabled() {
      if (this._control) { this._control.disabled = this.disabled; }
    }

    focusControl() { return this._control || this; }

    answerEntries() {
      var text = this.value.replace(/\r\n?/g, "\n");
      return text === "" ? [] : [[this.name, text]];
    }

    validationMessage() {
      if (!this._control) { return ""; }
      this._control.required = this.required;
      if (this._control.checkValidity()) { return ""; }
      return this.getAttribute("error-message") || this._control.validationMessage || "Please fill out this field.";
    }

    resetField() {
      this._control.value = this._initial;
      this._afterInput();
    }

    fieldTitle() {
      return this.getAttribute("label") || (this._control && this._control.getAttribute("aria-label")) ||
        this.getAttribute("placeholder") || this.name;
    }
  }

  class CrowdInput extends CrowdTextField {}

  class CrowdTextArea extends CrowdTextField {
    get multiline() { return true; }
  }

  // --- Check boxes, toggles, radio buttons -----------------------------------------------------------------------------

  var CHECK_CSS = [
    ":host { margin: .25rem 0; }",
    "label { display: inline-flex; align-items: flex-start; gap: .5rem; cursor: pointer; padding: .15rem 0; }",
    "input { width: 1.15rem; height: 1.15rem; margin: .15rem 0 0; accent-color: #0b5cad; flex: none; }",
    ":host([disabled]) label { cursor: not-allowed; opacity: .6; }",
    ".switch { position: relative; width: 2.6rem; height: 1.4rem; flex: none; }",
    ".switch input { position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0; cursor: pointer; }",
    ".track { position: absolute; inset: 0; border-radius: 999px; background: #8c959f; transition: background .15s; }",
    ".track::after { content: ''; position: absolute; top: .15rem; left: .15rem; width: 1.1rem; height: 1.1rem;",
    "  border-radius: 50%; background: #fff; transition: transform .15s; }",
    ".switch input:checked + .track { background: #0b5cad; }",
    ".switch input:checked + .track::after { transform: translateX(1.2rem); }",
    ".switch input:focus-visible + .track { outline: 3px solid #f59e0b; outline-offset: 2px; }",
    ":host([invalid]) .switch input:not(:checked) + .track { background: #b42318; }",
  ].join("\n");

  /** crowd-checkbox, crowd-toggle-button and crowd-radio-button: the answer is {"<value>": checked}. */
  class CrowdCheckable extends CrowdField {
    get inputType() { return "checkbox"; }

    get checked() { return this._control ? this._control.checked : this.hasAttribute("checked"); }
    set checked(value) {
      if (this._control) {
        this._control.checked = Boolean(value);
        this.afterToggle();
      } else {
        this.toggleAttribute("checked", Boolean(value));
      }
    }

    get value() { return this.getAttribute("value") || "on"; }
    set value(text) { this.setAttribute("value", text); }

    build() {
      var root = shadow(this, "check", CHECK_CSS);
      var control = h("input", {type: this.inputType, id: "control", part: "control"});
      var label = h("label", {part: "label"});
      if (this.localName === "crowd-toggle-button") {
        control.setAttribute("role", "switch");
        label.appendChild(h("span", {class: "switch"}, control, h("span", {class: "track", "aria-hidden": "true"})));
      } else {
        label.appendChild(control);
      }
      label.appendChild(h("span", {class: "text"}, h("slot")));
      root.appendChild(label);
      root.appendChild(h("p", {class: "crowd-error", id: "error", hidden: true}));
      control.setAttribute("aria-describedby", "error");
      if (!(this.textContent || "").trim()) {
        var fallback = this.getAttribute("value") || this.name;
        control.setAttribute("aria-label", contextLabel(this, fallback || "Option"));
      } else if (this.getAttribute("aria-label")) {
        control.setAttribute("aria-label", this.getAttribute("aria-label"));
      }
      this._initial = this.hasAttribute("checked");
      control.checked = this._initial;
      this._control = control;
      this.syncDisabled();
      var self = this;
      control.addEventListener("change", function () {
        self.afterToggle();
        self.changed();
      });
      control.addEventListener("keydown", function (event) { self.onKey(event); });
      this.afterBuild();
    }

    afterBuild() {}
    afterToggle() {}
    onKey() {}

    syncDisabled() {
      if (this._control) { this._control.disabled = this.disabled; }
    }

    focusControl() { return this._control || this; }

    answerEntries() {
      var entry = {};
      entry[this.value] = this.checked;
      return [[this.name, entry]];
    }

    validationMessage() {
      if (this.required && !this.checked) {
        return this.getAttribute("error-message") || "Check this box to continue.";
      }
      return "";
    }

    resetField() {
      this._control.checked = this._initial;
      this.afterToggle();
    }

    fieldTitle() {
      return (this.textContent || "").replace(/\s+/g, " ").trim().slice(0, 80) ||
        (this._control && this._control.getAttribute("aria-label")) || this.name;
    }
  }

  class CrowdCheckbox extends CrowdCheckable {}

  class CrowdToggleButton extends CrowdCheckable {
    validationMessage() {
      if (this.required && !this.checked) {
        return this.getAttribute("error-message") || "Switch this on to continue.";
      }
      return "";
    }
  }

  /**
   * crowd-radio-button: exclusive with the other buttons of its crowd-radio-group (or, outside a group, with the
   * buttons of the same name). Arrow keys move between them; only the checked one is a tab stop.
   */
  class CrowdRadioButton extends CrowdCheckable {
    get inputType() { return "radio"; }

    peers() {
      var group = this.closest("crowd-radio-group");
      var scope = group || this.closest("crowd-form") || doc;
      var name = this.name;
      return Array.prototype.filter.call(scope.querySelectorAll("crowd-radio-button"), function (button) {
        return group ? button.closest("crowd-radio-group") === group
          : !button.closest("crowd-radio-group") && button.name === name;
      });
    }

    afterBuild() { this._updateTabStops(); }

    afterToggle() {
      var self = this;
      if (this.checked) {
        this.peers().forEach(function (peer) {
          if (peer !== self && peer._control && peer._control.checked) {
            peer._control.checked = false;
            peer.changed();
          }
        });
      }
      this._updateTabStops();
      var group = this.closest("crowd-radio-group");
      if (group && group._errorShown) { group.showError(group.validationMessage()); }
    }

    _updateTabStops() {
      var peers = this.peers().filter(function (peer) { return peer._control; });
      var active = peers.filter(function (peer) { return peer._control.checked; })[0] ||
        peers.filter(function (peer) { return !peer.disabled; })[0];
      peers.forEach(function (peer) { peer._control.tabIndex = peer === active ? 0 : -1; });
    }

    onKey(event) {
      var step = {ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1}[event.key];
      if (!step) { return; }
      var peers = this.peers().filter(function (peer) { return peer._control && !peer.disabled; });
      var index = peers.indexOf(this);
      if (index < 0 || peers.length < 2) { return; }
      event.preventDefault();
      var next = peers[(index + step + peers.length) % peers.length];
      next._control.checked = true;
      next.afterToggle();
      next.changed();
      next._control.focus();
    }

    resetField() {
      this._control.checked = this._initial;
      this._updateTabStops();
    }

    validationMessage() {
      if (this.required && !this.closest("crowd-radio-group") && !this.peers().some(function (p) { return p.checked; })) {
        return this.getAttribute("error-message") || "Choose one of these options.";
      }
      return "";
    }
  }

  var GROUP_CSS = ":host { margin: .25rem 0; } .crowd-error { margin-top: .25rem; }";

  /**
   * crowd-radio-group: one choice among its crowd-radio-buttons. It has no answer of its own (each button gives
   * {"<value>": checked} under its own name); with ``required`` one button must be chosen.
   */
  class CrowdRadioGroup extends CrowdField {
    build() {
      var root = shadow(this, "group", GROUP_CSS);
      root.appendChild(h("slot"));
      root.appendChild(h("p", {class: "crowd-error", id: "error", hidden: true}));
      if (!this.hasAttribute("role")) { this.setAttribute("role", "radiogroup"); }
      if (!this.hasAttribute("aria-label") && !this.hasAttribute("aria-labelledby")) {
        var label = this.getAttribute("header") || this.getAttribute("label") || contextLabel(this, "");
        if (label) { this.setAttribute("aria-label", label); }
      }
    }

    get name() { return this.getAttribute("name") || "crowd-radio-group"; }

    buttons() {
      var self = this;
      return Array.prototype.filter.call(this.querySelectorAll("crowd-radio-button"), function (button) {
        return button.closest("crowd-radio-group") === self;
      });
    }

    get value() {
      var chosen = this.buttons().filter(function (button) { return button.checked; })[0];
      return chosen ? chosen.value : null;
    }

    validationMessage() {
      var required = this.required || this.buttons().some(function (button) { return button.required; });
      if (required && !this.buttons().some(function (button) { return button.checked && !button.disabled; })) {
        return this.getAttribute("error-message") || "Choose one of these options.";
      }
      return "";
    }

    focusControl() {
      var buttons = this.buttons().filter(function (button) { return !button.disabled; });
      return buttons.length ? buttons[0].focusControl() : this;
    }

    showError(message) {
      this._errorShown = Boolean(message);
      var box = this.shadowRoot && this.shadowRoot.getElementById("error");
      if (box) {
        box.textContent = message || "";
        box.hidden = !message;
      }
      this.setAttribute("aria-invalid", message ? "true" : "false");
    }

    fieldTitle() {
      return this.getAttribute("aria-label") || this.getAttribute("header") || "Choice";
    }
  }

  // --- Slider ----------------------------------------------------------------------------------------------------------

  var SLIDER_CSS = [
    ":host { margin: .5rem 0; }",
    "label { display: block; font-weight: 600; margin-bottom: .25rem; }",
    ".row { display: flex; align-items: center; gap: .75rem; max-width: 40rem; }",
    "input[type=range] { flex: 1; accent-color: #0b5cad; }",
    "input[type=number] { width: 6rem; }",
    "output { min-width: 2.5rem; font-variant-numeric: tabular-nums; font-weight: 600; }",
    ".unset { color: #57606a; font-style: italic; font-weight: normal; }",
  ].join("\n");

  /**
   * crowd-slider: the answer is the chosen number. With ``required`` the worker must move it (or type a value)
   * unless the template set ``value``.
   */
  class CrowdSlider extends CrowdField {
    get value() { return this._range ? Number(this._range.value) : numberAttr(this, "value", numberAttr(this, "min", 0)); }
    set value(number) {
      if (this._range) {
        this._range.value = String(number);
        this._touched = true;
        this._sync();
      } else {
        this.setAttribute("value", String(number));
      }
    }

    build() {
      var root = shadow(this, "slider", SLIDER_CSS);
      var min = numberAttr(this, "min", 0);
      var max = numberAttr(this, "max", 100);
      var range = h("input", {type: "range", id: "control", part: "slider", min: min, max: max,
                              step: this.getAttribute("step") || 1});
      range.value = String(numberAttr(this, "value", min));
      var label = this.getAttribute("label");
      if (label) {
        root.appendChild(h("label", {for: "control"}, label));
      } else {
        range.setAttribute("aria-label", contextLabel(this, this.name || "Value"));
      }
      var output = h("output", {id: "pin", for: "control", "aria-hidden": "true"});
      var number = h("input", {type: "number", id: "number", min: min, max: max, step: this.getAttribute("step") || 1,
                               "aria-label": (label || range.getAttribute("aria-label")) + " (number)"});
      number.hidden = !this.hasAttribute("editable");
      output.hidden = !this.hasAttribute("pin") && this.hasAttribute("editable");
      root.appendChild(h("div", {class: "row"}, range, output, number));
      root.appendChild(h("p", {class: "crowd-error", id: "error", hidden: true}));
      range.setAttribute("aria-describedby", "error");
      this._range = range;
      this._output = output;
      this._number = number;
      this._touched = this.hasAttribute("value");
      this._initial = range.value;
      this.syncDisabled();
      var self = this;
      range.addEventListener("input", function () { self._touched = true; self._sync(); });
      range.addEventListener("change", function () { self._touched = true; self._sync(); self.changed(); });
      number.addEventListener("change", function () {
        if (number.value !== "") {
          range.value = number.value;
          self._touched = true;
          self._sync();
          self.changed();
        }
      });
      this._sync();
    }

    _sync() {
      this._number.value = this._range.value;
      var unset = this.required && !this._touched;
      this._output.textContent = unset ? "not set" : this._range.value;
      this._output.classList.toggle("unset", unset);
      if (this._errorShown) { this.showError(this.validationMessage()); }
    }

    syncDisabled() {
      if (this._range) {
        this._range.disabled = this.disabled;
        this._number.disabled = this.disabled;
      }
    }

    focusControl() { return this._range || this; }

    answerEntries() {
      return [[this.name, this.value]];
    }

    validationMessage() {
      if (this.required && !this._touched) {
        return this.getAttribute("error-message") || "Move the slider to choose a value.";
      }
      return "";
    }

    resetField() {
      this._range.value = this._initial;
      this._touched = this.hasAttribute("value");
      this._sync();
    }

    fieldTitle() {
      return this.getAttribute("label") || (this._range && this._range.getAttribute("aria-label")) || this.name;
    }
  }

  // --- Instruction regions ---------------------------------------------------------------------------------------------

  var SHORT_CSS = [
    ":host { margin: .5rem 0; padding: .5rem .75rem; border-left: 4px solid #0b5cad; background: #f6f8fa;",
    "  border-radius: 0 6px 6px 0; }",
  ].join("\n");

  class ShortInstructions extends CrowdElement {
    build() {
      shadow(this, "short", SHORT_CSS).appendChild(h("slot"));
    }
  }

  var FULL_CSS = [
    ":host { margin: .5rem 0; }",
    "details { border: 1px solid #d0d7de; border-radius: 6px; padding: .25rem .75rem; background: #fff; }",
    "summary { cursor: pointer; font-weight: 600; color: #0b5cad; padding: .25rem 0; }",
  ].join("\n");

  /** full-instructions: the detailed instructions, folded behind "header" (default "Full instructions"). */
  class FullInstructions extends CrowdElement {
    build() {
      var root = shadow(this, "full", FULL_CSS);
      root.appendChild(h("details", {part: "details"},
        h("summary", {}, this.getAttribute("header") || "Full instructions"), h("slot")));
    }
  }

  /**
   * Put a widget's region children in its named slots: classification-target, short- and full-instructions,
   * worker-comment. Anything else stays in the default slot, shown below the widget.
   */
  function assignRegions(host) {
    var slots = {"classification-target": "target", "short-instructions": "short", "full-instructions": "full",
                 "worker-comment": "comment"};
    Array.prototype.forEach.call(host.children, function (child) {
      if (slots[child.localName] && !child.hasAttribute("slot")) { child.setAttribute("slot", slots[child.localName]); }
    });
  }

  /** The side column of a widget: its short and full instructions (hidden when it has none). */
  function instructionsColumn(host) {
    var aside = h("aside", {class: "instructions", part: "instructions", "aria-label": "Instructions"},
                  h("slot", {name: "short"}), h("slot", {name: "full"}));
    aside.hidden = !host.querySelector(":scope > short-instructions, :scope > full-instructions");
    return aside;
  }

  // --- Classifiers -----------------------------------------------------------------------------------------------------

  var CLASSIFIER_CSS = [
    ".target { margin: .25rem 0 .75rem; }",
    ".target img.subject { max-width: 100%; max-height: 70vh; display: block; }",
    ".stage { position: relative; display: inline-block; max-width: 100%; }",
    ".stage svg, .stage .overlay { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }",
    ".stage .overlay { opacity: .5; }",
    ".options { display: flex; flex-direction: column; gap: .35rem; }",
    ".option { display: flex; align-items: center; gap: .6rem; padding: .45rem .6rem; border: 1px solid #d0d7de;",
    "  border-radius: 6px; cursor: pointer; background: #fff; }",
    ".option:hover { border-color: #0b5cad; }",
    ".option:has(input:checked) { border-color: #0b5cad; background: #eaf2fb; font-weight: 600; }",
    ".option input { width: 1.15rem; height: 1.15rem; margin: 0; accent-color: #0b5cad; flex: none; }",
    ".option.exclusion { border-style: dashed; }",
    ".key { display: inline-block; min-width: 1.4rem; text-align: center; font-size: .8rem; border: 1px solid #8c959f;",
    "  border-radius: 4px; color: #57606a; padding: 0 .2rem; font-weight: normal; }",
    ".comment { margin-top: .5rem; }",
    ".comment label { display: block; font-weight: 600; margin: .35rem 0 .25rem; }",
    ".comment textarea { width: 100%; max-width: 40rem; }",
    "legend.header { font-size: 1.15rem; }",
    "fieldset.choice { border: none; padding: 0; margin: 0; }",
  ].join("\n");

  /**
   * The four classifiers: categories as real radio buttons (one answer) or check boxes (several), digit keys
   * 1–9 and 0 as shortcuts, the thing to classify (classification-target, or the image ``src``) above them.
   */
  class ClassifierBase extends CrowdField {
    get multiple() { return false; }
    get hasImage() { return false; }

    build() {
      assignRegions(this);
      var root = shadow(this, "classifier", CLASSIFIER_CSS);
      var self = this;
      this._ownsDigitKeys = true;
      this._categories = stringList(this.getAttribute("categories"));
      if (this.hasImage && this._categories.length > 10) {
        global.console && global.console.warn("<" + this.localName + ">: more than 10 categories");
      }
      var header = this.getAttribute("header") || (this.multiple ? "Choose all categories that apply" : "Choose a category");
      var fieldset = h("fieldset", {class: "choice", part: "fieldset"}, h("legend", {class: "header", part: "header"}, header));
      var target = h("div", {class: "target", part: "target"}, h("slot", {name: "target"}));
      if (this.hasImage) {
        target.appendChild(this._imageStage());
      }
      fieldset.appendChild(target);
      var options = h("div", {class: "options", part: "options"});
      this._inputs = this._categories.map(function (category, index) {
        var input = h("input", {type: self.multiple ? "checkbox" : "radio", name: "category", value: String(index)});
        var key = index < 10 ? h("span", {class: "key", "aria-hidden": "true"}, String((index + 1) % 10)) : null;
        options.appendChild(h("label", {class: "option", part: "option"}, input, key, h("span", {}, category)));
        input.addEventListener("change", function () { self._picked(input); });
        return input;
      });
      this._exclusion = null;
      var exclusion = this.multiple ? jsonAttr(this, "exclusion-category", null) : null;
      if (exclusion) {
        var text = isPlainObject(exclusion) ? String(exclusion.text || exclusion.label || "None of the above") : String(exclusion);
        var input = h("input", {type: "checkbox", name: "exclusion", value: "exclusion"});
        this._exclusion = {text: text, input: input};
        options.appendChild(h("label", {class: "option exclusion", part: "option"}, input, h("span", {}, text)));
        input.addEventListener("change", function () { self._picked(input); });
      }
      fieldset.appendChild(options);
      var main = h("section", {class: "main"}, fieldset);
      this._commentArea(main);
      main.appendChild(h("p", {class: "crowd-error", id: "error", hidden: true}));
      root.appendChild(h("div", {class: "layout"}, main, instructionsColumn(this)));
      root.appendChild(h("slot"));
      this.syncDisabled();
      this.addEventListener("keydown", function (event) { self._shortcut(event); });
    }

    _imageStage() {
      var src = this.getAttribute("src") || "";
      var image = h("img", {class: "subject", part: "image", src: src,
                            alt: this.getAttribute("alt") || this.getAttribute("header") || "Image to classify"});
      var stage = h("div", {class: "stage"}, image);
      var overlay = jsonAttr(this, "overlay", null);
      if (isPlainObject(overlay)) {
        var boxes = overlay.boundingBox;
        var mask = overlay.semanticSegmentation || overlay.instanceSegmentation;
        if (mask && mask.src) {
          stage.appendChild(h("img", {class: "overlay", src: String(mask.src), alt: ""}));
        }
        if (boxes && Array.isArray(boxes.value)) {
          image.addEventListener("load", function () {
            var svg = h("svg:svg", {viewBox: "0 0 " + image.naturalWidth + " " + image.naturalHeight,
                                    preserveAspectRatio: "none", "aria-hidden": "true"});
            boxes.value.forEach(function (box, index) {
              var labels = stringList(JSON.stringify(boxes.labels || []));
              var color = PALETTE[Math.max(0, labels.indexOf(box.label)) % PALETTE.length] || PALETTE[index % PALETTE.length];
              svg.appendChild(h("svg:rect", {x: box.left, y: box.top, width: box.width, height: box.height,
                                             fill: "none", stroke: color, "stroke-width": 3,
                                             "vector-effect": "non-scaling-stroke"}));
            });
            stage.appendChild(svg);
          });
        }
      }
      return stage;
    }

    _commentArea(main) {
      var region = this.querySelector(":scope > worker-comment");
      if (!region) { return; }
      var linkText = region.getAttribute("link-text") || "Add a comment";
      var title = region.getAttribute("header") || "Add a comment";
      var toggle = h("button", {type: "button", class: "link", "aria-expanded": "false", "aria-controls": "comment-panel"}, linkText);
      var box = h("textarea", {id: "comment", rows: 3, placeholder: region.getAttribute("placeholder")});
      var panel = h("div", {id: "comment-panel"}, h("label", {for: "comment"}, title), h("slot", {name: "comment"}), box);
      panel.hidden = true;
      toggle.addEventListener("click", function () {
        panel.hidden = !panel.hidden;
        toggle.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
        if (!panel.hidden) { box.focus(); }
      });
      this._comment = box;
      main.appendChild(h("div", {class: "comment"}, toggle, panel));
    }

    _picked(input) {
      if (this._exclusion && input.checked) {
        if (input === this._exclusion.input) {
          this._inputs.forEach(function (each) { each.checked = false; });
        } else {
          this._exclusion.input.checked = false;
        }
      }
      this.changed();
    }

    _shortcut(event) {
      var index = digitIndex(event);
      if (index < 0 || isEditableTarget(event) || this.disabled || index >= this._inputs.length) { return; }
      event.preventDefault();
      var input = this._inputs[index];
      input.checked = this.multiple ? !input.checked : true;
      input.focus();
      this._picked(input);
    }

    _chosen() {
      var self = this;
      return this._inputs.filter(function (input) { return input.checked; }).map(function (input) {
        return self._categories[Number(input.value)];
      });
    }

    get value() {
      if (!this._inputs) { return null; }
      var out = {};
      if (this.multiple) {
        out.labels = this._exclusion && this._exclusion.input.checked ? [this._exclusion.text] : this._chosen();
      } else {
        var chosen = this._chosen();
        if (!chosen.length) { return null; }
        out.label = chosen[0];
      }
      if (this._comment && this._comment.value.trim()) { out.workerComment = this._comment.value; }
      return out;
    }

    answerEntries() {
      var value = this.value;
      if (!value || (this.multiple && !value.labels.length)) { return []; }
      return [[this.name, value]];
    }

    validationMessage() {
      var value = this.value;
      if (!value || (this.multiple && !value.labels.length)) {
        return this.getAttribute("error-message") ||
          (this.multiple ? "Choose at least one category." : "Choose a category.");
      }
      return "";
    }

    focusControl() {
      if (!this._inputs || !this._inputs.length) { return this; }
      return this._inputs.filter(function (input) { return input.checked; })[0] || this._inputs[0];
    }

    syncDisabled() {
      var disabled = this.disabled;
      (this._inputs || []).concat(this._exclusion ? [this._exclusion.input] : []).forEach(function (input) {
        input.disabled = disabled;
      });
    }

    resetField() {
      this._inputs.forEach(function (input) { input.checked = false; });
      if (this._exclusion) { this._exclusion.input.checked = false; }
      if (this._comment) { this._comment.value = ""; }
    }

    showError(message) {
      super.showError(message);
      var fieldset = this.shadowRoot && this.shadowRoot.querySelector("fieldset.choice");
      if (fieldset) {
        fieldset.setAttribute("aria-invalid", message ? "true" : "false");
        fieldset.setAttribute("aria-describedby", "error");
      }
    }

    fieldTitle() {
      return this.getAttribute("header") || this.name;
    }
  }

  class CrowdClassifier extends ClassifierBase {}

  class CrowdClassifierMultiSelect extends ClassifierBase {
    get multiple() { return true; }
  }

  class CrowdImageClassifier extends ClassifierBase {
    get hasImage() { return true; }
  }

  class CrowdImageClassifierMultiSelect extends ClassifierBase {
    get multiple() { return true; }
    get hasImage() { return true; }
  }

  /** With one classifier on the page, its digit shortcuts work wherever the focus is (outside text fields). */
  doc.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || digitIndex(event) < 0 || isEditableTarget(event)) { return; }
    var path = event.composedPath ? event.composedPath() : [];
    if (path.some(function (node) { return node._ownsDigitKeys; })) {
      return; // the widget under the focus handles it
    }
    var classifiers = doc.querySelectorAll(
      "crowd-classifier, crowd-classifier-multi-select, crowd-image-classifier, crowd-image-classifier-multi-select");
    if (classifiers.length === 1 && classifiers[0]._inputs) { classifiers[0]._shortcut(event); }
  });

  // --- Image annotators: crowd-bounding-box, crowd-keypoint ---------------------------------------------------------------

  var ANNOTATOR_CSS = [
    ".header { font-size: 1.15rem; font-weight: 600; margin: 0 0 .5rem; }",
    ".labels { display: flex; flex-wrap: wrap; gap: .35rem .5rem; }",
    ".labels label { display: inline-flex; align-items: center; gap: .35rem; padding: .3rem .6rem; border: 1px solid #d0d7de;",
    "  border-radius: 999px; cursor: pointer; }",
    ".labels label:has(input:checked) { border-color: #0b5cad; background: #eaf2fb; font-weight: 600; }",
    ".labels input { margin: 0; accent-color: #0b5cad; }",
    ".swatch { width: .85rem; height: .85rem; border-radius: 3px; display: inline-block; }",
    ".key { display: inline-block; min-width: 1.2rem; text-align: center; font-size: .75rem; border: 1px solid #8c959f;",
    "  border-radius: 4px; color: #57606a; font-weight: normal; }",
    ".stage { position: relative; display: inline-block; max-width: 100%; margin: .5rem 0; line-height: 0;",
    "  touch-action: none; user-select: none; -webkit-user-select: none; }",
    ".stage img { max-width: 100%; max-height: 75vh; display: block; }",
    ".stage svg { position: absolute; inset: 0; width: 100%; height: 100%; cursor: crosshair; overflow: visible; }",
    ".stage svg .shape { cursor: move; }",
    ".stage svg .shape:focus { outline: none; }",
    ".stage svg .shape:focus .outline, .stage svg .shape.selected .outline { stroke: #f59e0b; }",
    ".stage svg .handle { cursor: nwse-resize; }",
    ".stage svg .handle.ne, .stage svg .handle.sw { cursor: nesw-resize; }",
    ".tools { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .25rem 0 .5rem; }",
    "ol.shapes { margin: .25rem 0; padding-left: 1.5rem; }",
    "ol.shapes li { margin: .2rem 0; }",
    "ol.shapes li .row { display: flex; flex-wrap: wrap; gap: .25rem .6rem; align-items: center; }",
    ".coords { font-variant-numeric: tabular-nums; color: #57606a; font-size: .9rem; }",
    "h3 { font-size: 1rem; margin: .75rem 0 .25rem; }",
    ".broken { color: #b42318; font-weight: 600; }",
  ].join("\n");

  /**
   * Shared by crowd-bounding-box and crowd-keypoint: the image with an SVG overlay in the image's own pixels
   * (viewBox = natural width × height), a label chooser, and a list of the shapes with a label menu and a
   * Delete button each. Shapes are focusable: arrow keys move them, number keys relabel, Delete removes.
   */
  class AnnotatorBase extends CrowdField {
    get kind() { return "shape"; }

    build() {
      assignRegions(this);
      this._ownsDigitKeys = true;
      var root = shadow(this, "annotator", ANNOTATOR_CSS);
      var self = this;
      this._labels = stringList(this.getAttribute("labels"));
      if (!this._labels.length) { this._labels = [this.kind === "box" ? "box" : "point"]; }
      if (this._labels.length > 10) { global.console && global.console.warn("<" + this.localName + ">: more than 10 labels"); }
      this._current = 0;
      this._selected = -1;
      this._natural = null;
      this._hasInitial = this.hasAttribute("initial-value");
      this._modified = false;
      this._initialRaw = jsonAttr(this, "initial-value", []);
      this._shapes = [];

      var main = h("section", {class: "main"});
      var header = this.getAttribute("header");
      if (header) { main.appendChild(h("div", {class: "header", role: "heading", "aria-level": "2", part: "header"}, header)); }
      var picker = h("fieldset", {class: "picker"}, h("legend", {}, this.kind === "box" ? "Label for new boxes" : "Label for new points"));
      var labels = h("div", {class: "labels"});
      this._labelInputs = this._labels.map(function (label, index) {
        var input = h("input", {type: "radio", name: "label", value: String(index)});
        input.checked = index === 0;
        input.addEventListener("change", function () { self._current = index; });
        labels.appendChild(h("label", {}, input,
          h("span", {class: "swatch", style: "background:" + self._color(index), "aria-hidden": "true"}),
          index < 10 ? h("span", {class: "key", "aria-hidden": "true"}, String((index + 1) % 10)) : null,
          h("span", {}, label)));
        return input;
      });
      picker.appendChild(labels);
      main.appendChild(picker);

      var image = h("img", {src: this.getAttribute("src") || "", alt: this.getAttribute("alt") || header || "Image to annotate",
                            draggable: "false", part: "image"});
      var svg = h("svg:svg", {preserveAspectRatio: "none", "aria-label": "Annotations", role: "group"});
      var stage = h("div", {class: "stage", part: "stage"}, image, svg);
      main.appendChild(stage);
      var status = h("p", {class: "help", id: "status"});
      main.appendChild(h("p", {class: "help", id: "help"}, this.helpText()));
      var add = h("button", {type: "button", id: "add"}, "Add a " + this.kind);
      main.appendChild(h("div", {class: "tools"}, add));
      main.appendChild(status);
      var listTitle = this.kind === "box" ? "Boxes" : "Points";
      this._empty = h("p", {class: "help"}, "No " + listTitle.toLowerCase() + " yet.");
      this._list = h("ol", {class: "shapes", "aria-label": listTitle});
      main.appendChild(h("h3", {}, listTitle));
      main.appendChild(this._empty);
      main.appendChild(this._list);
      main.appendChild(h("p", {class: "crowd-error", id: "error", hidden: true}));
      root.appendChild(h("div", {class: "layout"}, main, instructionsColumn(this)));
      root.appendChild(h("slot"));
      this._image = image;
      this._svg = svg;
      this._status = status;
      this._add = add;

      function loaded() {
        if (!image.naturalWidth) { return; }
        self._natural = {width: image.naturalWidth, height: image.naturalHeight};
        svg.setAttribute("viewBox", "0 0 " + image.naturalWidth + " " + image.naturalHeight);
        self._shapes = self.parseInitial(self._initialRaw);
        self._initialShapes = JSON.stringify(self._shapes);
        self.render();
      }
      image.addEventListener("load", loaded);
      image.addEventListener("error", function () {
        status.textContent = "The image could not be loaded.";
        status.className = "broken";
      });
      if (image.complete) { loaded(); }
      if (global.ResizeObserver) {
        new global.ResizeObserver(function () { if (self._natural) { self.render(); } }).observe(image);
      }

      add.addEventListener("click", function () {
        if (!self._natural || self.disabled) { return; }
        self._shapes.push(self.newShapeAtCentre(self._labels[self._current]));
        self._commit(self._shapes.length - 1, true);
      });
      svg.addEventListener("pointerdown", function (event) { self._pointerDown(event); });
      svg.addEventListener("pointermove", function (event) { self._pointerMove(event); });
      svg.addEventListener("pointerup", function (event) { self._pointerUp(event); });
      svg.addEventListener("pointercancel", function () { self._drag = null; self.render(); });
      svg.addEventListener("keydown", function (event) { self._shapeKey(event); });
      svg.addEventListener("focusin", function (event) {
        var index = self._indexOf(event.target);
        if (index >= 0 && index !== self._selected) {
          self._selected = index;
          self.render(index);
        }
      });
      this.addEventListener("keydown", function (event) {
        var index = digitIndex(event);
        if (index < 0 || isEditableTarget(event) || index >= self._labels.length) { return; }
        if (self._indexOf(event.composedPath()[0]) >= 0) { return; } // a focused shape: relabelled by _shapeKey
        event.preventDefault();
        self._choose(index);
      });
      this.syncDisabled();
    }

    _color(index) { return PALETTE[index % PALETTE.length]; }
    _labelColor(label) { return this._color(Math.max(0, this._labels.indexOf(label))); }

    _choose(index) {
      this._current = index;
      this._labelInputs[index].checked = true;
    }

    /** Pixels of the image per pixel on screen, for strokes and text that keep their size. */
    _scale() {
      var width = this._image.getBoundingClientRect().width;
      return width > 0 && this._natural ? this._natural.width / width : 1;
    }

    _point(event) {
      var rect = this._svg.getBoundingClientRect();
      var n = this._natural;
      var x = (event.clientX - rect.left) * n.width / rect.width;
      var y = (event.clientY - rect.top) * n.height / rect.height;
      return {x: Math.min(Math.max(x, 0), n.width), y: Math.min(Math.max(y, 0), n.height)};
    }

    _indexOf(node) {
      while (node && node !== this._svg && node.getAttribute) {
        if (node.hasAttribute("data-index")) { return Number(node.getAttribute("data-index")); }
        node = node.parentNode;
      }
      return -1;
    }

    _pointerDown(event) {
      if (event.button !== 0 || !this._natural || this.disabled) { return; }
      event.preventDefault();
      var point = this._point(event);
      var index = this._indexOf(event.target);
      var handle = event.target.getAttribute && event.target.getAttribute("data-handle");
      this._svg.setPointerCapture(event.pointerId);
      this._drag = this.startDrag(point, index, handle);
      this._moved = false;
      if (this._drag && this._drag.index >= 0) {
        this._selected = this._drag.index;
        this.render(-1);
      }
    }

    _pointerMove(event) {
      if (!this._drag) { return; }
      this._moved = true;
      this.dragTo(this._drag, this._point(event));
      this.render(-1);
    }

    _pointerUp(event) {
      var drag = this._drag;
      this._drag = null;
      if (!drag) { return; }
      if (this._svg.hasPointerCapture(event.pointerId)) { this._svg.releasePointerCapture(event.pointerId); }
      var index = this.endDrag(drag, this._moved);
      if (index === null) {
        this.render(-1);
        return;
      }
      this._commit(index, true);
    }

    _commit(index, focus) {
      this._selected = index;
      this._modified = true;
      this.render(focus ? index : -1);
      this.changed();
    }

    _shapeKey(event) {
      var index = this._indexOf(event.target);
      if (index < 0 || this.disabled) { return; }
      var shape = this._shapes[index];
      var digit = digitIndex(event);
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        this.removeShape(index);
        return;
      }
      if (digit >= 0 && digit < this._labels.length) {
        event.preventDefault();
        shape.label = this._labels[digit];
        this._choose(digit);
        this._commit(index, true);
        return;
      }
      var dx = {ArrowLeft: -1, ArrowRight: 1}[event.key] || 0;
      var dy = {ArrowUp: -1, ArrowDown: 1}[event.key] || 0;
      if (!dx && !dy) { return; }
      event.preventDefault();
      var step = event.shiftKey ? 10 : 1;
      this.nudge(shape, dx * step, dy * step, event.altKey);
      this._commit(index, true);
    }

    removeShape(index) {
      this._shapes.splice(index, 1);
      this._selected = -1;
      this._modified = true;
      this.render(-1);
      this._status.textContent = this._capital() + " " + (index + 1) + " deleted.";
      var rows = this._list.querySelectorAll("li");
      var next = rows[Math.min(index, rows.length - 1)];
      (next ? next.querySelector("button") : this._add).focus();
      this.changed();
    }

    _capital() { return this.kind.charAt(0).toUpperCase() + this.kind.slice(1); }

    /** Redraw the overlay and the list; ``focusIndex`` gets the keyboard focus back after the redraw. */
    render(focusIndex) {
      var active = this.shadowRoot.activeElement;
      var keep = focusIndex !== undefined && focusIndex >= 0 ? focusIndex : this._indexOf(active);
      var svg = this._svg;
      while (svg.firstChild) { svg.removeChild(svg.firstChild); }
      var scale = this._scale();
      var self = this;
      this._shapes.forEach(function (shape, index) {
        var group = self.drawShape(shape, index, scale, index === self._selected);
        group.setAttribute("data-index", String(index));
        group.setAttribute("tabindex", "0");
        group.setAttribute("role", "button");
        group.setAttribute("aria-describedby", "help");
        group.setAttribute("aria-label", self.describe(shape, index));
        group.classList.add("shape");
        svg.appendChild(group);
      });
      if (this._drag && this._drag.preview) {
        svg.appendChild(this.drawShape(this._drag.preview, -1, scale, true));
      }
      if (keep >= 0 && keep < this._shapes.length && (focusIndex >= 0 || active)) {
        var target = svg.querySelector("[data-index='" + keep + "']");
        if (target) { target.focus({preventScroll: true}); }
      }
      this._renderList();
    }

    _renderList() {
      var self = this;
      var rows = this._list.children;
      this._shapes.forEach(function (shape, index) {
        var row = rows[index];
        if (!row) {
          var select = h("select", {});
          self._labels.forEach(function (label) { select.appendChild(h("option", {value: label}, label)); });
          var remove = h("button", {type: "button"}, "Delete");
          row = h("li", {}, h("div", {class: "row"}, h("span", {class: "coords"}), select, remove));
          select.addEventListener("change", function () {
            var i = Number(row.getAttribute("data-index"));
            self._shapes[i].label = select.value;
            self._commit(i, false);
          });
          remove.addEventListener("click", function () { self.removeShape(Number(row.getAttribute("data-index"))); });
          self._list.appendChild(row);
        }
        row.setAttribute("data-index", String(index));
        row.querySelector(".coords").textContent = self.describe(shape, index);
        var menu = row.querySelector("select");
        menu.setAttribute("aria-label", "Label of " + self.kind + " " + (index + 1));
        if (self._labels.indexOf(shape.label) < 0) {
          menu.appendChild(h("option", {value: shape.label}, shape.label));
        }
        menu.value = shape.label;
        menu.disabled = self.disabled;
        var remove = row.querySelector("button");
        remove.textContent = "Delete";
        remove.setAttribute("aria-label", "Delete " + self.kind + " " + (index + 1));
        remove.disabled = self.disabled;
      });
      while (rows.length > this._shapes.length) { this._list.removeChild(rows[rows.length - 1]); }
      this._empty.hidden = this._shapes.length > 0;
    }

    syncDisabled() {
      if (!this._add) { return; }
      var disabled = this.disabled;
      this._add.disabled = disabled;
      this._labelInputs.forEach(function (input) { input.disabled = disabled; });
      if (this._natural) { this._renderList(); }
    }

    focusControl() {
      var first = this._svg && this._svg.querySelector(".shape");
      return first || this._add || this;
    }

    resetField() {
      this._shapes = this._natural ? this.parseInitial(this._initialRaw) : [];
      this._modified = false;
      this._selected = -1;
      if (this._natural) { this.render(-1); }
    }

    /** The answer object (also readable as ``_submittableValue``, as some templates do). */
    get value() { return this.output(); }
    get _submittableValue() { return this.output(); }

    imageProperties() {
      return this._natural ? {height: this._natural.height, width: this._natural.width} : {height: 0, width: 0};
    }

    answerEntries() { return [[this.name, this.output()]]; }

    validationMessage() {
      if (this.required && !this._shapes.length) {
        return this.getAttribute("error-message") || "Add at least one " + this.kind + ".";
      }
      return "";
    }

    fieldTitle() { return this.getAttribute("header") || this.name; }
  }

  function clamp(value, low, high) {
    return Math.min(Math.max(value, low), high);
  }

  /** crowd-bounding-box: labelled rectangles; the answer is in the image's natural pixels. */
  class CrowdBoundingBox extends AnnotatorBase {
    get kind() { return "box"; }

    helpText() {
      return "Choose a label, then drag on the image to draw a box. Drag a box to move it, or its corners to resize it. " +
        "With the keyboard: press \u201cAdd a box\u201d, then Tab to a box: arrow keys move it (Shift: 10 pixels), " +
        "Alt + arrow keys resize it, number keys change its label, Delete removes it.";
    }

    parseInitial(raw) {
      var list = Array.isArray(raw) ? raw : (isPlainObject(raw) && Array.isArray(raw.boundingBoxes) ? raw.boundingBoxes : []);
      var n = this._natural;
      return list.filter(isPlainObject).map(function (box) {
        var left = clamp(Math.round(Number(box.left) || 0), 0, n.width);
        var top = clamp(Math.round(Number(box.top) || 0), 0, n.height);
        return {label: String(box.label === undefined ? "" : box.label), left: left, top: top,
                width: clamp(Math.round(Number(box.width) || 0), 0, n.width - left),
                height: clamp(Math.round(Number(box.height) || 0), 0, n.height - top)};
      });
    }

    newShapeAtCentre(label) {
      var n = this._natural;
      var width = Math.max(1, Math.round(n.width / 4));
      var height = Math.max(1, Math.round(n.height / 4));
      return {label: label, left: Math.round((n.width - width) / 2), top: Math.round((n.height - height) / 2),
              width: width, height: height};
    }

    describe(box, index) {
      return "Box " + (index + 1) + ": " + box.label + ", left " + box.left + ", top " + box.top + ", width " + box.width +
        ", height " + box.height;
    }

    drawShape(box, index, scale, selected) {
      var color = this._labelColor(box.label);
      var group = h("svg:g", {class: selected ? "selected" : null});
      group.appendChild(h("svg:rect", {x: box.left, y: box.top, width: Math.max(box.width, 0.5), height: Math.max(box.height, 0.5),
                                       fill: color, "fill-opacity": 0.12, stroke: color, "stroke-width": 2,
                                       "vector-effect": "non-scaling-stroke", class: "outline"}));
      if (index >= 0) {
        var size = 13 * scale;
        var text = h("svg:text", {x: box.left + 2 * scale, y: Math.max(box.top - 4 * scale, size), "font-size": size,
                                  fill: color, stroke: "#fff", "stroke-width": 3 * scale, "paint-order": "stroke",
                                  "font-weight": 700, "aria-hidden": "true"}, (index + 1) + " " + box.label);
        group.appendChild(text);
      }
      if (selected && index >= 0) {
        var r = 5 * scale;
        [["nw", box.left, box.top], ["ne", box.left + box.width, box.top], ["sw", box.left, box.top + box.height],
         ["se", box.left + box.width, box.top + box.height]].forEach(function (corner) {
          group.appendChild(h("svg:circle", {cx: corner[1], cy: corner[2], r: r, fill: "#fff", stroke: color,
                                             "stroke-width": 2, "vector-effect": "non-scaling-stroke",
                                             class: "handle " + corner[0], "data-handle": corner[0]}));
        });
      }
      return group;
    }

    startDrag(point, index, handle) {
      if (index >= 0 && handle) {
        var box = this._shapes[index];
        var anchorX = handle.indexOf("w") >= 0 ? box.left + box.width : box.left;
        var anchorY = handle.charAt(0) === "n" ? box.top + box.height : box.top;
        return {mode: "resize", index: index, anchor: {x: anchorX, y: anchorY}};
      }
      if (index >= 0) {
        var shape = this._shapes[index];
        return {mode: "move", index: index, offset: {x: point.x - shape.left, y: point.y - shape.top}};
      }
      return {mode: "draw", index: -1, start: point,
              preview: {label: this._labels[this._current], left: point.x, top: point.y, width: 0, height: 0}};
    }

    dragTo(drag, point) {
      var n = this._natural;
      if (drag.mode === "draw" || drag.mode === "resize") {
        var origin = drag.mode === "draw" ? drag.start : drag.anchor;
        var target = drag.mode === "draw" ? drag.preview : this._shapes[drag.index];
        target.left = Math.round(Math.min(origin.x, point.x));
        target.top = Math.round(Math.min(origin.y, point.y));
        target.width = Math.round(Math.abs(point.x - origin.x));
        target.height = Math.round(Math.abs(point.y - origin.y));
      } else if (drag.mode === "move") {
        var box = this._shapes[drag.index];
        box.left = Math.round(clamp(point.x - drag.offset.x, 0, n.width - box.width));
        box.top = Math.round(clamp(point.y - drag.offset.y, 0, n.height - box.height));
      }
    }

    endDrag(drag, moved) {
      if (drag.mode === "draw") {
        var box = drag.preview;
        var minimum = 3 * this._scale();
        if (box.width < minimum || box.height < minimum) {
          this._selected = -1;
          return null;
        }
        this._shapes.push(box);
        return this._shapes.length - 1;
      }
      return moved ? drag.index : (this.render(drag.index), null);
    }

    nudge(box, dx, dy, resize) {
      var n = this._natural;
      if (resize) {
        box.width = clamp(box.width + dx, 1, n.width - box.left);
        box.height = clamp(box.height + dy, 1, n.height - box.top);
      } else {
        box.left = clamp(box.left + dx, 0, n.width - box.width);
        box.top = clamp(box.top + dy, 0, n.height - box.height);
      }
    }

    output() {
      var out = {
        boundingBoxes: (this._shapes || []).map(function (box) {
          return {height: box.height, label: box.label, left: box.left, top: box.top, width: box.width};
        }),
        inputImageProperties: this.imageProperties(),
      };
      if (this._hasInitial) { out.initialValueModified = JSON.stringify(this._shapes) !== this._initialShapes; }
      return out;
    }
  }

  /** crowd-keypoint: labelled points; the answer is in the image's natural pixels, origin top left. */
  class CrowdKeypoint extends AnnotatorBase {
    get kind() { return "point"; }

    helpText() {
      return "Choose a label, then click on the image to place a point. Drag a point to move it. " +
        "With the keyboard: press \u201cAdd a point\u201d, then Tab to a point: arrow keys move it (Shift: 10 pixels), " +
        "number keys change its label, Delete removes it.";
    }

    parseInitial(raw) {
      var list = Array.isArray(raw) ? raw : (isPlainObject(raw) && Array.isArray(raw.keypoints) ? raw.keypoints : []);
      var n = this._natural;
      var labels = this._labels;
      return list.filter(function (point) { return isPlainObject(point) && labels.indexOf(String(point.label)) >= 0; })
        .map(function (point) {
          return {label: String(point.label), x: clamp(Math.round(Number(point.x) || 0), 0, n.width),
                  y: clamp(Math.round(Number(point.y) || 0), 0, n.height)};
        });
    }

    newShapeAtCentre(label) {
      return {label: label, x: Math.round(this._natural.width / 2), y: Math.round(this._natural.height / 2)};
    }

    describe(point, index) {
      return "Point " + (index + 1) + ": " + point.label + ", x " + point.x + ", y " + point.y;
    }

    drawShape(point, index, scale, selected) {
      var color = this._labelColor(point.label);
      var group = h("svg:g", {class: selected ? "selected" : null});
      group.appendChild(h("svg:circle", {cx: point.x, cy: point.y, r: 6 * scale, fill: color, stroke: "#fff",
                                         "stroke-width": 2, "vector-effect": "non-scaling-stroke", class: "outline"}));
      if (index >= 0) {
        var size = 13 * scale;
        group.appendChild(h("svg:text", {x: point.x + 9 * scale, y: point.y - 6 * scale, "font-size": size, fill: color,
                                         stroke: "#fff", "stroke-width": 3 * scale, "paint-order": "stroke",
                                         "font-weight": 700, "aria-hidden": "true"}, (index + 1) + " " + point.label));
      }
      return group;
    }

    startDrag(point, index) {
      if (index >= 0) { return {mode: "move", index: index}; }
      this._shapes.push({label: this._labels[this._current], x: Math.round(point.x), y: Math.round(point.y)});
      return {mode: "move", index: this._shapes.length - 1, created: true};
    }

    dragTo(drag, point) {
      var shape = this._shapes[drag.index];
      shape.x = Math.round(point.x);
      shape.y = Math.round(point.y);
    }

    endDrag(drag, moved) {
      return moved || drag.created ? drag.index : (this.render(drag.index), null);
    }

    nudge(point, dx, dy) {
      point.x = clamp(point.x + dx, 0, this._natural.width);
      point.y = clamp(point.y + dy, 0, this._natural.height);
    }

    output() {
      var out = {
        inputImageProperties: this.imageProperties(),
        keypoints: (this._shapes || []).map(function (point) { return {label: point.label, x: point.x, y: point.y}; }),
      };
      return out;
    }
  }

  // --- crowd-entity-annotation ---------------------------------------------------------------------------------------

  var ENTITY_CSS = [
    ".labels { display: flex; flex-wrap: wrap; gap: .35rem .5rem; }",
    ".labels label { display: inline-flex; align-items: center; gap: .35rem; padding: .3rem .6rem; border: 1px solid #d0d7de;",
    "  border-radius: 999px; cursor: pointer; }",
    ".labels label:has(input:checked) { border-color: #0b5cad; background: #eaf2fb; font-weight: 600; }",
    ".labels input { margin: 0; accent-color: #0b5cad; }",
    ".swatch { width: .85rem; height: .85rem; border-radius: 3px; display: inline-block; }",
    ".key { display: inline-block; min-width: 1.2rem; text-align: center; font-size: .75rem; border: 1px solid #8c959f;",
    "  border-radius: 4px; color: #57606a; font-weight: normal; }",
    ".tools { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }",
    "ol.entities { margin: .25rem 0; padding-left: 1.5rem; }",
    "ol.entities li { margin: .2rem 0; }",
    "ol.entities .row { display: flex; flex-wrap: wrap; gap: .25rem .6rem; align-items: center; }",
    "h3 { font-size: 1rem; margin: .75rem 0 .25rem; }",
    "q { font-weight: 600; }",
    ".offsets { color: #57606a; font-size: .85rem; font-variant-numeric: tabular-nums; }",
    "#notice.warn { color: #b42318; font-weight: 600; }",
  ].join("\n");

  /**
   * crowd-entity-annotation: label spans of the ``text`` attribute. The text is a read-only editable region in
   * the page (so the caret and Shift + arrow keys select text, and screen readers read it); selecting with the
   * mouse labels the selection with the chosen label, Enter or a number key labels a keyboard selection.
   * Offsets in the answer count Unicode code points; endOffset is the first character after the span.
   */
  class CrowdEntityAnnotation extends CrowdField {
    build() {
      assignRegions(this);
      addDocumentStyles();
      this._ownsDigitKeys = true;
      var root = shadow(this, "entity", ENTITY_CSS);
      var self = this;
      var raw = jsonAttr(this, "labels", []);
      this._labels = (Array.isArray(raw) ? raw : [raw]).map(function (item) {
        if (isPlainObject(item)) {
          var label = String(item.label === undefined ? "" : item.label);
          return {label: label, full: String(item.fullDisplayName || label), short: String(item.shortDisplayName || label)};
        }
        return {label: String(item), full: String(item), short: String(item)};
      }).filter(function (item) { return item.label !== ""; });
      this._text = this.getAttribute("text") || "";
      this._current = 0;
      this._initialRaw = jsonAttr(this, "initial-value", []);
      this._entities = this._parseInitial(this._initialRaw);

      var main = h("section", {class: "main"});
      var header = this.getAttribute("header");
      if (header) { main.appendChild(h("div", {class: "header", role: "heading", "aria-level": "2", part: "header"}, header)); }
      var labels = h("div", {class: "labels"});
      this._labelInputs = this._labels.map(function (item, index) {
        var input = h("input", {type: "radio", name: "label", value: item.label});
        input.checked = index === 0;
        input.addEventListener("change", function () { self._current = index; });
        labels.appendChild(h("label", {}, input,
          h("span", {class: "swatch", style: "background:" + PALETTE[index % PALETTE.length], "aria-hidden": "true"}),
          index < 10 ? h("span", {class: "key", "aria-hidden": "true"}, String((index + 1) % 10)) : null,
          h("span", {}, item.full)));
        return input;
      });
      main.appendChild(h("fieldset", {}, h("legend", {}, "Label"), labels));

      // The text lives in the light DOM so that the page's selection sees it (see the class comment).
      var text = h("div", {class: "crowd-entity-text", slot: "text", contenteditable: "true", role: "textbox",
                           "aria-multiline": "true", "aria-readonly": "true", spellcheck: "false",
                           "aria-label": header ? "Text to annotate: " + header : "Text to annotate",
                           "aria-describedby": uniqueId("entity-help")});
      var help = h("p", {class: "help", id: text.getAttribute("aria-describedby"), hidden: true},
                   "Select words with the mouse to label them with the chosen label. With the keyboard: move with " +
                   "the arrow keys, select with Shift + arrow keys, then press Enter (or a label's number key).");
      this.appendChild(text);
      this.appendChild(help);
      main.appendChild(h("slot", {name: "text"}));
      main.appendChild(h("p", {class: "help"}, help.textContent));
      var apply = h("button", {type: "button"}, "Label the selected text");
      main.appendChild(h("div", {class: "tools"}, apply));
      this._notice = h("p", {class: "help", id: "notice", role: "status"});
      main.appendChild(this._notice);
      this._empty = h("p", {class: "help"}, "No labelled text yet.");
      this._list = h("ol", {class: "entities", "aria-label": "Labelled text"});
      main.appendChild(h("h3", {}, "Labelled text"));
      main.appendChild(this._empty);
      main.appendChild(this._list);
      main.appendChild(h("p", {class: "crowd-error", id: "error", hidden: true}));
      root.appendChild(h("div", {class: "layout"}, main, instructionsColumn(this)));
      root.appendChild(h("slot"));
      this._region = text;
      this._apply = apply;

      text.addEventListener("beforeinput", function (event) { event.preventDefault(); });
      ["paste", "drop", "cut", "dragstart"].forEach(function (name) {
        text.addEventListener(name, function (event) { event.preventDefault(); });
      });
      text.addEventListener("input", function () { self._renderText(); }); // undo anything that slipped through
      // A drag may end outside the text, so the page's mouseup decides (the selection must lie inside the text).
      doc.addEventListener("mouseup", function () { global.setTimeout(function () { self._labelSelection(false); }, 0); });
      text.addEventListener("keydown", function (event) {
        var digit = digitIndex(event);
        if (event.key === "Enter") {
          event.preventDefault();
          self._labelSelection(true);
        } else if (digit >= 0 && digit < self._labels.length) {
          event.preventDefault();
          self._choose(digit);
          self._labelSelection(true);
        }
      });
      apply.addEventListener("mousedown", function (event) { event.preventDefault(); }); // keep the selection
      apply.addEventListener("click", function () { self._labelSelection(true); });
      this.addEventListener("keydown", function (event) {
        var digit = digitIndex(event);
        if (digit < 0 || isEditableTarget(event) || digit >= self._labels.length) { return; }
        event.preventDefault();
        self._choose(digit);
      });
      this._render();
      this.syncDisabled();
    }

    _choose(index) {
      this._current = index;
      this._labelInputs[index].checked = true;
    }

    _parseInitial(raw) {
      var text = this._text;
      var known = this._labels.map(function (item) { return item.label; });
      var list = Array.isArray(raw) ? raw : (isPlainObject(raw) && Array.isArray(raw.entities) ? raw.entities : []);
      var out = [];
      list.forEach(function (item) {
        if (!isPlainObject(item) || known.indexOf(String(item.label)) < 0) { return; }
        var start = utf16Index(text, Math.max(0, Number(item.startOffset) || 0));
        var end = utf16Index(text, Math.max(0, Number(item.endOffset) || 0));
        if (end > start && !out.some(function (other) { return start < other.end && other.start < end; })) {
          out.push({label: String(item.label), start: start, end: end});
        }
      });
      return out.sort(function (a, b) { return a.start - b.start; });
    }

    /** The UTF-16 offsets of the page's selection inside the text, or null. */
    _selectionOffsets() {
      var selection = doc.getSelection();
      if (!selection || !selection.rangeCount || selection.isCollapsed) { return null; }
      var range = selection.getRangeAt(0);
      var region = this._region;
      if (!region.contains(range.startContainer) || !region.contains(range.endContainer)) { return null; }
      function offset(node, at) {
        var before = doc.createRange();
        before.setStart(region, 0);
        before.setEnd(node, at);
        return before.toString().length;
      }
      var start = offset(range.startContainer, range.startOffset);
      var end = offset(range.endContainer, range.endOffset);
      var text = this._text;
      while (start < end && /\s/.test(text.charAt(start))) { start++; }
      while (end > start && /\s/.test(text.charAt(end - 1))) { end--; }
      return end > start ? {start: start, end: end} : null;
    }

    _labelSelection(fromKeyboard) {
      if (this.disabled || !this._labels.length) { return; }
      var span = this._selectionOffsets();
      if (!span) {
        if (fromKeyboard) { this._say("Select some text first.", true); }
        return;
      }
      var label = this._labels[this._current].label;
      var same = this._entities.filter(function (e) { return e.start === span.start && e.end === span.end; })[0];
      var overlap = this._entities.filter(function (e) { return span.start < e.end && e.start < span.end; })[0];
      var quoted = "\u201c" + this._text.slice(span.start, span.end) + "\u201d";
      if (same) {
        same.label = label;
        this._say(quoted + " is now labelled " + this._labels[this._current].full + ".");
      } else if (overlap) {
        this._say(quoted + " overlaps the labelled text \u201c" + this._text.slice(overlap.start, overlap.end) +
          "\u201d. Delete that label first, or select exactly the same text to change its label.", true);
        return;
      } else {
        this._entities.push({label: label, start: span.start, end: span.end});
        this._entities.sort(function (a, b) { return a.start - b.start; });
        this._say(quoted + " labelled " + this._labels[this._current].full + ".");
      }
      var caret = span.end;
      this._render();
      this._placeCaret(caret);
      this.changed();
    }

    _placeCaret(offset) {
      var walker = doc.createTreeWalker(this._region, global.NodeFilter.SHOW_TEXT);
      var seen = 0;
      var node;
      while ((node = walker.nextNode())) {
        if (seen + node.length >= offset) {
          var selection = doc.getSelection();
          selection.collapse(node, offset - seen);
          return;
        }
        seen += node.length;
      }
    }

    _say(message, warn) {
      this._notice.textContent = message;
      this._notice.className = warn ? "help warn" : "help";
    }

    _info(label) {
      return this._labels.filter(function (item) { return item.label === label; })[0] || {label: label, full: label, short: label};
    }

    _color(label) {
      var index = this._labels.map(function (item) { return item.label; }).indexOf(label);
      return PALETTE[Math.max(0, index) % PALETTE.length];
    }

    _renderText() {
      var region = this._region;
      var text = this._text;
      var self = this;
      region.textContent = "";
      var at = 0;
      this._entities.forEach(function (entity) {
        if (entity.start > at) { region.appendChild(doc.createTextNode(text.slice(at, entity.start))); }
        var info = self._info(entity.label);
        var mark = h("mark", {class: "crowd-entity-mark", "data-short": info.short,
                              style: "--crowd-entity-color:" + self._color(entity.label)},
                     text.slice(entity.start, entity.end));
        region.appendChild(mark);
        at = entity.end;
      });
      if (at < text.length) { region.appendChild(doc.createTextNode(text.slice(at))); }
    }

    _render() {
      this._renderText();
      var self = this;
      var list = this._list;
      list.textContent = "";
      this._entities.forEach(function (entity, index) {
        var select = h("select", {"aria-label": "Label of \u201c" + self._text.slice(entity.start, entity.end) + "\u201d"});
        self._labels.forEach(function (item) { select.appendChild(h("option", {value: item.label}, item.full)); });
        select.value = entity.label;
        select.disabled = self.disabled;
        select.addEventListener("change", function () {
          entity.label = select.value;
          self._renderText();
          self.changed();
        });
        var remove = h("button", {type: "button", "aria-label": "Delete the label of \u201c" +
                                  self._text.slice(entity.start, entity.end) + "\u201d"}, "Delete");
        remove.disabled = self.disabled;
        remove.addEventListener("click", function () {
          self._entities.splice(self._entities.indexOf(entity), 1);
          self._render();
          var rows = list.querySelectorAll("li button");
          (rows[Math.min(index, rows.length - 1)] || self._region).focus();
          self._say("Label deleted.");
          self.changed();
        });
        var offsets = self._publicOffsets(entity);
        list.appendChild(h("li", {}, h("div", {class: "row"},
          h("q", {}, self._text.slice(entity.start, entity.end)), select,
          h("span", {class: "offsets"}, offsets.startOffset + "\u2013" + offsets.endOffset), remove)));
      });
      this._empty.hidden = this._entities.length > 0;
    }

    _publicOffsets(entity) {
      return {startOffset: codePointOffset(this._text, entity.start), endOffset: codePointOffset(this._text, entity.end)};
    }

    syncDisabled() {
      if (!this._region) { return; }
      var disabled = this.disabled;
      this._region.setAttribute("contenteditable", disabled ? "false" : "true");
      this._apply.disabled = disabled;
      this._labelInputs.forEach(function (input) { input.disabled = disabled; });
      this._render();
    }

    get value() {
      var self = this;
      return {
        entities: (this._entities || []).map(function (entity) {
          var offsets = self._publicOffsets(entity);
          return {endOffset: offsets.endOffset, label: entity.label, startOffset: offsets.startOffset};
        }),
      };
    }

    answerEntries() { return [[this.name, this.value]]; }

    validationMessage() {
      if (this.required && !this._entities.length) {
        return this.getAttribute("error-message") || "Label at least one part of the text.";
      }
      return "";
    }

    focusControl() { return this._region || this; }

    resetField() {
      this._entities = this._parseInitial(this._initialRaw);
      this._render();
    }

    fieldTitle() { return this.getAttribute("header") || this.name; }
  }

  // --- Layout and messages -----------------------------------------------------------------------------------------------

  var ALERT_CSS = [
    ".alert { display: flex; gap: .6rem; align-items: flex-start; padding: .6rem .8rem; border-radius: 6px; margin: .5rem 0;",
    "  border: 1px solid #0b5cad; background: #eaf2fb; }",
    ":host([type=success]) .alert { border-color: #1a7f37; background: #e6f4ea; }",
    ":host([type=warning]) .alert { border-color: #bf8700; background: #fff8c5; }",
    ":host([type=error]) .alert { border-color: #b42318; background: #fdecea; }",
    ".icon { font-weight: 700; flex: none; }",
    ".body { flex: 1; }",
    ".dismiss { border: none; background: none; padding: 0 .25rem; font-size: 1.2rem; line-height: 1; color: inherit; }",
  ].join("\n");

  var ALERT_ICONS = {info: "i", success: "\u2713", warning: "\u26a0", error: "!"};

  /** crowd-alert: a message box (type info, success, warning or error), closable when ``dismissible``. */
  class CrowdAlert extends CrowdElement {
    build() {
      var root = shadow(this, "alert", ALERT_CSS);
      var type = (this.getAttribute("type") || "info").toLowerCase();
      var role = type === "error" || type === "warning" ? "alert" : "status";
      var box = h("div", {class: "alert", part: "alert", role: role},
                  h("span", {class: "icon", "aria-hidden": "true"}, ALERT_ICONS[type] || "i"),
                  h("div", {class: "body"}, h("slot")));
      if (this.hasAttribute("dismissible")) {
        var close = h("button", {type: "button", class: "dismiss", "aria-label": "Dismiss"}, "\u00d7");
        var self = this;
        close.addEventListener("click", function () { self.hidden = true; });
        box.appendChild(close);
      }
      root.appendChild(box);
    }
  }

  var BADGE_CSS = [
    ":host { display: inline-block; }",
    ".badge { display: inline-flex; align-items: center; justify-content: center; min-width: 1.5rem; height: 1.5rem;",
    "  padding: 0 .35rem; border-radius: 999px; background: #0b5cad; color: #fff; font-size: .8rem; font-weight: 700; }",
    ".badge img { width: 1rem; height: 1rem; }",
  ].join("\n");

  /** crowd-badge: a small round label or icon; with ``for`` it sits on the top right corner of that element. */
  class CrowdBadge extends CrowdElement {
    build() {
      var root = shadow(this, "badge", BADGE_CSS);
      var icon = this.getAttribute("icon");
      var label = this.getAttribute("label") || "";
      var badge = h("span", {class: "badge", part: "badge", role: "img", "aria-label": label || icon || "badge"},
                    icon ? iconNode(icon) : h("span", {"aria-hidden": "true"}, label));
      root.appendChild(badge);
      var target = this.getAttribute("for") ? doc.getElementById(this.getAttribute("for")) : null;
      if (target) {
        if (!target.contains(this)) { target.appendChild(this); }
        if (global.getComputedStyle(target).position === "static") { target.style.position = "relative"; }
        this.style.position = "absolute";
        this.style.top = "-.6rem";
        this.style.right = "-.6rem";
      }
    }
  }

  var CARD_CSS = [
    ".card { border: 1px solid #d0d7de; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); background: #fff;",
    "  overflow: hidden; }",
    ".card img { display: block; max-width: 100%; }",
    ".heading { font-weight: 600; font-size: 1.05rem; padding: .6rem .9rem 0; }",
    ".content { padding: .25rem .9rem .6rem; }",
  ].join("\n");

  /** crowd-card: a raised box with an optional ``heading`` and ``image``. */
  class CrowdCard extends CrowdElement {
    build() {
      var root = shadow(this, "card", CARD_CSS);
      var card = h("div", {class: "card", part: "card"});
      if (this.getAttribute("image")) { card.appendChild(h("img", {src: this.getAttribute("image"), alt: ""})); }
      if (this.getAttribute("heading")) {
        card.appendChild(h("div", {class: "heading", role: "heading", "aria-level": "3"}, this.getAttribute("heading")));
      }
      card.appendChild(h("div", {class: "content"}, h("slot")));
      root.appendChild(card);
    }
  }

  /**
   * crowd-tabs with crowd-tab children (``header`` names each tab): ARIA tabs, built in the page itself so the
   * tab buttons and the panels can refer to each other.
   */
  class CrowdTabs extends CrowdElement {
    build() {
      addDocumentStyles();
      var self = this;
      this._list = h("div", {class: "crowd-tabs-list", role: "tablist"});
      this.insertBefore(this._list, this.firstChild);
      this._refresh();
      new global.MutationObserver(function (records) {
        var changed = records.some(function (record) {
          return Array.prototype.some.call(record.addedNodes, function (n) { return n.localName === "crowd-tab"; }) ||
            Array.prototype.some.call(record.removedNodes, function (n) { return n.localName === "crowd-tab"; });
        });
        if (changed) { self._refresh(); }
      }).observe(this, {childList: true});
    }

    tabs() {
      return Array.prototype.filter.call(this.children, function (child) { return child.localName === "crowd-tab"; });
    }

    _refresh() {
      var panels = this.tabs();
      var list = this._list;
      list.textContent = "";
      var selected = Math.max(0, panels.findIndex(function (panel) { return !panel.hidden && panel._crowdSelected; }));
      var buttons = panels.map(function (panel, index) {
        if (!panel.id) { panel.id = uniqueId("tab-panel"); }
        var button = h("button", {type: "button", role: "tab", id: uniqueId("tab"), "aria-controls": panel.id},
                       panel.getAttribute("header") || "Tab " + (index + 1));
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", button.id);
        panel.setAttribute("tabindex", "0");
        list.appendChild(button);
        return button;
      });
      var choose = function (index) {
        selectTab(buttons, panels, index);
        panels.forEach(function (panel, i) { panel._crowdSelected = i === index; });
      };
      tabKeys(buttons, choose);
      if (buttons.length) { choose(selected); }
      this._choose = choose;
    }

    /** Show ``tab`` (a crowd-tab child, or its index). */
    select(tab) {
      var index = typeof tab === "number" ? tab : this.tabs().indexOf(tab);
      if (index >= 0 && this._choose) { this._choose(index); }
    }
  }

  class CrowdTab extends CrowdElement {}

  var DIALOG_CSS = [
    ":host { display: inline; }",
    "dialog { border: none; border-radius: 10px; padding: 0; width: min(48rem, 94vw); max-height: 88vh;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.35); color: #1b1f23; }",
    "dialog::backdrop { background: rgba(0,0,0,.45); }",
    ".top { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: .6rem 1rem;",
    "  border-bottom: 1px solid #d0d7de; position: sticky; top: 0; background: #fff; }",
    ".top h2 { margin: 0; font-size: 1.15rem; }",
    ".close { border: none; background: none; font-size: 1.5rem; line-height: 1; padding: 0 .25rem; color: inherit; }",
    ".content { padding: .75rem 1rem 1rem; }",
    "[role=tablist] { display: flex; flex-wrap: wrap; gap: .25rem; border-bottom: 1px solid #d0d7de; margin-bottom: .75rem; }",
    "[role=tab] { border: 1px solid #d0d7de; border-bottom: none; border-radius: 6px 6px 0 0; background: #f6f8fa;",
    "  color: inherit; margin-bottom: -1px; }",
    "[role=tab][aria-selected=true] { background: #fff; font-weight: 600; border-color: #0b5cad; border-top-width: 3px; }",
    "h3 { font-size: 1rem; margin: .5rem 0 .25rem; }",
    ".good { border-left: 4px solid #1a7f37; padding-left: .75rem; margin-bottom: .75rem; }",
    ".bad { border-left: 4px solid #b42318; padding-left: .75rem; }",
  ].join("\n");

  /** A native modal <dialog> opened by a link or a button (``link-text``, ``link-type``). */
  function dialogShell(host, root, title, defaultLinkText) {
    var linkType = (host.getAttribute("link-type") || "link").toLowerCase();
    var opener = h("button", {type: "button", class: linkType === "button" ? "" : "link", part: "trigger",
                              "aria-haspopup": "dialog"}, host.getAttribute("link-text") || defaultLinkText);
    var heading = h("h2", {id: "title"}, title);
    var close = h("button", {type: "button", class: "close", "aria-label": "Close"}, "\u00d7");
    var content = h("div", {class: "content"});
    var dialog = h("dialog", {"aria-labelledby": "title", part: "dialog"}, h("div", {class: "top"}, heading, close), content);
    opener.addEventListener("click", function () { host.open(); });
    close.addEventListener("click", function () { host.close(); });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { host.close(); } });
    root.appendChild(opener);
    root.appendChild(dialog);
    return {dialog: dialog, content: content, opener: opener};
  }

  class DialogElement extends CrowdElement {
    open() {
      if (this._dialog && !this._dialog.open) { this._dialog.showModal(); }
    }

    close() {
      if (this._dialog && this._dialog.open) {
        this._dialog.close();
        this._opener.focus();
      }
    }
  }

  /** crowd-modal: content in a dialog, opened by a link or button. */
  class CrowdModal extends DialogElement {
    build() {
      var root = shadow(this, "dialog", DIALOG_CSS);
      var parts = dialogShell(this, root, this.getAttribute("header") || this.getAttribute("link-text") || "Details",
                              "Click to open modal");
      parts.content.appendChild(h("slot"));
      this._dialog = parts.dialog;
      this._opener = parts.opener;
    }
  }

  /**
   * crowd-instructions: a dialog with three tabs, Summary (short-summary), Detailed Instructions
   * (detailed-instructions) and Examples (positive-example, negative-example).
   */
  class CrowdInstructions extends DialogElement {
    build() {
      var root = shadow(this, "dialog", DIALOG_CSS);
      var parts = dialogShell(this, root, "Instructions", "Click for instructions");
      var regions = {"short-summary": "summary", "detailed-instructions": "detailed", "positive-example": "good",
                     "negative-example": "bad"};
      var self = this;
      Array.prototype.forEach.call(this.children, function (child) {
        if (regions[child.localName]) { child.setAttribute("slot", regions[child.localName]); }
      });
      function has(tag) { return Boolean(self.querySelector(":scope > " + tag)); }
      var pages = [
        {title: "Summary", body: [h("slot", {name: "summary"})], shown: has("short-summary")},
        {title: "Detailed Instructions", body: [h("slot", {name: "detailed"})], shown: has("detailed-instructions")},
        {title: "Examples", body: [
          has("positive-example") ? h("div", {class: "good"}, h("h3", {}, "Good examples"), h("slot", {name: "good"})) : null,
          has("negative-example") ? h("div", {class: "bad"}, h("h3", {}, "Bad examples"), h("slot", {name: "bad"})) : null,
        ].filter(Boolean), shown: has("positive-example") || has("negative-example")},
      ].filter(function (page) { return page.shown; });
      var list = h("div", {role: "tablist", "aria-label": "Instructions"});
      var tabs = [];
      var panels = [];
      pages.forEach(function (page, index) {
        var tab = h("button", {type: "button", role: "tab", id: "tab-" + index, "aria-controls": "panel-" + index}, page.title);
        var panel = h("div", {role: "tabpanel", id: "panel-" + index, "aria-labelledby": "tab-" + index, tabindex: "0"});
        page.body.forEach(function (node) { panel.appendChild(node); });
        list.appendChild(tab);
        tabs.push(tab);
        panels.push(panel);
      });
      if (pages.length > 1) { parts.content.appendChild(list); }
      panels.forEach(function (panel) { parts.content.appendChild(panel); });
      if (tabs.length) {
        tabKeys(tabs, function (index) { selectTab(tabs, panels, index); });
        selectTab(tabs, panels, 0);
      }
      this._dialog = parts.dialog;
      this._opener = parts.opener;
    }
  }

  var TOAST_CSS = [
    ":host { display: contents; }",
    ".toast { position: fixed; left: 50%; bottom: 1.25rem; transform: translateX(-50%); max-width: min(36rem, 92vw);",
    "  background: #1b1f23; color: #fff; padding: .7rem 1rem; border-radius: 8px; box-shadow: 0 4px 14px rgba(0,0,0,.35);",
    "  z-index: 2147483000; }",
  ].join("\n");

  var openToast = null;

  /** crowd-toast: a short message at the bottom of the page; shown when ``opened``, for ``duration`` ms. */
  class CrowdToast extends CrowdElement {
    static get observedAttributes() { return ["opened"]; }

    attributeChangedCallback() {
      if (this._box) { this._sync(); }
    }

    build() {
      var root = shadow(this, "toast", TOAST_CSS);
      var box = h("div", {class: "toast", part: "toast", role: "status", "aria-live": "polite"});
      if (this.getAttribute("text")) { box.appendChild(doc.createTextNode(this.getAttribute("text"))); }
      box.appendChild(h("slot"));
      root.appendChild(box);
      this._box = box;
      this._sync();
    }

    get opened() { return this.hasAttribute("opened"); }
    set opened(value) { this.toggleAttribute("opened", Boolean(value)); }

    open() { this.opened = true; }
    show() { this.opened = true; }
    close() { this.opened = false; }
    toggle() { this.opened = !this.opened; }

    _sync() {
      var self = this;
      global.clearTimeout(this._timer);
      this._box.hidden = !this.opened;
      if (!this.opened) {
        if (openToast === this) { openToast = null; }
        return;
      }
      if (openToast && openToast !== this) { openToast.close(); }
      openToast = this;
      var duration = numberAttr(this, "duration", 3000);
      if (duration > 0) {
        this._timer = global.setTimeout(function () { self.close(); }, duration);
      }
    }
  }

  // --- Registration ----------------------------------------------------------------------------------------------------

  class CrowdFab extends CrowdIconButton {}

  var ELEMENTS = {
    "crowd-form": CrowdForm,
    "crowd-button": CrowdButton,
    "crowd-icon-button": CrowdIconButton,
    "crowd-fab": CrowdFab,
    "crowd-input": CrowdInput,
    "crowd-text-area": CrowdTextArea,
    "crowd-checkbox": CrowdCheckbox,
    "crowd-toggle-button": CrowdToggleButton,
    "crowd-radio-button": CrowdRadioButton,
    "crowd-radio-group": CrowdRadioGroup,
    "crowd-slider": CrowdSlider,
    "crowd-classifier": CrowdClassifier,
    "crowd-classifier-multi-select": CrowdClassifierMultiSelect,
    "crowd-image-classifier": CrowdImageClassifier,
    "crowd-image-classifier-multi-select": CrowdImageClassifierMultiSelect,
    "crowd-bounding-box": CrowdBoundingBox,
    "crowd-keypoint": CrowdKeypoint,
    "crowd-entity-annotation": CrowdEntityAnnotation,
    "crowd-alert": CrowdAlert,
    "crowd-badge": CrowdBadge,
    "crowd-card": CrowdCard,
    "crowd-tabs": CrowdTabs,
    "crowd-tab": CrowdTab,
    "crowd-modal": CrowdModal,
    "crowd-instructions": CrowdInstructions,
    "crowd-toast": CrowdToast,
    "short-instructions": ShortInstructions,
    "full-instructions": FullInstructions,
  };

  // AWS's crowd-entity-annotation carries its own form and Submit button: give it one when it stands alone.
  // This runs before the elements build (it is the first DOMContentLoaded listener when the script is in <head>).
  whenParsed(function () {
    Array.prototype.forEach.call(doc.querySelectorAll("crowd-entity-annotation"), function (widget) {
      if (!widget.closest("crowd-form")) {
        var form = doc.createElement("crowd-form");
        widget.parentNode.insertBefore(form, widget);
        form.appendChild(widget);
      }
    });
  });

  Object.keys(ELEMENTS).forEach(function (name) {
    if (!global.customElements.get(name)) { global.customElements.define(name, ELEMENTS[name]); }
  });

  whenParsed(function () {
    addDocumentStyles();
    // After every element has built (their builds are queued on the same event, before this timer fires).
    global.setTimeout(function () {
      doc.dispatchEvent(new global.CustomEvent("all-crowd-elements-ready", {bubbles: true}));
    }, 0);
  });
})(typeof window !== "undefined" ? window : this);
