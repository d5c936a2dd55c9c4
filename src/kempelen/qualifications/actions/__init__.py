"""The only code that changes qualification state: custom types, grants, and workers' requests and tests.

Every action is one transaction, locks the rows it checks (``select_for_update``; on SQLite the database write
lock serialises writers), writes an audit row, and queues emails to workers in the same transaction. Locks are
taken in one order everywhere: qualification type, then worker grant or request rows.

Tenancy: a requester only touches its own, non-deleted types in the environment it calls from, and the grants
and requests of those types. Another requester's id, an id from the other environment and a deleted type's id
all give exactly the error an unknown id gives (``QualificationTypeDoesNotExist``,
``QualificationRequestDoesNotExist``). A worker only touches its own requests.

Decisions where MTurk's record is silent (each visible to users):

- **Deleting a type** marks it deleted at once; its name is reusable **immediately** (MTurk took up to 48 hours;
  Kempelen is consistent at once). Pending requests *and* tests in progress are rejected with the reason
  :data:`DELETED_REASON` (no email: the worker's pages show it). Grants are kept, so HITs and HIT types that
  already require the type keep filtering exactly as before; new HITs cannot require it. HIT types are not
  deleted. For every API operation the deleted type behaves as an unknown one.
- **Values.** ``AssociateQualificationWithWorker`` and ``AcceptQualificationRequest`` without ``IntegerValue``
  grant the value 1 (oTree reports that MTurk refused a missing IntegerValue; 1 is MTurk's AutoGrantedValue
  default and what "has the qualification" requirements need). An auto-granted type without
  ``AutoGrantedValue`` grants 1.
- **Notifications.** A grant by Associate emails the worker unless ``SendNotification`` is false; accepting or
  rejecting a request and revoking a grant always email the worker (the reason, if any, included).
- **Revoking a revoked grant** succeeds and changes nothing (clients revoke in loops); revoking a grant that
  never existed is ``QualificationDoesNotExist``.
- **TestDurationInSeconds** is 1 to 31,536,000 (a year, the longest duration MTurk allowed anywhere). Given
  without any Test it is ignored, as is ``AnswerKey=""`` without a test. ``RetryDelayInSeconds`` must be 0 or
  more (0: retry at once).
- **Name** is 1 to 200 characters, compared exactly (case matters), unique per requester and environment among
  non-deleted types.
- **Requests.** With no ``RetryDelayInSeconds`` a worker may request a type once ever: a rejected, lapsed or
  granted request all count. With it, a new request is allowed once that many seconds have passed since the last
  request, even to retake a test the worker already passed (as MTurk allowed), but never while a request of the
  worker's is still pending or its test still running. A worker who already holds the qualification (granted
  directly) may not request a type that allows no retries. Inactive, deleted and system types cannot be
  requested.
- **Tests.** A request with a test stores the test as it was when the worker started; if the requester changes
  the Test meanwhile, the submitted answers are not scored with the new AnswerKey but wait for the requester
  (pending). A test submitted after its deadline is refused and the request lapses (even before the job runner
  gets to it). Scoring with an AnswerKey grants the computed value whatever it is, even a low one: HIT
  requirements filter on the value, as on MTurk.
"""

from .common import (
    DEFAULT_VALUE,
    DELETED_REASON,
    LAPSE_BATCH,
    MAX_DESCRIPTION,
    MAX_KEYWORDS,
    MAX_NAME,
    MAX_REASON,
    MAX_TEST_DURATION,
    RUNNER,
    UNSET,
    InvalidQualificationRequestState,
    QualificationRetryNotAllowed,
    QualificationTestAnswersInvalid,
    QualificationTestExpired,
    QualificationTypeNotRequestable,
    auto_granted_value,
    state_name,
)
from .grants import (
    accept_qualification_request,
    associate_qualification_with_worker,
    disassociate_qualification_from_worker,
    reject_qualification_request,
)
from .requests import lapse_expired_tests, request_qualification, submit_qualification_test
from .types import create_qualification_type, delete_qualification_type, update_qualification_type

__all__ = [
    "DEFAULT_VALUE",
    "DELETED_REASON",
    "LAPSE_BATCH",
    "MAX_DESCRIPTION",
    "MAX_KEYWORDS",
    "MAX_NAME",
    "MAX_REASON",
    "MAX_TEST_DURATION",
    "RUNNER",
    "UNSET",
    "InvalidQualificationRequestState",
    "QualificationRetryNotAllowed",
    "QualificationTestAnswersInvalid",
    "QualificationTestExpired",
    "QualificationTypeNotRequestable",
    "accept_qualification_request",
    "associate_qualification_with_worker",
    "auto_granted_value",
    "create_qualification_type",
    "delete_qualification_type",
    "disassociate_qualification_from_worker",
    "lapse_expired_tests",
    "reject_qualification_request",
    "request_qualification",
    "state_name",
    "submit_qualification_test",
    "update_qualification_type",
]
