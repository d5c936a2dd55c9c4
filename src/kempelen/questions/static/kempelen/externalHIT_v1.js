/*
 * Kempelen's externalHIT_v1.js: the helpers HIT pages load from MTurk's
 * https://s3.amazonaws.com/mturk-public/externalHIT_v1.js, reimplemented from their documented behaviour.
 *
 *   turkGetParam(name, defaultValue)  a query-string parameter of this page, URL-decoded, or defaultValue.
 *   turkGetSubmitToHost()             where answers go: the turkSubmitTo parameter, decoded, without a
 *                                     trailing slash; this page's own scheme and host when it is absent.
 *   turkSetAssignmentID(formName, buttonName)
 *                                     copies assignmentId into the hidden #assignmentId input (added to the
 *                                     form if missing), disables the submit button in preview, and points
 *                                     the form at turkGetSubmitToHost() + "/mturk/externalSubmit".
 *                                     Safe to call before or after the page has finished loading.
 */
(function (global) {
  "use strict";

  var PREVIEW_ASSIGNMENT_ID = "ASSIGNMENT_ID_NOT_AVAILABLE";
  var PREVIEW_BUTTON_TEXT = "You must ACCEPT the HIT before you can submit the results.";
  var SUBMIT_PATH = "/mturk/externalSubmit";

  function decode(text) {
    try {
      return decodeURIComponent(text.replace(/\+/g, " "));
    } catch (error) {
      return text; // a stray "%" is kept as written rather than breaking the page
    }
  }

  function turkGetParam(name, defaultValue) {
    var query = (global.location.search || "").replace(/^\?/, "");
    var pairs = query ? query.split("&") : [];
    for (var i = 0; i < pairs.length; i++) {
      var separator = pairs[i].indexOf("=");
      var key = separator < 0 ? pairs[i] : pairs[i].slice(0, separator);
      if (decode(key) === name) {
        return separator < 0 ? "" : decode(pairs[i].slice(separator + 1));
      }
    }
    return defaultValue;
  }

  function ownHost() {
    // location.origin is "null" inside a sandboxed frame; protocol and host are still readable.
    return global.location.protocol + "//" + global.location.host;
  }

  function turkGetSubmitToHost() {
    return String(turkGetParam("turkSubmitTo", ownHost())).replace(/\/+$/, "");
  }

  function findForm(formName) {
    var doc = global.document;
    return doc.getElementById(formName) || (doc.forms && doc.forms[formName]) || null;
  }

  function fillAssignmentId(form, assignmentId) {
    var doc = global.document;
    var input = doc.getElementById("assignmentId");
    if (!input && form) {
      input = doc.createElement("input");
      input.type = "hidden";
      input.id = "assignmentId";
      input.name = "assignmentId";
      form.appendChild(input);
    }
    if (input) {
      input.value = assignmentId;
    }
  }

  function disableInPreview(buttonName) {
    var button = global.document.getElementById(buttonName);
    if (!button) {
      return;
    }
    button.disabled = true;
    if (button.tagName === "INPUT") {
      button.value = PREVIEW_BUTTON_TEXT;
    } else {
      button.textContent = PREVIEW_BUTTON_TEXT;
    }
  }

  function applyAssignment(formName, buttonName) {
    var assignmentId = turkGetParam("assignmentId", "");
    var form = findForm(formName);
    fillAssignmentId(form, assignmentId);
    if (assignmentId === PREVIEW_ASSIGNMENT_ID) {
      disableInPreview(buttonName);
    }
    if (form) {
      form.action = turkGetSubmitToHost() + SUBMIT_PATH;
    }
  }

  function turkSetAssignmentID(formName, buttonName) {
    formName = formName || "mturk_form";
    buttonName = buttonName || "submitButton";
    var doc = global.document;
    if (doc.readyState === "loading") {
      // Called from a <script> in <head>: the form does not exist yet.
      doc.addEventListener("DOMContentLoaded", function () {
        applyAssignment(formName, buttonName);
      });
    } else {
      applyAssignment(formName, buttonName);
    }
  }

  global.turkGetParam = turkGetParam;
  global.turkGetSubmitToHost = turkGetSubmitToHost;
  global.turkSetAssignmentID = turkSetAssignmentID;
})(typeof window !== "undefined" ? window : this);
