"""Modal dialogs: confirm an action, set the jobs filters, pick a team, the key help."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from conveyor.sdk.models import Team
from conveyor.states import JobState
from conveyor.tui.source import JobFilters

FILTER_TEXT_MAX = 200  # the API bounds its filters too; this keeps a typo from being sent
DIALOG_CSS = """
{name} { align: center middle; }
{name} > Vertical {
    width: 76; max-width: 100%; height: auto; max-height: 100%;
    border: thick $primary; background: $surface; padding: 0 1;
}
{name} Horizontal { height: auto; align-horizontal: right; }
{name} Button { margin: 0 1; }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask before an action that cannot be taken back (cancel a job, drain an agent)."""

    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question))
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class FilterScreen(ModalScreen[JobFilters | None]):
    """The jobs table's filters: a state, a queue, an action, and text in the job."""

    DEFAULT_CSS = (
        DIALOG_CSS.replace("{name}", "FilterScreen")
        + """
    FilterScreen Grid { grid-size: 2; grid-columns: 10 1fr; height: auto; }
    FilterScreen Label { padding: 1 0 0 0; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, current: JobFilters) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        states = [(s.value, s.value) for s in JobState]
        with Vertical(), Grid():
            yield Label("State")
            yield Select(states, value=self.current.state or Select.NULL, prompt="any",
                         id="state")  # fmt: skip
            for name, value in (("queue", self.current.queue),
                                ("action", self.current.action), ("text", self.current.text)):  # fmt: skip
                yield Label(name.capitalize())
                yield Input(value, placeholder="any", max_length=FILTER_TEXT_MAX, id=name)
            yield Button("Clear", id="clear")
            yield Button("Apply (enter)", id="apply", variant="primary")

    def on_input_submitted(self) -> None:
        self._apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "clear":
            self.dismiss(JobFilters())
        else:
            self._apply()

    def _apply(self) -> None:
        chosen = self.query_one("#state", Select).value
        self.dismiss(JobFilters(
            state=chosen if isinstance(chosen, str) else "",
            queue=self.query_one("#queue", Input).value.strip(),
            action=self.query_one("#action", Input).value.strip(),
            text=self.query_one("#text", Input).value.strip(),
        ))  # fmt: skip


class TeamScreen(ModalScreen[str | None]):
    """Pick the team to work in; answers its id."""

    DEFAULT_CSS = (
        DIALOG_CSS.replace("{name}", "TeamScreen")
        + """
    TeamScreen OptionList { height: auto; max-height: 16; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, teams: list[Team], current: str | None) -> None:
        super().__init__()
        self.teams, self.current = teams, current

    def compose(self) -> ComposeResult:
        options = [Option(Text(f"{t.slug}  {t.name}  ({t.role or '-'})"), id=str(t.id))
                   for t in self.teams]  # fmt: skip
        with Vertical():
            yield Label("Work in team (enter to choose, escape to keep the current one)")
            yield OptionList(*options)

    def on_mount(self) -> None:
        found = [i for i, t in enumerate(self.teams) if self.current in (str(t.id), t.slug)]
        self.query_one(OptionList).highlighted = found[0] if found else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


HELP = """\
Tabs      1 overview · 2 jobs · 3 agents
Jobs      / filter · enter or l: live log · c cancel · r retry
Overview  enter or l: the highlighted failure's log · r retry it
Agents    d drain the highlighted agent (asks first)
Anywhere  t switch team · ? this help · q quit
Dialogs   y / n answer · enter apply · escape close
It refreshes at each change the server reports, and every few seconds."""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "HelpScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss(None)", "close")
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("conveyor top: keys", classes="title")
            yield Static(HELP, markup=False)
