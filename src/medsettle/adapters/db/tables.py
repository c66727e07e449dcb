"""The schema of a province node's database and of the hub's database (SQLAlchemy Core).

Amounts are BIGINT fen; ratios and prices are decimal strings; JSON columns hold small documents
(accumulator deltas, person snapshots). Each node owns its own database (architecture.md §1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
)

from medsettle.adapters.db.crypto import Sealed, SealedJSON, certno_lookup_default


class UTCDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a stored moment must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


AMOUNT_COLUMNS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                  "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "hifmi_pay",
                  "hifob_pay", "cvlserv_pay", "maf_pay", "fund_pay_sumamt", "psn_part_amt",
                  "acct_pay", "psn_cash_pay")


def _amounts() -> list[Column[int]]:
    return [Column(name, BigInteger, nullable=False, default=0) for name in AMOUNT_COLUMNS]


province = MetaData()

persons = Table(
    "persons", province,
    Column("psn_no", String(30), primary_key=True),
    Column("certno", Sealed(), nullable=False),  # sealed (adapters/db/crypto.py)
    Column("certno_hmac", String(64), nullable=False, unique=True,  # found by ID number
           default=certno_lookup_default),
    Column("psn_name", Sealed(), nullable=False),
    Column("gend", String(1), nullable=False),
    Column("brdy", Date, nullable=False),
    Column("insu_admdvs", String(6), nullable=False),
    Column("insutype", String(3), nullable=False),
    Column("psn_type", String(4), nullable=False),
    Column("cvlserv", Boolean, nullable=False, default=False),
    Column("maf_category", String(20)),
    Column("chronic_certified", JSON, nullable=False, default=list),
    Column("card_no", String(9), unique=True),
    Column("card_sn", String(32)),
    Column("evoucher", String(32), unique=True),
    Column("insurance_active", Boolean, nullable=False, default=True),
    Column("emp_name", String(100), nullable=False, default=""),
    Column("commitment_barred_until", Date),
    Column("direct_settlement_barred", Boolean, nullable=False, default=False),
    Column("contribution_tier", String(20)),  # 缴费档次, e.g. high; NULL: the plain tier
)

accumulators = Table(
    "accumulators", province,
    Column("psn_no", String(30), primary_key=True),
    Column("year", String(8), primary_key=True),  # medical year; "" for the account balance
    Column("path", String(120), primary_key=True),
    Column("value", BigInteger, nullable=False),
    Column("opening", BigInteger, nullable=False, default=0),  # as loaded; value - Σ deltas
)

filings = Table(
    "filings", province,
    Column("filing_no", String(30), primary_key=True),
    Column("psn_no", String(30), nullable=False, index=True),
    Column("insu_admdvs", String(6), nullable=False),
    Column("category", String(30), nullable=False),
    Column("destination", String(6), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("status", String(12), nullable=False),
    Column("route", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("applied_on", Date, nullable=False),
    Column("decided_on", Date),
    Column("review_due", Date),
    Column("proxy", JSON),
    Column("post_hoc", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=False, default=""),
    # a referral filed through a hospital's 2501: who may revoke it through 2502
    Column("filed_by_node", String(6)),
    Column("filed_by_institution", String(12)),
)

institutions = Table(
    "institutions", province,
    Column("fixmedins_code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("admdvs", String(6), nullable=False),
    Column("hosp_lv", String(2), nullable=False),
    Column("level", String(2), nullable=False),
    Column("dedc_level", String(2)),
    Column("suspended", Boolean, nullable=False, default=False),
    Column("networked", Boolean, nullable=False, default=True),
    Column("api_key", Sealed()),  # optional: verifies signed HIS requests; sealed at rest
    Column("signing", String(8)),  # "sm2" or "hmac": how its HIS must sign; NULL = optional
    Column("sm2_public_key", String(128)),  # verifies its SM2 cainfo (x‖y, hex)
    Column("sm4_key", Sealed()),  # decrypts its SM4 encData (hex); sealed at rest
    Column("chronic_opened", JSON, nullable=False, default=list),
    Column("services", JSON),  # networked for: ["inpatient", "outpatient"]; NULL = both
    Column("suspension_reason", Text),  # why it is suspended (the console asks for a reason)
    Column("dialect", JSON),  # its HIS's dialect profile (his/dialects.py); NULL = national
)

catalogue = Table(
    "catalogue", province,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(50), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("chrgitm_lv", String(2), nullable=False),
    Column("selfpay_prop", String(12), nullable=False, default="0"),
    Column("lmt_pric", String(20)),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("med_chrgitm_type", String(2), nullable=False, default=""),
    Column("restriction", JSON),
)

his_files = Table(  # files a HIS uploaded (9101) or the node made for it (1301…, 3202): 9102
    "his_files", province,
    Column("file_no", String(30), primary_key=True),  # file_qury_no
    Column("owner", String(12), nullable=False, index=True),  # the institution it belongs to
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # upload | drugs | herbs | services | …
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("msgid", String(30), nullable=False),  # the message that made it
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

insured_elsewhere = Table(  # a person insured here whom another province insures too (重复参保)
    "insured_elsewhere", province,
    Column("psn_no", String(30), primary_key=True),
    Column("province", String(6), primary_key=True),
    Column("found_at", UTCDateTime(), nullable=False),
)

sign_ins = Table(
    "sign_ins", province,
    Column("sign_no", String(30), primary_key=True),
    Column("fixmedins_code", String(12), nullable=False),
    Column("opter_no", String(20), nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
    Column("signed_out_at", UTCDateTime()),  # 9002 (签退): the sign_no is refused from then on
)

visits = Table(  # visits treated here (the treating place's record)
    "visits", province,
    Column("mdtrt_id", String(30), primary_key=True),
    Column("psn_no", String(30), nullable=False, index=True),
    Column("insuplc_admdvs", String(6), nullable=False),
    Column("fixmedins_code", String(12), nullable=False),
    Column("med_type", String(6), nullable=False),
    Column("visit_type", String(12), nullable=False),
    Column("disease", String(20)),
    Column("ipt_otp_no", String(30), nullable=False),
    Column("begntime", DateTime, nullable=False),
    Column("endtime", DateTime),
    Column("status", String(16), nullable=False),  # open, discharged, settled, cancelled
    Column("emergency", Boolean, nullable=False, default=False),
    Column("benefit_class", String(20)),
    Column("insutype", String(3), nullable=False),
    Column("person", SealedJSON(), nullable=False),  # the insured place's snapshot, sealed
    Column("manual_reimbursement", Boolean, nullable=False, default=False),
    Column("manual_reason", Text),
    Column("reversal_pending", String(30)),  # msgid of a settle whose answer never came
    Column("msgid", String(30), nullable=False),
    # the pending reversal's failed attempts and when to try it again (backoff, p0045)
    Column("reversal_attempts", Integer, nullable=False, default=0, server_default=text("0")),
    Column("reversal_next_at", UTCDateTime()),
    Index("ix_visits_msgid", "msgid"),  # a reversal finds what its original made
    Index("ix_visits_reversal_pending", "reversal_pending",  # the few rows still to reverse
          postgresql_where=text("reversal_pending IS NOT NULL"),
          sqlite_where=text("reversal_pending IS NOT NULL")),
)

fee_details = Table(
    "fee_details", province,
    Column("mdtrt_id", String(30), primary_key=True),
    Column("feedetl_sn", String(30), primary_key=True),
    Column("chrg_bchno", String(30), nullable=False),
    Column("med_list_codg", String(50), nullable=False),
    Column("medins_list_codg", String(150), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("pric", String(24), nullable=False),
    Column("cnt", String(24), nullable=False),
    Column("cls", String(4), nullable=False),
    Column("chrgitm_lv", String(2), nullable=False),
    Column("selfpay_prop", String(12), nullable=False),
    Column("lmt_pric", String(24)),
    Column("restricted_ok", Boolean, nullable=False),
    Column("amt", BigInteger, nullable=False),
    Column("full_amt", BigInteger, nullable=False),
    Column("over_amt", BigInteger, nullable=False),
    Column("pre_amt", BigInteger, nullable=False),
    Column("inscp_amt", BigInteger, nullable=False),
    Column("fee_ocur_time", DateTime, nullable=False),
    Column("status", String(12), nullable=False),  # active, cancelled
    Column("setl_id", String(30)),
)

settlements = Table(  # both roles: the insured place's record and the treating place's record
    "settlements", province,
    Column("setl_id", String(30), primary_key=True),
    Column("role", String(8), primary_key=True),  # insured | treating (both rows for a local visit)
    Column("kind", String(8), nullable=False),  # settle | cancel
    Column("ref_setl_id", String(30)),  # for a cancel record: the settlement it cancels
    Column("status", String(12), nullable=False),  # settled | cancelled (settle records)
    Column("mdtrt_id", String(30), nullable=False, index=True),
    Column("psn_no", String(30), nullable=False),  # found with setl_time (the index below)
    Column("insu_admdvs", String(6), nullable=False),
    Column("mdtrtarea_admvs", String(6), nullable=False),
    Column("fixmedins_code", String(12), nullable=False),
    Column("med_type", String(6), nullable=False),
    Column("visit_type", String(12), nullable=False),
    Column("insutype", String(3), nullable=False),
    Column("setl_time", UTCDateTime(), nullable=False),
    Column("medical_year", String(8), nullable=False),
    *_amounts(),
    Column("balc", BigInteger, nullable=False, default=0),
    Column("policy_id", String(60), nullable=False, default=""),
    Column("benefit_class", String(20), nullable=False, default=""),
    Column("delta", JSON),
    Column("msgid", String(30), nullable=False),
    Column("policy_hash", String(64), nullable=False, default=""),  # the set's content hash
    Column("invono", String(20), nullable=False, default=""),  # the hospital's invoice number
    Index("ix_settlements_setl_time", "setl_time"),
    Index("ix_settlements_psn_no_setl_time", "psn_no", "setl_time"),  # a person's, by time
    Index("ix_settlements_msgid", "msgid"),  # a reversal finds what its original made
    Index("ix_settlements_ref_setl_id", "ref_setl_id"),  # a cancel finds its cancel records
)

insured_visits = Table(  # visits of this node's insured persons, recorded at admission/registration
    "insured_visits", province,
    Column("mdtrt_id", String(30), primary_key=True),
    Column("psn_no", String(30), nullable=False, index=True),
    Column("mdtrtarea_admvs", String(6), nullable=False),
    Column("fixmedins_code", String(12), nullable=False),
    Column("visit_type", String(12), nullable=False),
    Column("med_type", String(6), nullable=False),
    Column("begntime", DateTime, nullable=False),
    Column("status", String(16), nullable=False),  # open, settled, cancelled
    Column("benefit_class", String(20), nullable=False),
    Column("emergency", Boolean, nullable=False, default=False),
)

message_log = Table(  # msgid idempotency: the stored answer of every state-changing message
    "message_log", province,
    Column("scope", String(24), primary_key=True),  # "his:<institution>" or a federation op
    Column("msgid", String(80), primary_key=True),  # federation ops: caller:institution:msgid
    Column("infno", String(24), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("response", JSON, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_message_log_msgid", "msgid"),
)

counters = Table(
    "counters", province,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


def _ledger(metadata: MetaData) -> tuple[Table, Table]:
    """The hash-chained journal and its postings (one table pair per node's database)."""
    entries = Table(
        "ledger_entries", metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("entry_id", String(80), nullable=False, unique=True),
        Column("kind", String(24), nullable=False),
        Column("ref", String(60), nullable=False),
        Column("booked_at", UTCDateTime(), nullable=False),
        Column("postings", JSON, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
        Column("record_hash", String(64)),  # digest of the booked record (core.evidence)
    )
    postings = Table(
        "ledger_postings", metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("line", Integer, primary_key=True, autoincrement=False),
        Column("account", String(80), nullable=False, index=True),
        Column("amount", BigInteger, nullable=False),
    )
    return entries, postings


ledger_entries, ledger_postings = _ledger(province)


def _operators(metadata: MetaData) -> Table:
    """The operators who may use the node's API (core/operators.py): only a token's SHA-256 is
    kept, never the token."""
    return Table(
        "operators", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(64), nullable=False, unique=True),
        Column("role", String(8), nullable=False),  # province | hub | auditor
        Column("region", String(6)),  # the province code of a province operator; NULL at the hub
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("disabled", Boolean, nullable=False, default=False),
        Column("password_hash", String(200)),  # argon2id; NULL: no console sign-in
    )


def _audit_log(metadata: MetaData) -> Table:
    """Every state-changing action of operators and nodes, append-only (database triggers):
    who, when, what, and the target's state before and after."""
    return Table(
        "audit_log", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UTCDateTime(), nullable=False, index=True),
        Column("actor", String(100), nullable=False),  # operator name, or node:<region>
        Column("role", String(12), nullable=False),  # hub | province | auditor | node
        Column("region", String(6)),
        Column("action", String(60), nullable=False),  # e.g. filing.approve
        Column("target", String(120), nullable=False),
        Column("before", JSON),
        Column("after", JSON),
    )


def _node_settings(metadata: MetaData) -> Table:
    """Small settings a node keeps in its own database (the console's session secret)."""
    return Table(
        "node_settings", metadata,
        Column("name", String(40), primary_key=True),
        Column("value", Text, nullable=False),
    )


operators = _operators(province)
audit_log = _audit_log(province)
node_settings = _node_settings(province)

hub_anchors = Table(  # the hub's chain heads, kept at each province (counter-anchors)
    "hub_anchors", province,
    Column("kind", String(8), primary_key=True),  # log | ledger
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

reimbursement_claims = Table(  # 手工报销 at the insured place
    "reimbursement_claims", province,
    Column("claim_id", String(30), primary_key=True),
    Column("psn_no", String(30), nullable=False, index=True),
    Column("mdtrt_id", String(30)),
    Column("treating_admdvs", String(6), nullable=False),
    Column("fixmedins_code", String(12), nullable=False),
    Column("visit_type", String(12), nullable=False),
    Column("disease", String(20)),
    Column("level", String(2), nullable=False),
    Column("begntime", DateTime, nullable=False),
    Column("setl_date", Date, nullable=False),
    Column("emergency", Boolean, nullable=False, default=False),
    Column("lines", JSON, nullable=False),
    Column("status", String(12), nullable=False),  # computed | approved | paid | rejected
    Column("benefit_class", String(20), nullable=False),
    Column("amounts", JSON, nullable=False),
    Column("delta", JSON),
    Column("medical_year", String(8), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("paid_at", UTCDateTime()),
)

person_sign_in = Table(  # the insured person's app: one-time codes and lock-out, by ID hash
    "person_sign_in", province,
    Column("certno_hash", String(64), primary_key=True),
    Column("code_hash", String(64)),
    Column("code_expires_at", UTCDateTime()),
    Column("code_sent_at", UTCDateTime()),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime()),
)

ended_sessions = Table(  # the insured person's app: sessions ended by signing out
    "ended_sessions", province,
    Column("session_id", String(32), primary_key=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
)

family_links = Table(  # 亲情账户: an agent may file for and see a member who consented
    "family_links", province,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agent_psn_no", String(30), nullable=False, index=True),
    Column("member_psn_no", String(30), nullable=False, index=True),
    Column("relationship", String(20), nullable=False),
    Column("status", String(12), nullable=False),  # asked | active | refused | ended
    Column("asked_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
)

evouchers = Table(  # short-lived e-voucher tokens (医保码) issued by the app
    "evouchers", province,
    Column("token", String(32), primary_key=True),
    Column("psn_no", String(30), nullable=False, index=True),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

reconciliation_reports = Table(
    "reconciliation_reports", province,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False, index=True),
    Column("scope", String(24), nullable=False),  # institution | hub
    Column("counterpart", String(30), nullable=False),
    Column("balanced", Boolean, nullable=False),
    Column("report", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

policy_sets = Table(  # parameter sets loaded by the province's operators (docs/policies.md)
    "policy_sets", province,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("set_id", String(80), nullable=False),  # the document's id, e.g. 440100-resident-2026
    Column("insu_admdvs", String(6), nullable=False),
    Column("scheme", String(10), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("content_hash", String(64), nullable=False),
    Column("document", JSON, nullable=False),  # the document as loaded (dates as ISO text)
    Column("source", String(200), nullable=False, default=""),  # the file it was loaded from
    Column("status", String(10), nullable=False),  # proposed | approved | rejected | withdrawn
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", UTCDateTime(), nullable=False),
    Column("approved_by", String(64)),
    Column("approved_at", UTCDateTime()),
    Column("rejected_by", String(64)),
    Column("rejected_at", UTCDateTime()),
    Column("withdrawn_by", String(64)),  # an approved set withdrawn before it took effect
    Column("withdrawn_at", UTCDateTime()),
    Column("note", Text, nullable=False, default=""),  # why it was rejected or withdrawn
    Index("ix_policy_sets_region", "insu_admdvs", "scheme", "status"),
)


hub = MetaData()

nodes = Table(
    "nodes", hub,
    Column("region", String(6), primary_key=True),
    Column("endpoint", String(200), nullable=False),
    Column("status", String(8), nullable=False),  # up | down
    Column("since", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
)

hub_messages = Table(  # hash-chained like a ledger: id is the chain position
    "hub_messages", hub,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("msgid", String(40), nullable=False, index=True),
    Column("op", String(24), nullable=False),
    Column("from_region", String(6), nullable=False),
    Column("to_region", String(6), nullable=False),
    Column("outcome", String(12), nullable=False),  # ok | error | timeout | unreachable | bad_answer
    Column("latency_ms", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("prev_hash", String(64), nullable=False, default=""),
    Column("hash", String(64), nullable=False, default=""),
)

settlement_index = Table(
    "settlement_index", hub,
    Column("setl_id", String(30), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("ref_setl_id", String(30)),
    Column("mdtrt_id", String(30), nullable=False),
    Column("psn_no", String(30), nullable=False),
    Column("insu_admdvs", String(6), nullable=False),
    Column("mdtrtarea_admvs", String(6), nullable=False),
    Column("fixmedins_code", String(12), nullable=False),
    Column("visit_type", String(12), nullable=False),
    Column("setl_time", UTCDateTime(), nullable=False),
    Column("medfee_sumamt", BigInteger, nullable=False),
    Column("fund_pay_sumamt", BigInteger, nullable=False),
    Column("acct_pay", BigInteger, nullable=False),
    Column("psn_cash_pay", BigInteger, nullable=False),
    Column("msgid", String(30), nullable=False),
    Index("ix_settlement_index_month", "insu_admdvs", "mdtrtarea_admvs", "setl_time"),
    Index("ix_settlement_index_setl_time", "setl_time"),  # a day's rows, a catch-up's counts
)

locator = Table(  # hash of an ID number → the province that insures the person; nothing else
    "locator", hub,
    Column("certno_hash", String(64), primary_key=True),
    Column("province", String(6), nullable=False, index=True),  # counted for a province's ask
)

locator_also = Table(  # a hash the locator holds for one province, published by another too
    "locator_also", hub,  # (the person is insured in both: 重复参保)
    Column("certno_hash", String(64), primary_key=True),
    Column("province", String(6), primary_key=True),
    Column("found_at", UTCDateTime(), nullable=False),
    Column("holder", String(6)),  # the province the locator holds the hash for
    Index("ix_locator_also_province", "province"),
    Index("ix_locator_also_holder", "holder"),
)



hub_ledger_entries, hub_ledger_postings = _ledger(hub)  # same names as a province's tables
hub_operators = _operators(hub)
hub_audit_log = _audit_log(hub)
hub_node_settings = _node_settings(hub)

hub_counters = Table(
    "counters", hub,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

anchors = Table(  # chain heads the nodes send every few minutes (docs/security.md)
    "anchors", hub,
    Column("node", String(6), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

clearing_lines = Table(  # O(i→t) of a month: what insured province i owes treating province t
    "clearing_lines", hub,
    Column("month", String(7), primary_key=True),
    Column("insured", String(6), primary_key=True),
    Column("treating", String(6), primary_key=True),
    Column("settlements", Integer, nullable=False),
    Column("medfee_sumamt", BigInteger, nullable=False),
    Column("fund_pay_sumamt", BigInteger, nullable=False),
    Column("acct_pay", BigInteger, nullable=False),
    Column("obligation", BigInteger, nullable=False),
    Column("adjustment", BigInteger, nullable=False, default=0),  # 拒付/carried over (h0011)
)

clearing_statements = Table(
    "clearing_statements", hub,
    Column("month", String(7), primary_key=True),
    Column("province", String(6), primary_key=True),
    Column("status", String(12), nullable=False),  # drafted | confirmed | disputed | paid
    Column("owes", BigInteger, nullable=False),  # payable by this province as insured place
    Column("due", BigInteger, nullable=False),  # receivable as treating place
    Column("net", BigInteger, nullable=False),  # due − owes: > 0 receives, < 0 pays
    Column("document", JSON, nullable=False),
    Column("insured_confirmed", Boolean, nullable=False, default=False),
    Column("treating_confirmed", Boolean, nullable=False, default=False),
    Column("dispute", Text),
    Column("drafted_at", UTCDateTime(), nullable=False),
    Column("paid_at", UTCDateTime()),
)

prepayment_accounts = Table(  # 预付金 of each insured province at the hub
    "prepayment_accounts", hub,
    Column("province", String(6), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

prepayment_moves = Table(
    "prepayment_moves", hub,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("province", String(6), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # size | topup | draw | credit
    Column("amount", BigInteger, nullable=False),
    Column("month", String(7)),
    Column("at", UTCDateTime(), nullable=False),
)


# --- supervision (docs/supervision.md): hits with evidence, credit (province); cases, tickets,
# clearing adjustments (拒付, carried over) and node reports (hub). Migrations p0017, h0011.
def _hits(metadata: MetaData) -> Table:
    """Rule hits (疑点) with their evidence (core.supervision.hits.Hit.to_dict)."""
    return Table(
        "supervision_hits", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("rule", String(4), nullable=False),
        Column("unit", String(16), nullable=False),
        Column("key", String(120), nullable=False),
        Column("severity", String(10), nullable=False),
        Column("source", String(10), nullable=False),  # realtime | batch
        Column("month", String(7)),
        Column("institution", String(12), nullable=False, default=""),
        Column("person", String(30), nullable=False, default=""),
        Column("settlement_id", String(30), nullable=False, default=""),
        Column("amount", BigInteger, nullable=False, default=0),
        Column("found_at", UTCDateTime(), nullable=False),
        Column("case_id", String(40)),
        Column("document", JSON, nullable=False),
        Index("ix_supervision_hits_rule_key", "rule", "key"),
        Index("ix_supervision_hits_found_at", "found_at"),
    )


province_hits = _hits(province)
hub_hits = _hits(hub)

institution_credit = Table(  # at the treating province: each institution's credit (信用)
    "institution_credit", province,
    Column("fixmedins_code", String(12), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("suspended_until", Date),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime(), nullable=False),
)

credit_events = Table(
    "credit_events", province,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fixmedins_code", String(12), nullable=False, index=True),
    Column("action", String(12), nullable=False),  # deduct | suspend | reinstate
    Column("severity", String(10), nullable=False, default=""),
    Column("points", Integer, nullable=False, default=0),
    Column("score_after", Integer, nullable=False),
    Column("case_id", String(40)),
    Column("note", Text, nullable=False, default=""),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

supervision_cases = Table(
    "supervision_cases", hub,
    Column("case_id", String(40), primary_key=True),
    Column("kind", String(12), nullable=False),  # verification | joint_audit
    Column("state", String(12), nullable=False),
    Column("insured", String(6), nullable=False),
    Column("treating", String(6), nullable=False),
    Column("institution", String(12), nullable=False, default=""),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("due", Date),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("document", JSON, nullable=False),
    # decided, and the treating province has not confirmed it was told (the courier's work)
    Column("untold", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_supervision_cases_state", "state"),
    Index("ix_supervision_cases_untold", "untold", postgresql_where=text("untold"),
          sqlite_where=text("untold")),
)

supervision_tickets = Table(
    "supervision_tickets", hub,
    Column("ticket_id", String(40), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("raised_by", String(6), nullable=False),
    Column("raised_to", String(6), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("document", JSON, nullable=False),
)

clearing_adjustments = Table(  # 拒付 and carried-over items, applied by the next clearing run
    "clearing_adjustments", hub,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(40), nullable=False, index=True),
    Column("insured", String(6), nullable=False),
    Column("treating", String(6), nullable=False),
    Column("kind", String(10), nullable=False),  # refusal | hold | release
    Column("amount", BigInteger, nullable=False),  # signed: < 0 lowers what insured owes
    Column("created_at", UTCDateTime(), nullable=False),
    Column("month_applied", String(7)),
)

node_reports = Table(  # what provinces report for the statistics (manual claims, filings)
    "node_reports", hub,
    Column("province", String(6), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("kind", String(24), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)
