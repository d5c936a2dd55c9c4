"""The one error hierarchy: every refusal Kempelen makes is a KempelenError.

Each error carries MTurk's TurkErrorCode (where MTurk had one) and a message in MTurk's wording, so that
clients which match on message substrings ("does not exist", "status of: Submitted") keep working.
The API turns these into RequestError / ServiceFault / ValidationException bodies; pages show the message.
"""

from __future__ import annotations


class KempelenError(Exception):
    """A request Kempelen refuses. ``code`` is the TurkErrorCode without the AWS.MechanicalTurk prefix."""

    code = "RequestError"
    #: ``__type`` of the API error body.
    wire_type = "RequestError"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def turk_error_code(self) -> str:
        return self.code if self.code.startswith("AWS.") or "." in self.code else f"AWS.MechanicalTurk.{self.code}"

    def __str__(self) -> str:
        return self.message


class ValidationFailed(KempelenError):
    """Input that breaks a model constraint (required, type, length, pattern, enum): AWS ValidationException."""

    code = "ValidationException"
    wire_type = "ValidationException"


class InvalidParameter(KempelenError):
    """Input that is well-typed but not acceptable (a business-rule limit)."""

    code = "InvalidParameterValue"


class DoesNotExist(KempelenError):
    code = "DoesNotExist"


class HITDoesNotExist(DoesNotExist):
    code = "HITDoesNotExist"

    def __init__(self, hit_id: str) -> None:
        super().__init__(f"Hit {hit_id} does not exist.")


class HITTypeDoesNotExist(DoesNotExist):
    code = "HITTypeDoesNotExist"

    def __init__(self, hit_type_id: str) -> None:
        super().__init__(f"HITType {hit_type_id} does not exist.")


class AssignmentDoesNotExist(DoesNotExist):
    code = "AssignmentDoesNotExist"

    def __init__(self, assignment_id: str) -> None:
        super().__init__(f"Assignment {assignment_id} does not exist.")


class QualificationTypeDoesNotExist(DoesNotExist):
    code = "QualificationTypeDoesNotExist"

    def __init__(self, qualification_type_id: str) -> None:
        super().__init__(f"QualificationType {qualification_type_id} does not exist.")


class QualificationDoesNotExist(DoesNotExist):
    code = "QualificationDoesNotExist"

    def __init__(self) -> None:
        super().__init__("You requested a Qualification that does not exist.")


class QualificationRequestDoesNotExist(DoesNotExist):
    code = "QualificationRequestDoesNotExist"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"QualificationRequest {request_id} does not exist.")


class WorkerDoesNotExist(DoesNotExist):
    code = "WorkerDoesNotExist"

    def __init__(self, worker_id: str) -> None:
        super().__init__(f"Worker {worker_id} does not exist.")


class HITLayoutDoesNotExist(DoesNotExist):
    code = "HITLayoutDoesNotExist"

    def __init__(self, layout_id: str) -> None:
        super().__init__(f"HITLayout {layout_id} does not exist.")


class InvalidAssignmentState(KempelenError):
    code = "InvalidAssignmentState"

    def __init__(self, allowed: str, current: str | None = None) -> None:
        prefix = f"This assignment is currently in the state '{current}'. " if current else ""
        super().__init__(f"{prefix}This operation can be called with a status of: {allowed}")


class DeadlinePassed(InvalidAssignmentState):
    """A worker's submission after the assignment's deadline (the assignment was abandoned)."""

    def __init__(self) -> None:
        KempelenError.__init__(
            self,
            "The time allotted for this assignment ran out before it was submitted, so the HIT went back to "
            "other workers. Nothing was saved.",
        )


class InvalidHITState(KempelenError):
    code = "InvalidHITState"

    def __init__(self, current: str, allowed: str) -> None:
        super().__init__(
            f"This HIT is currently in the state '{current}'. This operation can be called with a status of: {allowed}"
        )


class InvalidQualificationState(KempelenError):
    code = "InvalidQualificationState"


class PermissionDenied(KempelenError):
    code = "PermissionDenied"

    def __init__(self, message: str = "This user is not authorized to perform the requested operation.") -> None:
        super().__init__(message)


class InsufficientFunds(KempelenError):
    code = "InsufficientFunds"

    def __init__(self) -> None:
        super().__init__(
            "This Requester has insufficient funds in their account to complete this transaction. "
            "Please add funds to your Kempelen balance."
        )


class HitAlreadyExists(KempelenError):
    code = "HitAlreadyExists"

    def __init__(self, token: str, hit_id: str) -> None:
        super().__init__(
            f"The HIT with ID \"{hit_id}\" already exists for the UniqueRequestToken \"{token}\"."
        )
        self.hit_id = hit_id


class DuplicateRequest(KempelenError):
    code = "DuplicateRequest"

    def __init__(self, token: str) -> None:
        super().__init__(f'The idempotency token "{token}" has already been processed.')


class QualificationTypeAlreadyExists(KempelenError):
    code = "QualificationTypeAlreadyExists"

    def __init__(self) -> None:
        super().__init__(
            "You have already created a QualificationType with this name. A QualificationType's name must be "
            "unique among all of the QualificationTypes created by the same user."
        )


class InvalidMaximumAssignmentsIncrease(KempelenError):
    code = "InvalidMaximumAssignmentsIncrease"


class HITTooOldForExtension(KempelenError):
    code = "HITTooOldForExtension"


class InvalidQuestion(KempelenError):
    """Question, Test or AnswerKey XML that is malformed or not of a known schema."""

    code = "XMLParseError"


class NotQualified(KempelenError):
    """A worker fails a qualification requirement guarding the action."""

    code = "QualificationRequirementNotMet"


class Blocked(KempelenError):
    code = "WorkerBlocked"


class NoAssignmentAvailable(KempelenError):
    code = "NoAssignmentAvailable"


class ServiceFault(KempelenError):
    """A failure on Kempelen's side; clients retry it."""

    code = "ServiceFault"
    wire_type = "ServiceFault"
    http_status = 500
