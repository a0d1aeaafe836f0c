"""A batch of reads: equal reads answered once, and answers a read learns in passing."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, create_engine

from backend.rewards.queries import BATCH_ANSWERS, answer, learn, run_batch


@dataclass(frozen=True)
class Counted:
    """A read that counts its runs and answers its name."""

    name: str
    runs: list[str] = field(default_factory=list, compare=False, hash=False)

    def run(self, conn: Connection) -> str:
        """No statement: record the run."""
        self.runs.append(self.name)
        return self.name


@dataclass(frozen=True)
class Teaching:
    """A read that also learns `Counted(name)`'s answer in passing."""

    name: str

    def run(self, conn: Connection) -> str:
        """Learn the other read's answer, then answer."""
        learn(conn, Counted(self.name), f"{self.name} (learnt)")
        return "taught"


def test_a_read_learnt_in_the_batch_does_not_run_and_nothing_is_kept_after():
    runs: list[str] = []
    with create_engine("sqlite://").connect() as conn:
        answers = run_batch(conn, [Teaching("profile"), Counted("profile", runs)])
        assert answers == ["taught", "profile (learnt)"] and runs == []
        assert BATCH_ANSWERS not in conn.info
        # learnt after it ran, the read keeps its own answer
        answers = run_batch(conn, [Counted("profile", runs), Teaching("profile")])
        assert answers == ["profile", "taught"] and runs == ["profile"]


def test_outside_a_batch_a_read_learns_nothing():
    with create_engine("sqlite://").connect() as conn:
        Teaching("profile").run(conn)  # as a unit of work runs a read on its own connection
        assert BATCH_ANSWERS not in conn.info


def test_outside_a_batch_an_answer_runs_each_time_and_nothing_is_kept():
    runs: list[str] = []
    with create_engine("sqlite://").connect() as conn:
        # as a unit of work runs `MemberOffers`, which asks for its facts through `answer`
        assert [answer(conn, Counted("facts", runs)) for _ in range(2)] == ["facts"] * 2
        assert runs == ["facts", "facts"] and BATCH_ANSWERS not in conn.info
