"""Reading a judge run's files through evalkit's one input reader
(:mod:`evalkit.loading`): prompts, each system's answers and any number of
reference files (a JSONL list field gives several references per item);
conversations (multi-turn data) through :mod:`evalkit.judge.conversations`."""

from __future__ import annotations

from pathlib import Path

from evalkit.errors import ConfigError, InputError
from evalkit.judge.types import JudgeData, JudgeInputs
from evalkit.loading import InputSpec, load_references, load_systems, load_texts

__all__ = ["load_inputs"]


def load_inputs(data: JudgeData) -> JudgeInputs:
    """The texts ``data`` names; counts that differ are an :class:`InputError`
    naming both files."""
    if not data.prompts:
        raise ConfigError("the judge needs prompts", hint='pass --prompts FILE (or prompts = "FILE" in [judge])')
    if not data.systems:
        raise ConfigError("the judge needs systems", hint='pass --system NAME=FILE (or [judge.systems] NAME = "FILE")')
    from evalkit.judge.conversations import is_conversation_data, load_conversations

    if is_conversation_data(data):
        return load_conversations(data)
    prompts = load_texts(InputSpec(Path(data.prompts), data.prompt_field), what="prompt")
    specs = {name: InputSpec(Path(path), data.prediction_field) for name, path in data.systems.items()}
    systems = load_systems(specs)
    for name, answers in systems.items():
        if len(answers) != len(prompts):
            raise InputError(
                f"{data.prompts} has {len(prompts)} prompts but {specs[name].path} has {len(answers)} answers "
                f"(system {name!r})",
                hint="give exactly one answer per prompt, in the same order",
            )
    references = None
    if data.references:
        refs, files = load_references([InputSpec(Path(f), data.reference_field) for f in data.reference_files])
        if len(refs) != len(prompts):
            raise InputError(
                f"{data.prompts} has {len(prompts)} prompts but {', '.join(files)} has {len(refs)} references",
                hint="give one reference per prompt, in the same order",
            )
        references = tuple(refs)
    return JudgeInputs(tuple(prompts), {name: tuple(a) for name, a in systems.items()}, references)
