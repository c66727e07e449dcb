"""One tree of errors. Every leaf names the event; `code` is a stable machine-readable reason."""

from __future__ import annotations


class MedSettleError(Exception):
    """Base class for every error raised by medsettle."""

    code = "error"


class InvalidInput(MedSettleError):
    """An input value is missing or malformed; `field` names it."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class InvalidCode(InvalidInput):
    """A code does not have its national format (or fails its check character)."""

    code = "invalid_code"


class MoneyTypeError(InvalidInput):
    """An amount is not integer fen, or a decimal string cannot be read exactly."""

    code = "invalid_amount"


class PolicyError(MedSettleError):
    """A policy parameter is missing or malformed."""

    code = "policy_error"


class PolicyFileError(PolicyError):
    """A policy document breaks a load rule; the message names the file and the key."""

    code = "policy_file_error"

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        super().__init__(f"{source}: {key}: {message}")


class PolicyInvalid(PolicyError):
    """A policy document breaks load rules; `errors` lists every one, each naming its key."""

    code = "policy_invalid"

    def __init__(self, errors: list[PolicyFileError]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}" if errors else "invalid policy document")


class PolicyNotInForce(PolicyError):
    """No parameter set is in force for the region, scheme and date."""

    code = "policy_not_in_force"


class SettlementError(MedSettleError):
    """A settlement precondition (S0) failed; nothing was changed."""

    code = "settlement_error"


class NotFiled(SettlementError):
    """No filing matches the visit and it is not an emergency (offer 补办 or manual reimbursement)."""

    code = "not_filed"


class InstitutionSuspended(SettlementError):
    """The treating institution is suspended from cross-province direct settlement."""

    code = "institution_suspended"


class SettledElsewhereToday(SettlementError):
    """The person was already settled in another province today (R05 hard stop, 冒名 risk)."""

    code = "settled_elsewhere_today"


class ChronicDiseaseNotCovered(SettlementError):
    """The insured place does not list the chronic disease (门诊慢特病) of the visit."""

    code = "chronic_not_covered"


class ChronicNotCertified(SettlementError):
    """The person is not certified at the insured place for the chronic disease."""

    code = "chronic_not_certified"


class ChronicNotOpened(SettlementError):
    """The treating institution has not opened the chronic disease for cross-province settlement."""

    code = "chronic_not_opened"


class UnsupportedScheme(SettlementError):
    """The person's scheme or category (e.g. 离休) is not settled by MedSettle."""

    code = "unsupported_scheme"


class ReversalError(MedSettleError):
    """A reversal would not restore the accumulators (e.g. it was already reversed)."""

    code = "reversal_error"


class FilingError(MedSettleError):
    """A filing (备案) request breaks a filing rule."""

    code = "filing_error"


class FilingConflict(FilingError):
    """The person already has an active (approved or pending) long-term filing."""

    code = "filing_conflict"


class FilingLocked(FilingError):
    """The filing cannot be changed or cancelled yet (holding period or an open inpatient stay)."""

    code = "filing_locked"


class BackdateTooFar(FilingError):
    """A 补办 filing would start earlier than the back-dating limit allows."""

    code = "backdate_too_far"


class CommitmentBarred(FilingError):
    """The person is barred from the commitment route (承诺制) after a false commitment."""

    code = "commitment_barred"


class InsuranceInactive(FilingError):
    """The person's insurance is not active, so no filing can be made."""

    code = "insurance_inactive"


class ProxyNotVerified(FilingError):
    """A proxy filer (亲情代办) has not passed face recognition or consent is not recorded."""

    code = "proxy_not_verified"


class FilingStateError(FilingError):
    """The filing's status does not allow the requested transition."""

    code = "filing_state_error"


class NotFound(MedSettleError):
    """A person, visit, settlement or filing that the message names does not exist."""

    code = "not_found"

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class StateConflict(MedSettleError):
    """The message does not fit the current state (e.g. settling a visit twice); `field`, when
    given, names the input that conflicts."""

    code = "state_conflict"
    field: str | None = None  # a subclass may name its field once for all

    def __init__(self, message: str, field: str | None = None) -> None:
        if field is not None:
            self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class AlreadyAnswered(StateConflict):
    """Another attempt of the same message finished first; its stored answer stands."""

    code = "already_answered"

    def __init__(self, message: str, stored: object = None) -> None:
        self.stored = stored  # the stored answer's record, when at hand
        super().__init__(message)


class MsgidReused(MedSettleError):
    """A msgid already processed arrives again with a different body."""

    code = "msgid_reused"


class PeerUnavailable(MedSettleError):
    """Another node did not answer in time or could not be reached; nothing was settled here."""

    code = "peer_unavailable"


class PeerTimedOut(PeerUnavailable):
    """Another node did not answer within the time allowed (it may still have acted)."""


class PeerUnreachable(PeerUnavailable):
    """Another node could not be reached, or dropped the connection before answering."""


class PeerBadAnswer(PeerUnavailable):
    """Another node answered, but not with a JSON object."""


class RateLimited(MedSettleError):
    """The sender sent more messages than its rate limit allows; it may retry later."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class AuthenticationFailed(MedSettleError):
    """A request is not authenticated: a node's signature is missing or wrong, or an operator's
    token is missing, malformed, unknown, disabled or not accepted by this node."""

    code = "authentication_failed"


class Forbidden(MedSettleError):
    """The caller is who it says it is, but what it asks for belongs to someone else."""

    code = "forbidden"


class OwnProposal(Forbidden):
    """An operator may not approve a change they proposed themselves (four eyes, 双人复核)."""

    code = "own_proposal"


class LedgerError(MedSettleError):
    """A ledger invariant would be broken."""

    code = "ledger_error"


class UnbalancedEntry(LedgerError):
    """The debits and credits of a journal entry do not sum to zero."""

    code = "unbalanced_entry"
