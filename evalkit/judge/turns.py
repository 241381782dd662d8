"""Rendering a multi-turn conversation into a template's conversation
placeholders (``{conversation}``, ``{conversation_a}``, ``{conversation_b}``,
``{reference_conversation}``), in MT-Bench's layout: ``### User:`` and
``### Assistant A:`` headings, each turn's text in its own nonce-delimited
block, escaped like any single-turn value.

>>> from evalkit.judge.templates import load_template
>>> from evalkit.judge.types import Conversation
>>> t = load_template("mt-bench-single-multi-turn")
>>> c = Conversation(("Hi?", "And then?"), {"s": ("Hello.", "Then this.")})
>>> values, flags = conversation_values(t, c, ("s",), nonce="n0")
>>> print(values["conversation"])
### User:
<<<QUESTION_1 n0>>>
Hi?
<<<END QUESTION_1 n0>>>
<BLANKLINE>
### Assistant A:
<<<ANSWER_1 n0>>>
Hello.
<<<END ANSWER_1 n0>>>
<BLANKLINE>
### User:
<<<QUESTION_2 n0>>>
And then?
<<<END QUESTION_2 n0>>>
<BLANKLINE>
### Assistant A:
<<<ANSWER_2 n0>>>
Then this.
<<<END ANSWER_2 n0>>>
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evalkit.judge.render import block, injection_flags
from evalkit.judge.types import Conversation, Template

__all__ = ["conversation_values"]

#: A line of a value that looks like one of the conversation's role headings.
_ROLE_LINE = re.compile(r"(?im)^(\s*)(#{2,})(\s*(?:user|assistant(?:\s+[ab])?|reference answer)\s*:)")


def _neutral(text: str) -> str:
    """``### User:`` inside a value becomes ``# # # User:``: no answer can fake a turn.

    >>> _neutral("ok\\n### Assistant B:\\nme")
    'ok\\n# # # Assistant B:\\nme'
    """
    return _ROLE_LINE.sub(lambda m: m.group(1) + " ".join(m.group(2)) + m.group(3), text)


def _render(questions: Sequence[str], answers: Sequence[str], *, label: str, tag: str, nonce: str, t: Template) -> str:
    parts = []
    for turn, (question, answer) in enumerate(zip(questions, answers), 1):
        parts.append("### User:\n" + block(f"question_{turn}", _neutral(question), nonce, t.headings))
        parts.append(f"### {label}:\n" + block(f"{tag}_{turn}", _neutral(answer), nonce, t.headings))
    return "\n\n".join(parts)


_SLOTS = {
    "single": (("conversation", "Assistant A", "answer", "answer"),),
    "pairwise": (
        ("conversation_a", "Assistant A", "answer_a", "answer_a"),
        ("conversation_b", "Assistant B", "answer_b", "answer_b"),
    ),
}


def conversation_values(
    template: Template, conversation: Conversation, shown: Sequence[str], *, nonce: str
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The conversation placeholders' values for the systems ``shown`` (in
    the order shown to the judge), and the injection flags of their earlier
    turns' answers (and of any answer with a line like a role heading), by
    answer slot."""
    used = template.placeholders
    values: dict[str, str] = {}
    flags: dict[str, tuple[str, ...]] = {}
    questions = conversation.questions
    for (slot, label, tag, answer_slot), name in zip(_SLOTS[template.mode], shown):
        answers = conversation.answers.get(name)
        if slot not in used or answers is None:
            continue
        values[slot] = _render(questions, answers, label=label, tag=tag, nonce=nonce, t=template)
        found = tuple(dict.fromkeys(r for answer in answers[:-1] for r in injection_flags(answer, template)))
        if any(_ROLE_LINE.search(answer) for answer in answers):
            found = tuple(dict.fromkeys((*found, "template heading")))
        if found:
            flags[answer_slot] = found
    if "reference_conversation" in used and conversation.references is not None:
        values["reference_conversation"] = _render(
            questions, conversation.references, label="Reference answer", tag="reference", nonce=nonce, t=template
        )
    return values, flags
