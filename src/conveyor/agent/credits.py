"""How many jobs an agent asks the server for: its free slots, plus a prefetch for short jobs.

Without a prefetch a slot that finishes a job sits idle for a whole round trip
(result, credit, claim, assignment) before its next job arrives; for jobs of a
few milliseconds that idle time is most of the slot's time. So the agent also
holds about ``window_s`` (default :data:`WINDOW_S`) of work per slot beyond its running jobs, waiting
locally for the next free slot: many jobs when they take a millisecond, none when
they take longer than the window (at most ``prefetch``). A job held behind long
ones would wait there while another agent might be idle, and its run deadline
(counted from the claim) would tick meanwhile; the window bounds both.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_S = 0.05
"""Work held beyond the running jobs, per slot, in seconds of the recent average job."""
MAX_WINDOW_S = 60.0
"""A held job's run deadline ticks from its claim: more than a minute of held work is a queue."""
PREFETCH_PER_SLOT = 32
"""The agent's default bound on the prefetch, per slot."""
SMOOTHING = 0.2
"""Weight of the newest job in the running average of job durations."""


@dataclass
class CreditLedger:
    """Credits granted to the server and not yet used, and how many more to grant."""

    slots: int
    prefetch: int = 0
    window_s: float = WINDOW_S  # seconds of work held per slot, at the recent average
    outstanding: int = 0  # granted in this session, not yet answered by an assignment
    average_s: float | None = None  # running average of how long jobs ran; None: no job yet

    def __post_init__(self) -> None:
        if self.slots < 1:
            raise ValueError("an agent needs at least one slot")
        if self.prefetch < 0:
            raise ValueError("the prefetch must be 0 or more jobs")
        if not 0 < self.window_s <= MAX_WINDOW_S:
            raise ValueError(f"the prefetch window must be above 0 and at most {MAX_WINDOW_S} s")

    @property
    def most(self) -> int:
        """The most jobs the agent may ever hold at once."""
        return self.slots + self.prefetch

    def capacity(self) -> int:
        """Jobs to hold now: the slots, plus a window of work while jobs are short."""
        if self.average_s is None:
            return self.slots  # no job ran yet: nothing known of their length
        window = int(self.slots * self.window_s / max(self.average_s, 1e-6))
        return self.slots + min(self.prefetch, window)

    def ran(self, seconds: float) -> None:
        """Record how long a job ran (from taking its slot to its outcome)."""
        if self.average_s is None:
            self.average_s = seconds
        else:
            self.average_s += SMOOTHING * (seconds - self.average_s)

    def stalled(self, waited_s: float) -> None:
        """A held job waited ``waited_s`` for a slot: the jobs ahead of it are long, so hold
        nothing beyond the slots until finished jobs show they are short again."""
        self.average_s = max(self.average_s or 0.0, waited_s)

    def to_grant(self, held: int, running: int) -> int:
        """How many new credits to send, given the jobs held (running or waiting for a slot).

        A free slot with nothing waiting for it and no credit out is offered at once.
        Otherwise credits go in batches of half the capacity: a prefetch refilled one
        job at a time would cost the server one claim per job.
        """
        want = self.capacity() - held - self.outstanding
        if want <= 0:
            return 0
        idle_slot = running < self.slots and held == running and self.outstanding == 0
        if idle_slot or want >= max(self.capacity() // 2, 1):
            return want
        return 0

    def granted(self, credits: int) -> None:
        self.outstanding += credits

    def assigned(self, jobs: int) -> None:
        self.outstanding = max(self.outstanding - jobs, 0)

    def reset(self) -> None:
        """No credit is out: a new connection (the server forgot the old one's), or all
        withdrawn (a stopping agent)."""
        self.outstanding = 0
