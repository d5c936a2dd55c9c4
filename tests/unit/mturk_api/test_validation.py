"""Model-driven input validation, in AWS's ValidationException wording."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kempelen.core.errors import ValidationFailed
from kempelen.mturk_api import validation
from kempelen.mturk_api.validation import operation_names, output_shape, parse_timestamp, validate_input

HIT_ID = "3X7837UUADRXYCA1K7JAJLKC66DJ60"
ASSIGNMENT_ID = "3V76OXST9SAE3THKN85FUPK7730050"


def refusal(operation: str, params: dict[str, Any]) -> str:
    with pytest.raises(ValidationFailed) as info:
        validate_input(operation, params)
    assert info.value.wire_type == "ValidationException"
    assert info.value.http_status == 400
    return info.value.message


def create_hit(**overrides: Any) -> dict[str, Any]:
    params = {
        "Title": "Label images",
        "Description": "Pick the label that fits",
        "Reward": "0.50",
        "AssignmentDurationInSeconds": 600,
        "LifetimeInSeconds": 86400,
        "Question": "<ExternalQuestion/>",
    }
    params.update(overrides)
    return params


# --- Exact AWS wording --------------------------------------------------------------------------------------


def test_max_results_over_100() -> None:
    assert refusal("ListHITs", {"MaxResults": 101}) == (
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100"
    )


def test_max_results_below_1() -> None:
    assert refusal("ListHITs", {"MaxResults": 0}).endswith(
        "Member must have value greater than or equal to 1"
    )


def test_missing_requester_feedback() -> None:
    # The message oTree quotes from the real service for RejectAssignment without RequesterFeedback.
    assert refusal("RejectAssignment", {"AssignmentId": ASSIGNMENT_ID}) == (
        "1 validation error detected: Value null at 'requesterFeedback' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_json_null_counts_as_missing() -> None:
    message = refusal("RejectAssignment", {"AssignmentId": ASSIGNMENT_ID, "RequesterFeedback": None})
    assert "Value null at 'requesterFeedback'" in message
    validate_input("ListHITs", {"NextToken": None, "MaxResults": None})


def test_lowercase_assignment_id_breaks_the_pattern() -> None:
    # AWS lower-cases only the first letter of a member name: AssignmentId → assignmentId, HITId → hITId.
    assert refusal("GetAssignment", {"AssignmentId": "3v76oxst9sae3thkn85fupk7730050"}) == (
        "1 validation error detected: Value '3v76oxst9sae3thkn85fupk7730050' at 'assignmentId' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: ^[A-Z0-9]+$"
    )
    assert "at 'hITId'" in refusal("GetHIT", {"HITId": "abc"})


def test_trailing_newline_does_not_slip_past_the_pattern() -> None:
    assert "regular expression pattern" in refusal("GetHIT", {"HITId": HIT_ID + "\n"})


def test_bad_comparator_in_nested_requirement() -> None:
    params = create_hit(
        QualificationRequirements=[
            {
                "QualificationTypeId": "00000000000000000071",
                "Comparator": "EqualTo",
                "LocaleValues": [{"Country": "US"}],
            },
            {"QualificationTypeId": "000000000000000000L0", "Comparator": "AtLeast", "IntegerValues": [95]},
        ]
    )
    assert refusal("CreateHIT", params) == (
        "1 validation error detected: Value 'AtLeast' at 'qualificationRequirements.2.member.comparator' "
        "failed to satisfy constraint: Member must satisfy enum value set: [LessThan, LessThanOrEqualTo, "
        "GreaterThan, GreaterThanOrEqualTo, EqualTo, NotEqualTo, Exists, DoesNotExist, In, NotIn]"
    )


def test_nested_paths_go_through_list_members() -> None:
    params = create_hit(
        QualificationRequirements=[
            {
                "QualificationTypeId": "00000000000000000071",
                "Comparator": "In",
                "LocaleValues": [{"Country": "USA"}],
            }
        ]
    )
    assert refusal("CreateHIT", params) == (
        "1 validation error detected: Value 'USA' at "
        "'qualificationRequirements.1.member.localeValues.1.member.country' failed to satisfy constraint: "
        "Member must have length less than or equal to 2"
    )
    missing = refusal("CreateHIT", create_hit(QualificationRequirements=[{"Comparator": "Exists"}]))
    assert "Value null at 'qualificationRequirements.1.member.qualificationTypeId'" in missing


def test_title_has_no_length_limit_in_the_model_but_tokens_do() -> None:
    # The model gives Title no max (MTurk's 128-character limit is a business rule for the handlers), so the
    # length rule is checked on shapes that carry one.
    title = validation.input_shape("CreateHIT").members["Title"]  # type: ignore[union-attr]
    assert "max" not in title.metadata
    assert refusal("CreateHIT", create_hit(UniqueRequestToken="x" * 65)) == (
        "1 validation error detected: Value '" + "x" * 65 + "' at 'uniqueRequestToken' failed to satisfy "
        "constraint: Member must have length less than or equal to 64"
    )
    assert refusal("ListHITs", {"NextToken": "t" * 256}).endswith(
        "Member must have length less than or equal to 255"
    )
    assert refusal("ListHITs", {"NextToken": ""}).endswith(
        "Member must have length greater than or equal to 1"
    )


def test_several_errors_are_counted_and_joined() -> None:
    message = refusal(
        "ListAssignmentsForHIT", {"HITId": "bad id", "MaxResults": 500, "AssignmentStatuses": ["Done"]}
    )
    assert message == (
        "3 validation errors detected: "
        "Value 'bad id' at 'hITId' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "^[A-Z0-9]+$; "
        "Value '500' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100; "
        "Value 'Done' at 'assignmentStatuses.1.member' failed to satisfy constraint: Member must satisfy enum "
        "value set: [Submitted, Approved, Rejected]"
    )


def test_one_value_can_break_several_constraints() -> None:
    message = refusal("GetHIT", {"HITId": "a" * 65})
    assert message.startswith("2 validation errors detected: ")
    assert "regular expression pattern" in message and "length less than or equal to 64" in message


def test_message_order_follows_the_model_not_the_request() -> None:
    one = refusal("ListHITs", {"MaxResults": 500, "NextToken": ""})
    other = refusal("ListHITs", {"NextToken": "", "MaxResults": 500})
    assert one == other


# --- Types --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expire_at", [1420070400, 1420070400.5, 0, -1, "2015-01-01T00:00:00Z", "2015-01-01T00:00:00+02:00"]
)
def test_timestamps_accept_epoch_numbers_and_iso_strings(expire_at: Any) -> None:
    validate_input("UpdateExpirationForHIT", {"HITId": HIT_ID, "ExpireAt": expire_at})


@pytest.mark.parametrize("expire_at", [True, False, "tomorrow", "", "12:00", 1e20, 10**400, [1], {"at": 1}])
def test_timestamps_refuse_other_values(expire_at: Any) -> None:
    message = refusal("UpdateExpirationForHIT", {"HITId": HIT_ID, "ExpireAt": expire_at})
    assert message.endswith(
        "at 'expireAt' failed to satisfy constraint: Member must be a timestamp (epoch seconds, or an ISO-8601 string)"
    )


def test_parse_timestamp() -> None:
    utc = dt.UTC
    assert parse_timestamp(1420070400) == dt.datetime(2015, 1, 1, tzinfo=utc)
    assert parse_timestamp(1420070400.5) == dt.datetime(2015, 1, 1, 0, 0, 0, 500000, tzinfo=utc)
    assert parse_timestamp(-1.25) == dt.datetime(1969, 12, 31, 23, 59, 58, 750000, tzinfo=utc)
    assert parse_timestamp("2015-01-01T02:00:00+02:00") == dt.datetime(2015, 1, 1, tzinfo=utc)
    assert parse_timestamp("2015-01-01T00:00:00") == dt.datetime(2015, 1, 1, tzinfo=utc)
    with pytest.raises(TypeError):
        parse_timestamp(True)
    with pytest.raises(ValueError):
        parse_timestamp(float("nan"))


def test_booleans_are_not_integers() -> None:
    assert refusal("ListHITs", {"MaxResults": True}) == (
        "1 validation error detected: Value 'true' at 'maxResults' failed to satisfy constraint: "
        "Member must be a 32-bit integer"
    )


def test_integers_are_not_booleans() -> None:
    base = {"Name": "Skill", "Description": "d", "QualificationTypeStatus": "Active"}
    validate_input("CreateQualificationType", {**base, "AutoGranted": True})
    assert refusal("CreateQualificationType", {**base, "AutoGranted": 1}).endswith(
        "Value '1' at 'autoGranted' failed to satisfy constraint: Member must be a boolean"
    )
    assert "Member must be a boolean" in refusal("CreateQualificationType", {**base, "AutoGranted": "true"})


@pytest.mark.parametrize("value", ["10", 10.0, 2**31, -(2**31) - 1, [1]])
def test_integers_must_be_32_bit_json_integers(value: Any) -> None:
    assert "Member must be a 32-bit integer" in refusal("CreateHIT", create_hit(MaxAssignments=value))


def test_strings_lists_and_structures_are_type_checked() -> None:
    assert "Value '5' at 'reward' failed to satisfy constraint: Member must be a string" in refusal(
        "CreateHIT", create_hit(Reward=5)
    )
    assert (
        "at 'qualificationRequirements' failed to satisfy constraint: Member must be a list (JSON array)"
        in refusal("CreateHIT", create_hit(QualificationRequirements={"Comparator": "Exists"}))
    )
    assert (
        "at 'qualificationRequirements.1.member' failed to satisfy constraint: Member must be a structure"
        in refusal("CreateHIT", create_hit(QualificationRequirements=["Exists"]))
    )
    assert "Value null at 'workerIds.1.member'" in refusal(
        "NotifyWorkers", {"Subject": "s", "MessageText": "m", "WorkerIds": [None]}
    )


def test_unknown_members_are_refused() -> None:
    assert refusal("ListHITs", {"MaxResults": 10, "Status": "Assignable"}) == (
        "1 validation error detected: Value 'Assignable' at 'Status' failed to satisfy constraint: "
        "Unknown member; ListHITsRequest has members [NextToken, MaxResults]"
    )
    nested = refusal(
        "CreateHIT",
        create_hit(
            QualificationRequirements=[{"QualificationTypeId": "ABC", "Comparator": "Exists", "Bogus": 1}]
        ),
    )
    assert (
        "at 'qualificationRequirements.1.member.Bogus' failed to satisfy constraint: Unknown member" in nested
    )


def test_a_body_that_is_not_an_object() -> None:
    not_an_object: Any = []
    message = refusal("ListHITs", not_an_object)
    assert "Value '[]' at 'input' failed to satisfy constraint: Member must be a structure" in message


def test_valid_requests_pass() -> None:
    validate_input("GetAccountBalance", {})
    validate_input("ListHITs", {"MaxResults": 100, "NextToken": "abc"})
    validate_input("CreateHIT", create_hit(UniqueRequestToken="x" * 64, Keywords="a, b", MaxAssignments=3))
    validate_input("CreateWorkerBlock", {"WorkerId": "A2YUCJ28XANFOX", "Reason": "spam"})


def test_unknown_operation_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        validate_input("ListEverything", {})


# --- The model -----------------------------------------------------------------------------------------------


def test_operation_names() -> None:
    names = operation_names()
    assert len(names) == 39
    assert names == sorted(names)
    assert {"CreateHIT", "ListHITs", "ApproveAssignment", "NotifyWorkers"} <= set(names)


def test_output_shape() -> None:
    shape = output_shape("GetHIT")
    assert isinstance(shape, Shape)
    assert shape.name == "GetHITResponse"
    assert shape.members["HIT"].members["Expiration"].type_name == "timestamp"


# --- Every operation: complete valid inputs pass, and botocore's own client check agrees -------------------------

_SAMPLE_STRINGS = {
    "EntityId": "3X7837UUADRXYCA1K7JAJLKC66DJ60",
    "CustomerId": "A2YUCJ28XANFOX",
    "CurrencyAmount": "0.50",
    "CountryParameters": "US",
}


def sample(shape: Shape) -> Any:
    """A valid value for every member of ``shape``, built from the model alone."""
    kind = shape.type_name
    if kind == "structure":
        return {name: sample(member) for name, member in shape.members.items()}
    if kind == "list":
        return [sample(shape.member)]  # type: ignore[attr-defined]
    if kind == "string":
        if getattr(shape, "enum", None):
            return shape.enum[0]  # type: ignore[attr-defined]
        return _SAMPLE_STRINGS.get(shape.name, "x" * max(1, shape.metadata.get("min", 1)))
    if kind in ("integer", "long"):
        return shape.metadata.get("min", 1)
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1546300800.25
    raise AssertionError(kind)


@pytest.mark.parametrize("operation", operation_names())
def test_complete_valid_input_passes_for_every_operation(operation: str) -> None:
    shape = validation.input_shape(operation)
    assert shape is not None
    params = sample(shape)
    validate_input(operation, params)
    assert not ParamValidator().validate(params, shape).has_errors()


def test_botocore_client_check_is_weaker_than_the_server_needs() -> None:
    # Why Kempelen walks the model itself instead of relying on botocore.validate.ParamValidator: the client
    # check skips max, pattern and enum, takes True for an integer and for a timestamp, and accepts "12:00".
    shape = validation.input_shape("ListHITs")
    assert not ParamValidator().validate({"MaxResults": 101}, shape).has_errors()
    assert not ParamValidator().validate({"MaxResults": True}, shape).has_errors()
    expire = validation.input_shape("UpdateExpirationForHIT")
    for value in (True, "12:00"):
        assert not ParamValidator().validate({"HITId": "abc", "ExpireAt": value}, expire).has_errors()


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=12,
)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _member_dicts(operation: str) -> st.SearchStrategy[dict[str, Any]]:
    shape = validation.input_shape(operation)
    assert shape is not None
    names = [*shape.members, "Bogus"]
    good = sample(shape)
    values = {name: st.one_of(st.just(good.get(name)), _json) for name in names}
    return st.fixed_dictionaries({}, optional=values)


@pytest.mark.parametrize(
    "operation", ["CreateHIT", "ListAssignmentsForHIT", "UpdateExpirationForHIT", "NotifyWorkers"]
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_json_is_refused_cleanly_or_accepted(operation: str, data: st.DataObject) -> None:
    """Never anything but ValidationFailed; and whatever botocore's client check refuses, Kempelen refuses."""
    params = data.draw(_member_dicts(operation))
    shape = validation.input_shape(operation)
    try:
        validate_input(operation, params)
    except ValidationFailed as exc:
        assert re.match(r"^\d+ validation errors? detected: Value ", exc.message)
        return
    try:
        # JSON null is "absent" on the server (as in AWS's services); botocore never sends one.
        client_report = ParamValidator().validate(_without_nulls(params), shape)
    except RuntimeError:  # botocore's timestamp check crashes on some huge epoch numbers
        return
    assert not client_report.has_errors(), client_report.generate_report()
