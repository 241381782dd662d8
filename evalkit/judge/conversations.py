"""Reading multi-turn data: conversations in OpenAI's chat format, one JSON
object per line.

- the prompts file: ``{"messages": [{"role": "user", "content": "..."}, ...]}``
  with the user's turns (an optional first ``system`` message is allowed and
  not shown to the judge; no ``assistant`` message);
- each system's file and the references file: ``{"messages": [{"role":
  "assistant", "content": "..."}, ...]}`` with one answer per user turn, on
  the same line number; ``{"messages": null}`` is a missing conversation
  (its items are unscored).

The judged turn is ``turn`` (default: each conversation's last): the
template's ``{question}``/``{answer}`` are that turn's, its conversation
placeholders show the turns up to it. Every mistake is an
:class:`InputError` naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError, InputError
from evalkit.judge.types import Conversation, JudgeData, JudgeInputs

__all__ = ["is_conversation_data", "load_conversations"]

FIELD = "messages"
_ROLES = ("system", "user", "assistant")


def is_conversation_data(data: JudgeData) -> bool:
    """Whether ``data`` is multi-turn: ``turn`` is given, or the prompts are
    JSONL whose first record holds a ``messages`` list."""
    if data.turn is not None:
        return True
    if not data.prompts or not data.prompts.endswith(".jsonl") or data.prompt_field not in (None, FIELD):
        return False
    try:
        with open(data.prompts, encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        record = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # the ordinary reader reports what is wrong with the file
    return isinstance(record, dict) and isinstance(record.get(FIELD), list)


def _records(path: Path, field: str) -> list[tuple[int, list[dict[str, str]] | None]]:
    """(line number, messages or None) for each non-blank line of ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 (byte {exc.start})", path=str(path)) from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=number) from None
        if not isinstance(record, dict) or field not in record:
            raise InputError(
                f"each line must be a JSON object with a {field!r} list", path=str(path), line=number,
                hint='e.g. {"messages": [{"role": "user", "content": "..."}]}',
            )  # fmt: skip
        out.append((number, _messages(record[field], path, number)))
    if not out:
        raise InputError("the file has no JSON lines", path=str(path))
    return out


def _messages(value: Any, path: Path, line: int) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise InputError(f"{FIELD!r} must be a non-empty list of messages", path=str(path), line=line)
    for k, m in enumerate(value, 1):
        if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise InputError(
                f"message {k} must be an object with a role ({', '.join(_ROLES)}) and a string content",
                path=str(path), line=line,
            )  # fmt: skip
    return value


def _questions(messages: list[dict[str, str]] | None, path: Path, line: int) -> tuple[str, ...]:
    if messages is None:
        raise InputError("a prompt's conversation cannot be null", path=str(path), line=line)
    roles = [m["role"] for m in messages]
    if "assistant" in roles or "system" in roles[1:]:
        raise InputError(
            "the prompts hold the user's turns (and an optional first system message) only",
            path=str(path), line=line, hint="each system's answers go in its own file: role 'assistant'",
        )  # fmt: skip
    questions = tuple(m["content"] for m in messages if m["role"] == "user")
    if not questions:
        raise InputError("the conversation has no user turn", path=str(path), line=line)
    return questions


def _answers(path: Path, field: str, prompts: list[tuple[str, ...]], prompt_file: str) -> list[tuple[str, ...] | None]:
    records = _records(path, field)
    if len(records) != len(prompts):
        raise InputError(
            f"{prompt_file} has {len(prompts)} conversations but {path} has {len(records)}",
            hint="give one conversation per line, in the same order",
        )
    out: list[tuple[str, ...] | None] = []
    for (line, messages), questions in zip(records, prompts):
        if messages is None:
            out.append(None)
            continue
        if any(m["role"] != "assistant" for m in messages):
            raise InputError("answers must be assistant messages only", path=str(path), line=line)
        if len(messages) != len(questions):
            raise InputError(
                f"{len(messages)} assistant turn(s) but the prompt has {len(questions)} user turn(s)",
                path=str(path), line=line, hint="give one answer per user turn",
            )  # fmt: skip
        out.append(tuple(m["content"] for m in messages))
    return out


def _turn(turn: int | None, questions: tuple[str, ...], path: str, line: int) -> int:
    if turn is None:
        return len(questions)
    if turn > len(questions):
        raise InputError(
            f"--turn {turn}, but this conversation has {len(questions)} user turn(s)", path=path, line=line
        )
    return turn


def load_conversations(data: JudgeData) -> JudgeInputs:
    """The conversations ``data`` names, cut at the judged turn."""
    assert data.prompts is not None
    prompt_path = Path(data.prompts)
    prompt_records = _records(prompt_path, data.prompt_field or FIELD)
    questions = [_questions(m, prompt_path, line) for line, m in prompt_records]
    systems = {
        name: _answers(Path(path), data.prediction_field or FIELD, questions, data.prompts)
        for name, path in data.systems.items()
    }
    references = None
    if data.references:
        if len(data.reference_files) != 1:
            raise ConfigError("multi-turn data takes one references file (a conversation of reference answers)")
        references = _answers(Path(data.reference_files[0]), data.reference_field or FIELD, questions, data.prompts)
    turns = [_turn(data.turn, q, data.prompts, line) for q, (line, _) in zip(questions, prompt_records)]
    conversations = []
    for i, (qs, n) in enumerate(zip(questions, turns)):
        answers = {name: _first(a[i], n) for name, a in systems.items()}
        refs = references[i] if references is not None else None
        conversations.append(Conversation(qs[:n], answers, None if refs is None else refs[:n]))
    return JudgeInputs(
        prompts=tuple(c.questions[-1] for c in conversations),
        systems={name: tuple(_last(c.answers[name]) for c in conversations) for name in systems},
        references=None if references is None else tuple(_last_tuple(c.references) for c in conversations),
        conversations=tuple(conversations),
    )


def _first(turns: tuple[str, ...] | None, n: int) -> tuple[str, ...] | None:
    return None if turns is None else turns[:n]


def _last(turns: tuple[str, ...] | None) -> str | None:
    return None if turns is None else turns[-1]


def _last_tuple(turns: tuple[str, ...] | None) -> tuple[str, ...]:
    return () if turns is None else (turns[-1],)
