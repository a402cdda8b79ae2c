"""A hypothesis state machine over random sequences of outside events and reviewer actions on
one real case in the real database. After every step: the stored status equals the SPEC's
derivation from the stored facts, the offered actions equal the SPEC's tables, an action the
rules refuse changes nothing, and Approved/Rejected never change again."""
from __future__ import annotations

import io
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from PIL import Image

from core.cases import actions as ca
from core.cases.actions import load_case
from core.cases.read import case_detail
from core.cases.state import facts_of
from core.cases.status import (
    CASE_ACTIONS_BY_STATUS,
    FINAL_STATUSES,
    CaseAction,
    CaseStatus,
    derive_case_status,
)
from core.errors import CaseChanged, DocketError
from core.intake import events as intake
from core.store.db import Database
from tests.factories import make_case


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


def make_machine(db: Database, seen: set[str]):
    class CaseLifecycle(RuleBasedStateMachine):
        @initialize(collected=st.booleans(), process=st.sampled_from(["pending", "completed"]),
                    kyc_state=st.sampled_from(["not_sent", "sent", "completed"]))
        def new_case(self, collected, process, kyc_state):
            self.case_id = f"H-{uuid.uuid4().hex[:10]}"
            # a workflow without onboarding's "every block reviewed before Approve" (that rule
            # is tests/cases/test_review.py's): the walk is the same as before it existed
            make_case(db, self.case_id, documents=2, ubos=1, kyc_state=kyc_state,
                      collection_completed=collected, processes=(process,), assignee="reviewer",
                      workflow="ongoing_monitoring")
            self.final_status: str | None = None
            d = self.detail()
            self.document_ids = [b.id for b in d.documents]
            self.ubo_id = d.kyc_blocks[0].id
            self.block_refs = [b.ref for b in d.documents] + [d.kyc_blocks[0].ref]

        # -- helpers -----------------------------------------------------------------
        def detail(self):
            return case_detail(db, self.case_id, "reviewer", with_timeline=False)

        def attempt(self, allowed: bool, fn, *args, **kwargs):
            """Run a command: if the rules allow it, it must succeed; if not, it must be
            refused and leave the case's version unchanged."""
            before = self.detail().version
            try:
                fn(*args, **kwargs)
            except DocketError:
                assert not allowed, f"{fn.__name__} refused although offered"
                assert self.detail().version == before, "a refused command wrote something"
                return
            assert allowed, f"{fn.__name__} succeeded although not offered"

        def event(self, fn, *args, **kwargs):
            before = self.detail()
            try:
                fn(db, self.case_id, *args, **kwargs)
            except DocketError:
                assert self.detail().version == before.version
                return
            assert before.status not in FINAL_STATUSES, "an event changed a final case"

        # -- outside events ------------------------------------------------------------
        @rule()
        def collection_completed(self):
            self.event(intake.complete_collection)

        @rule(failed=st.booleans())
        def process_finished(self, failed):
            self.event(intake.finish_process, "registry_lookup_0", failed=failed)

        @rule()
        def process_restarted(self):
            self.event(intake.start_process, "registry_lookup_0")

        @rule()
        def kyc_sent(self):
            self.event(intake.send_kyc, self.ubo_id)

        @rule(outcome=st.sampled_from(["clear", "consider"]))
        def kyc_completed(self, outcome):
            self.event(intake.complete_kyc, self.ubo_id, {"vendor": "Veriff", "outcome": outcome})

        @rule(index=st.integers(0, 1))
        def document_uploaded(self, index):
            self.event(intake.upload_document, self.document_ids[index], "scan.png", PNG)

        # -- reviewer actions ----------------------------------------------------------
        @rule()
        def approve(self):
            d = self.detail()
            self.attempt(d.action("approve").allowed, ca.approve_case, db, self.case_id,
                         actor="reviewer", expected_version=d.version)

        @rule(now=st.integers(0, 3))
        def reject(self, now):
            if now:  # reject ends the walk: take it a quarter as often as the rest
                return
            d = self.detail()
            self.attempt(d.action("reject").allowed, ca.reject_case, db, self.case_id,
                         actor="reviewer", expected_version=d.version, reason="property test")

        @rule()
        def ask_for_all_reuploads(self):
            d = self.detail()
            self.attempt(d.action("ask_for_reuploads").allowed, ca.ask_for_reuploads, db,
                         self.case_id, actor="reviewer", expected_version=d.version)

        @rule(index=st.integers(0, 2),
              action=st.sampled_from(["approve", "ask_to_reupload", "undo_reupload_request"]))
        def block_action(self, index, action):
            d = self.detail()
            ref = self.block_refs[index]
            block = d.block(ref)
            offered = next((a.allowed for a in block.actions if a.action == action), False)
            fn = {"approve": ca.approve_block, "ask_to_reupload": ca.ask_to_reupload_block,
                  "undo_reupload_request": ca.undo_reupload_request}[action]
            kwargs = {"reason": "Bad image quality"} if action == "ask_to_reupload" else {}
            self.attempt(offered, fn, db, self.case_id, ref, actor="reviewer",
                         expected_version=d.version, **kwargs)

        @rule()
        def stale_approve(self):
            d = self.detail()
            try:
                ca.approve_case(db, self.case_id, actor="reviewer", expected_version=d.version - 1)
            except CaseChanged:
                pass
            else:
                raise AssertionError("a stale version was accepted")
            assert self.detail().version == d.version

        # -- invariants ----------------------------------------------------------------
        @invariant()
        def status_is_derived(self):
            with db.read() as s:
                case = load_case(s, self.case_id)
                assert case.case_status == derive_case_status(facts_of(case)).value

        @invariant()
        def offered_actions_follow_the_table(self):
            d = self.detail()
            status = CaseStatus(d.status)
            offered = {CaseAction(a.action) for a in d.case_actions if a.allowed}
            assert offered <= CASE_ACTIONS_BY_STATUS[status]
            if CaseAction.APPROVE in offered:
                assert d.reupload_needed_count == 0
            if CaseAction.ASK_FOR_REUPLOADS in offered:
                assert d.reupload_needed_count > 0
            if status in (CaseStatus.COLLECTION_FLOW, CaseStatus.APPROVED, CaseStatus.REJECTED):
                assert not any(a.allowed for b in [*d.documents, *d.kyc_blocks] for a in b.actions)

        @invariant()
        def final_is_final(self):
            status = self.detail().status
            seen.add(status)
            if self.final_status is not None:
                assert status == self.final_status
            elif status in FINAL_STATUSES:
                self.final_status = status

    return CaseLifecycle


def test_random_event_and_action_sequences_keep_the_rules(db):
    seen: set[str] = set()
    machine = make_machine(db, seen)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=40, stateful_step_count=20, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
    # the walk (fixed seed: the same in CI every time) must have reached every status
    assert seen == {s.value for s in CaseStatus}, seen
