"""Many people approving the same one-approver gate at once, from threads and from processes:
exactly one approval is recorded, every other attempt is refused, and the chain never forks."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

from sqlmodel import Session, select

from core.db import get_engine
from core.demo.data import TARGET, DemoFiles
from core.errors import GatehouseError
from core.rules.gates import Act, plan_from_pack_tier
from core.services.audit import verify_chain
from core.services.gates import open_gates, sign_gate
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import AuditEvent, Gate, GateAct, User

PW = "a long enough password"
APPROVERS = [f"owner{i}" for i in range(6)]
TIER = {
    "segregation": {"min_distinct_people_per_gate": 2},
    "gates": [
        {"id": "business_scoping", "responsible": ["developer"], "accountable": "model_owner"}
    ],
}


def _approve(url: str, username: str, version_id: int) -> str:
    with Session(get_engine(url), expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        try:
            sign_gate(
                session=session,
                actor=user,
                version_id=version_id,
                gate_id="business_scoping",
                act=Act.approve,
                password=PW,
                meaning="I approve the business scoping gate",
            )
            session.commit()
            return "approved"
        except GatehouseError as err:
            session.rollback()
            return " ".join(err.problems)


def _process(
    url: str, data_dir: str, username: str, version_id: int, out: multiprocessing.Queue[str]
) -> None:  # type: ignore[type-arg]
    os.environ["GATEHOUSE_DATABASE_URL"] = url
    os.environ["GATEHOUSE_DATA_DIR"] = data_dir
    for _ in range(3):
        out.put(_approve(url, username, version_id))


def test_fifty_threads_and_four_processes_record_exactly_one_approval(
    session: Session, db_url: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    devi = add_user(
        session=session, actor=OPERATOR, username="devi", password=PW, roles=["developer"]
    )
    for name in APPROVERS:
        add_user(session=session, actor=OPERATOR, username=name, password=PW, roles=["model_owner"])
    result = register_version(
        session=session,
        actor=devi,
        name="credit-gbm",
        artifact=demo_files.model_paths["credit-gbm"],
        eval_data=demo_files.eval_csv,
        target=TARGET,
    )
    session.commit()
    open_gates(
        session=session,
        version_id=result.version_id,
        plan=plan_from_pack_tier(TIER),
        policy_version=1,
        tier="low",
    )
    session.commit()
    sign_gate(
        session=session,
        actor=devi,
        version_id=result.version_id,
        gate_id="business_scoping",
        act=Act.submit,
        password=PW,
        meaning="I submit the business scoping gate",
    )
    session.commit()

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    data_dir = os.environ["GATEHOUSE_DATA_DIR"]
    procs = [
        ctx.Process(
            target=_process, args=(db_url, data_dir, APPROVERS[i], result.version_id, queue)
        )
        for i in range(4)
    ]
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            outcome = _approve(db_url, APPROVERS[i % len(APPROVERS)], result.version_id)
        except Exception as err:
            outcome = f"{type(err).__name__}: {err}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    outcomes += [queue.get(timeout=600) for _ in range(4 * 3)]
    for p in procs:
        p.join(timeout=120)

    assert outcomes.count("approved") == 1, outcomes
    refused = [o for o in outcomes if o != "approved"]
    assert len(refused) == 61 and all("already approved" in o for o in refused), set(refused)
    session.expire_all()
    approvals = session.exec(select(GateAct).where(GateAct.act == "approve")).all()
    assert len(approvals) == 1
    gate = session.exec(select(Gate)).one()
    assert gate.state == "approved"
    check = verify_chain(session=session)
    assert check.intact
    assert check.events == len(session.exec(select(AuditEvent.id)).all())
    refusals = session.exec(select(AuditEvent).where(AuditEvent.action == "gate_act_refused")).all()
    assert len(refusals) == 61
