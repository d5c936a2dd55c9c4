"""externalHIT_v1.js, run under Node with a small stand-in for the browser's DOM."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import kempelen.questions

SCRIPT = Path(kempelen.questions.__file__).parent / "static" / "kempelen" / "externalHIT_v1.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

# A page with form#mturk_form and a submit button; the script runs with the given URL and document state.
HARNESS = r"""
const vm = require("vm");
const [source, href, readyState, withInput, button, formName, buttonName] = JSON.parse(process.argv[1]);
const url = new URL(href);
const listeners = [];
function element(tag, props) { return Object.assign({tagName: tag.toUpperCase(), children: [],
  appendChild(child) { this.children.push(child); byId[child.id] = child; }}, props); }
const form = element("form", {id: "mturk_form", name: "mturk_form", action: "https://www.mturk.com/mturk/externalSubmit"});
const byId = {mturk_form: form};
if (withInput) byId.assignmentId = element("input", {id: "assignmentId", type: "hidden", value: ""});
if (button === "input") byId.submitButton = element("input", {id: "submitButton", type: "submit", value: "Submit", disabled: false});
if (button === "button") byId.submitButton = element("button", {id: "submitButton", textContent: "Submit", disabled: false});
const document = {
  readyState, forms: {mturk_form: form},
  getElementById: (id) => byId[id] || null,
  createElement: (tag) => element(tag, {}),
  addEventListener: (name, fn) => listeners.push([name, fn]),
};
const window = {location: {href, search: url.search, protocol: url.protocol, host: url.host, origin: "null"}, document};
vm.createContext(window);
vm.runInContext(source, window);
if (formName === null) window.turkSetAssignmentID(); else window.turkSetAssignmentID(formName, buttonName);
const before = {action: form.action, assignmentId: byId.assignmentId ? byId.assignmentId.value : null};
listeners.filter(([name]) => name === "DOMContentLoaded").forEach(([, fn]) => fn());
const submit = byId.submitButton || {};
console.log(JSON.stringify({
  before,
  action: form.action,
  assignmentId: byId.assignmentId ? byId.assignmentId.value : null,
  addedInputs: form.children.map((c) => [c.type, c.name, c.id]),
  disabled: submit.disabled, label: submit.tagName === "INPUT" ? submit.value : submit.textContent,
  host: window.turkGetSubmitToHost(),
  workerId: window.turkGetParam("workerId", "none"),
  hitId: window.turkGetParam("hitId", "none"),
}));
"""

PREVIEW_TEXT = "You must ACCEPT the HIT before you can submit the results."


def run(
    query: str,
    *,
    ready_state: str = "complete",
    with_input: bool = True,
    button: str = "input",
    form_name: str | None = None,
    button_name: str | None = None,
    origin: str = "https://hits.kempelen.example",
) -> dict:
    arguments = [SCRIPT.read_text(), f"{origin}/task/1{query}", ready_state, with_input, button, form_name,
                 button_name]
    result = subprocess.run([str(NODE), "-e", HARNESS, json.dumps(arguments)], capture_output=True, text=True,
                            check=True, timeout=30)
    return json.loads(result.stdout)


ACCEPTED = "?assignmentId=3XYZ&hitId=3HIT&turkSubmitTo=https%3A%2F%2Fwork.kempelen.example&workerId=AW1"


def test_accepted_assignment_fills_the_id_and_points_the_form_at_external_submit():
    page = run(ACCEPTED)
    assert page["assignmentId"] == "3XYZ"
    assert page["action"] == "https://work.kempelen.example/mturk/externalSubmit"
    assert page["disabled"] is False and page["label"] == "Submit"


def test_preview_disables_the_submit_button_with_mturks_text():
    page = run("?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=3HIT&turkSubmitTo=https%3A%2F%2Fwork.kempelen.example")
    assert page["disabled"] is True and page["label"] == PREVIEW_TEXT
    assert page["workerId"] == "none"


def test_preview_relabels_a_button_element_through_its_text():
    page = run("?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE", button="button")
    assert page["disabled"] is True and page["label"] == PREVIEW_TEXT


def test_submit_host_loses_its_trailing_slash():
    page = run("?assignmentId=A&turkSubmitTo=https://www.mturk.com/")
    assert page["host"] == "https://www.mturk.com"
    assert page["action"] == "https://www.mturk.com/mturk/externalSubmit"


def test_submit_host_defaults_to_the_pages_own_scheme_and_host():
    page = run("?assignmentId=A")
    assert page["host"] == "https://hits.kempelen.example"


def test_a_missing_assignment_id_input_is_created_as_a_hidden_field():
    page = run(ACCEPTED, with_input=False)
    assert page["addedInputs"] == [["hidden", "assignmentId", "assignmentId"]]
    assert page["assignmentId"] == "3XYZ"


def test_called_before_the_page_has_loaded_it_waits_for_dom_content_loaded():
    page = run(ACCEPTED, ready_state="loading")
    assert page["before"] == {"action": "https://www.mturk.com/mturk/externalSubmit", "assignmentId": ""}
    assert page["assignmentId"] == "3XYZ"
    assert page["action"] == "https://work.kempelen.example/mturk/externalSubmit"


def test_form_and_button_names_can_be_given():
    page = run("?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE", form_name="mturk_form", button_name="submitButton")
    assert page["disabled"] is True


def test_get_param_decodes_values_and_falls_back_to_the_default():
    page = run("?assignmentId=A&hitId=3H%20IT")
    assert page["hitId"] == "3H IT"
    assert page["workerId"] == "none"
