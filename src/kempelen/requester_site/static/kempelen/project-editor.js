// The layout editor: finds the layout's ${variables} as the requester types, keeps one sample input per
// variable, and refreshes the sandboxed preview frame without saving. The preview is posted straight into the
// frame (a form targeting it), so the requester's HTML is only ever a document of the sandboxed frame, served
// by Kempelen under a CSP sandbox; it never touches this page. Without JavaScript the page's own Preview
// button does the same through a round trip.
(function () {
  "use strict";
  var editor = document.getElementById("layout-editor");
  if (!editor) { return; }
  var source = document.getElementById("id_html");
  var heightInput = document.getElementById("id_frame_height");
  var frame = document.getElementById(editor.getAttribute("data-frame"));
  var list = document.getElementById("variable-list");
  var summary = document.getElementById("variable-summary");
  var samples = document.getElementById("sample-fields");
  var status = document.getElementById("preview-status");
  var previewButton = document.getElementById("preview-button");
  var action = editor.getAttribute("data-preview-action");
  // The same rule as the server (kempelen.questions.layouts.PLACEHOLDER).
  var PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  var SAMPLE_PREFIX = "sample-";
  var remembered = {};  // sample values of variables removed from the layout, restored if they come back
  var timer = null;

  function variablesOf(text) {
    var seen = {}, names = [], match;
    PLACEHOLDER.lastIndex = 0;
    while ((match = PLACEHOLDER.exec(text)) !== null) {
      if (!Object.prototype.hasOwnProperty.call(seen, match[1])) {
        seen[match[1]] = true;
        names.push(match[1]);
      }
    }
    return names;
  }

  function sampleInput(name) {
    return document.getElementById("id_" + SAMPLE_PREFIX + name);
  }

  function makeSampleField(name) {
    var wrapper = document.createElement("div");
    wrapper.className = "field sample";
    var label = document.createElement("label");
    var input = document.createElement("input");
    input.type = "text";
    input.name = SAMPLE_PREFIX + name;
    input.id = "id_" + SAMPLE_PREFIX + name;
    input.autocomplete = "off";
    input.setAttribute("data-variable", name);
    input.value = Object.prototype.hasOwnProperty.call(remembered, name) ? remembered[name] : "";
    label.htmlFor = input.id;
    label.textContent = name;
    wrapper.appendChild(label);
    wrapper.appendChild(input);
    return wrapper;
  }

  function syncVariables() {
    var names = variablesOf(source.value);
    var wanted = {};
    names.forEach(function (name) { wanted[name] = true; });
    // Drop the inputs of variables no longer used (remembering their values), then lay out the rest in order.
    Array.prototype.slice.call(samples.querySelectorAll("input[data-variable]")).forEach(function (input) {
      var name = input.getAttribute("data-variable");
      if (!wanted[name]) {
        remembered[name] = input.value;
        var field = input.closest(".field");
        if (field) { field.parentNode.removeChild(field); }
      }
    });
    names.forEach(function (name) {
      var input = sampleInput(name);
      var field = input ? input.closest(".field") : makeSampleField(name);
      samples.appendChild(field);  // appending an existing node moves it: the order follows the layout
    });
    list.textContent = "";
    names.forEach(function (name) {
      var item = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = name;
      item.appendChild(code);
      list.appendChild(item);
    });
    summary.textContent = names.length === 0 ? "The layout has no variables." :
      "The layout uses " + names.length + " variable" + (names.length === 1 ? "" : "s") + ":";
  }

  function resizeFrame() {
    var height = parseInt(heightInput && heightInput.value, 10);
    frame.setAttribute("height", height > 0 ? String(height) : "600");
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function refreshPreview() {
    timer = null;
    var form = document.createElement("form");
    form.method = "post";
    form.action = action;
    form.target = frame.name;
    form.hidden = true;
    form.appendChild(hidden("csrfmiddlewaretoken", editor.querySelector("input[name=csrfmiddlewaretoken]").value));
    form.appendChild(hidden("html", source.value));
    Array.prototype.slice.call(samples.querySelectorAll("input[data-variable]")).forEach(function (input) {
      form.appendChild(hidden(input.name, input.value));
    });
    document.body.appendChild(form);
    form.submit();
    document.body.removeChild(form);
    if (status) { status.textContent = "Your changes, not saved yet, as a worker sees them before accepting."; }
  }

  function schedule() {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = window.setTimeout(refreshPreview, 500);
  }

  source.addEventListener("input", function () { syncVariables(); schedule(); });
  samples.addEventListener("input", schedule);
  if (heightInput) { heightInput.addEventListener("input", resizeFrame); }
  if (previewButton) {
    previewButton.addEventListener("click", function (event) {
      event.preventDefault();
      syncVariables();
      if (timer !== null) { window.clearTimeout(timer); }
      refreshPreview();
    });
  }
  editor.setAttribute("data-live", "on");
})();
