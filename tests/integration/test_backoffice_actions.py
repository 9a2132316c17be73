"""What operators do in the back-office, on SQLite and PostgreSQL: each action has its effect,
writes exactly one audit entry, and the chain stays verifiable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from payez.domain.payments import PaymentState
from payez.service.audit_log import verify_audit_log
from payez.service.freeze_account import freeze_account
from payez.service.operators import NotOperator, grant_operator
from payez.service.reconcile import reconcile
from tests.integration.backoffice_world import Backoffice, backoffice_world


@pytest.fixture
def bo(database_url: str, tmp_path: Path) -> Iterator[Backoffice]:
    with backoffice_world(database_url, tmp_path / "exports") as world:
        world.member("alice")
        world.member("bob")
        yield world


def _audit_actions(bo: Backoffice) -> list[str]:
    return [str(e["action"]) for e in bo.audit()]


def test_freeze_then_the_next_command_is_refused_and_unfreeze_lets_it_through(
    bo: Backoffice,
) -> None:
    world = bo.web.world
    alice = world.users["alice"]
    first = world.post("alice", "@payez envoie 5€ à @bob")
    world.run()
    assert world.payment_for(first)["state"] == PaymentState.SETTLED

    answer = bo.operator.submit(
        f"/backoffice/users/{alice}/freeze",
        {"reason": "card reported stolen"},
        form_page=f"/backoffice/users/{alice}",
    )
    assert answer.status_code == 303
    page = bo.operator.get(answer.headers["location"]).text
    assert "Compte gelé." in page or "Account frozen." in page

    refused = world.post("alice", "@payez envoie 7€ à @bob")
    world.run()
    payment = world.payment_for(refused)
    assert payment["state"] == PaymentState.REJECTED
    assert payment["reason"] == "sender_frozen"
    assert world.balance("alice") == 50_000 - 500
    assert world.balance("bob") == 50_000 + 500
    # Money to a frozen account is refused too.
    to_frozen = world.post("bob", "@payez envoie 3€ à @alice")
    world.run()
    assert world.payment_for(to_frozen)["reason"] == "recipient_frozen"

    answer = bo.operator.submit(
        f"/backoffice/users/{alice}/unfreeze",
        {"reason": "card replaced"},
        form_page=f"/backoffice/users/{alice}",
    )
    assert answer.status_code == 303
    again = world.post("alice", "@payez envoie 7€ à @bob")
    world.run()
    assert world.payment_for(again)["state"] == PaymentState.SETTLED

    entries = [e for e in bo.audit() if e["target"] == f"user:{alice}"]
    assert [e["action"] for e in entries] == ["account.freeze", "account.unfreeze"]
    operator_id = bo.operator.user_id()
    assert all(e["operator_user_id"] == operator_id for e in entries)
    assert json.loads(entries[0]["details"])["reason"] == "card reported stolen"
    world.assert_ledger_sound()


def test_a_freeze_needs_a_reason_and_an_operator(bo: Backoffice) -> None:
    alice = bo.web.world.users["alice"]
    before = bo.snapshot()
    answer = bo.operator.submit(
        f"/backoffice/users/{alice}/freeze",
        {"reason": "   "},
        form_page=f"/backoffice/users/{alice}",
    )
    assert answer.status_code == 400
    assert "raison" in answer.text or "reason" in answer.text
    with pytest.raises(NotOperator):
        freeze_account(bo.ctx, bo.other.user_id(), alice, "no right to")
    assert bo.snapshot() == before


def test_freezing_twice_changes_nothing_the_second_time(bo: Backoffice) -> None:
    alice = bo.web.world.users["alice"]
    operator_id = bo.operator.user_id()
    assert freeze_account(bo.ctx, operator_id, alice, "first") is True
    assert freeze_account(bo.ctx, operator_id, alice, "second") is False
    assert _audit_actions(bo).count("account.freeze") == 1


def test_an_association_receives_up_to_500_only_once_verified(bo: Backoffice) -> None:
    world = bo.web.world
    restos = world.join("restos", kind="association", cents=0)
    # The world's associations start verified: withdraw it, as for a new association.
    answer = bo.operator.submit(
        f"/backoffice/users/{restos}/verification",
        {"verified": "0"},
        form_page=f"/backoffice/users/{restos}",
    )
    assert answer.status_code == 303
    big = world.post("alice", "@payez donne 400€ à @restos")
    world.run()
    assert world.payment_for(big)["reason"] == "amount_over_limit"

    answer = bo.operator.submit(
        f"/backoffice/users/{restos}/verification",
        {"verified": "1"},
        form_page=f"/backoffice/users/{restos}",
    )
    assert answer.status_code == 303
    assert "Organisation vérifiée" in bo.operator.get(f"/backoffice/users/{restos}").text
    again = world.post("alice", "@payez donne 400€ à @restos")
    world.run()
    assert world.payment_for(again)["state"] == PaymentState.SETTLED
    assert world.balance("restos") == 40_000
    actions = [e["action"] for e in bo.audit() if e["target"] == f"user:{restos}"]
    assert actions == ["organisation.unverify", "organisation.verify"]


def test_a_person_cannot_be_verified_as_an_organisation(bo: Backoffice) -> None:
    alice = bo.web.world.users["alice"]
    before = bo.snapshot()
    answer = bo.operator.submit(
        f"/backoffice/users/{alice}/verification",
        {"verified": "1"},
        form_page=f"/backoffice/users/{alice}",
    )
    assert answer.status_code == 400
    assert bo.snapshot() == before


def test_flags_are_raised_listed_and_reviewed_once(bo: Backoffice) -> None:
    world = bo.web.world
    posts = [world.post("alice", f"@payez envoie {n}€ à @bob") for n in (1, 2, 3)]
    world.run()
    flags = bo.rows("payment_flags")
    # The third payment within the burst window (limit 2) is flagged, the first two are not.
    flagged_payments = {row[1] for row in flags}
    third = world.payment_for(posts[2])["id"]
    assert flagged_payments == {third}
    page = bo.operator.get("/backoffice/flags").text
    assert "Rafale de paiements" in page or "Burst of payments" in page
    flag_id = flags[0][0]

    missing_note = bo.operator.submit(
        f"/backoffice/flags/{flag_id}",
        {"decision": "cleared", "note": ""},
        form_page="/backoffice/flags",
    )
    assert missing_note.status_code == 400
    done = bo.operator.submit(
        f"/backoffice/flags/{flag_id}",
        {"decision": "confirmed", "note": "known pattern"},
        form_page="/backoffice/flags",
    )
    assert done.status_code == 303
    again = bo.operator.submit(
        f"/backoffice/flags/{flag_id}",
        {"decision": "cleared", "note": "changed my mind"},
        form_page="/backoffice/flags",
    )
    assert again.status_code == 400
    (row,) = bo.rows("payment_flags")
    assert row[4] == "confirmed"
    assert row[5] == bo.operator.user_id()
    assert _audit_actions(bo) == ["operator.grant", "flag.confirm"]
    assert "known pattern" in bo.operator.get("/backoffice/flags?state=confirmed").text
    assert "known pattern" not in bo.operator.get("/backoffice/flags").text


def test_payout_export_and_download(bo: Backoffice) -> None:
    first = bo.request_payout("alice", 1_200)
    second = bo.request_payout("bob", 800)
    page = bo.operator.get("/backoffice/payouts").text
    assert 'id="waiting">2<' in page
    answer = bo.operator.submit("/backoffice/payouts/export", {}, form_page="/backoffice/payouts")
    assert answer.status_code == 303 and "done=exported" in answer.headers["location"]
    (batch,) = bo.rows("payout_batches")
    batch_id = str(batch[0])
    files = list(bo.export_dir.iterdir())
    assert len(files) == 1

    download = bo.operator.get(f"/backoffice/payouts/{batch_id}/file")
    assert download.status_code == 200
    assert download.content == files[0].read_bytes()
    document = etree.fromstring(download.content)
    assert batch_id in download.text
    assert document.tag.endswith("Document")

    nothing = bo.operator.submit("/backoffice/payouts/export", {}, form_page="/backoffice/payouts")
    assert "done=nothing" in nothing.headers["location"]
    assert len(list(bo.export_dir.iterdir())) == 1
    assert bo.operator.get("/backoffice/payouts/NOPE-1/file").status_code == 404

    entries = bo.audit()
    assert [e["action"] for e in entries] == [
        "operator.grant",
        "payouts.export",
        "payouts.download",
    ]
    assert json.loads(entries[1]["details"])["payout_ids"] == [first, second]
    assert entries[1]["target"] == f"batch:{batch_id}"


def test_search_users_and_payments_and_the_user_page(bo: Backoffice) -> None:
    world = bo.web.world
    post = world.post("alice", "@payez envoie 12,34€ à @bob pizza")
    world.run()
    found = bo.operator.get("/backoffice/users?q=ALI").text
    assert f"/backoffice/users/{world.users['alice']}" in found
    assert f"/backoffice/users/{world.users['bob']}" not in found
    by_email = bo.operator.get("/backoffice/users?q=mallory@example").text
    assert f"/backoffice/users/{bo.other.user_id()}" in by_email

    for query in (
        "handle=bob",
        f"post_id={post.id}",
        "state=settled",
        "amount=12,34",
        "handle=alice&state=settled&amount=12.34",
    ):
        page = bo.operator.get(f"/backoffice/payments?{query}").text
        assert "pizza" in page, query
    for query in ("handle=carol", "state=rejected", "amount=12"):
        assert "pizza" not in bo.operator.get(f"/backoffice/payments?{query}").text, query
    assert bo.operator.get("/backoffice/payments?state=nonsense").status_code == 400
    assert bo.operator.get("/backoffice/payments?amount=1e5").status_code == 400

    page = bo.operator.get(f"/backoffice/users/{world.users['alice']}").text
    assert "pizza" in page and "487,66" in page
    assert bo.operator.get("/backoffice/users/999999").status_code == 404


def test_reconcile_and_audit_pages(bo: Backoffice) -> None:
    # The world's wallets were loaded without card charges: reconciliation reports each one.
    report = reconcile(bo.ctx, bo.web.app.state.site.cards)
    page = bo.operator.get("/backoffice/reconcile").text
    assert report.differences and 'id="verdict" class="error"' in page
    for difference in report.differences:
        assert difference.kind in page and difference.reference in page
    for n in range(60):
        grant_operator(bo.ctx, "mallory@example.org", "admin" if n % 2 == 0 else "operator")
    first = bo.operator.get("/backoffice/audit").text
    assert "#61" in first and "#12 " in first and "#11 " not in first
    assert "1 / 2" in first
    second = bo.operator.get("/backoffice/audit?page=2").text
    assert "#11 " in second and "#1 " in second and "#12 " not in second
    assert bo.operator.get("/backoffice/audit?page=0").status_code == 400
    chain, head = verify_audit_log(bo.ctx)
    assert chain.ok and chain.checked == 61 and head
