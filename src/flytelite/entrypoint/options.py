"""The execute command's options, declared once for click and for the fast parser.

A task's container runs ``flytelite execute ...`` on every attempt, so that command is parsed
without importing click (about 12 ms here); any line the fast parser does not understand (help,
a typo) goes to click, which prints the proper usage error.
"""

from __future__ import annotations

# (option name, help); every option takes a value, except the flags listed below.
EXECUTE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("inputs", "URI of inputs.pb (a LiteralMap)."),
    ("output-prefix", "Where outputs.pb or error.pb is written."),
    ("raw-output-data-prefix", "Where files, folders and pickles go."),
    ("checkpoint-path", "Where this attempt saves its checkpoint."),
    ("prev-checkpoint", "The previous attempt's checkpoint."),
    ("resolver", "Dotted path of the task resolver."),
    ("dynamic-addl-distro", "Fast-registered code archive (set by fast-execute)."),
    ("dynamic-dest-dir", "Where fast-registered code was unpacked."),
)
EXECUTE_FLAGS: tuple[tuple[str, str], ...] = (
    ("test", "Load the task and decode the inputs, write nothing."),
    ("pdb", "On a terminal, open a post-mortem debugger on the task's exception (also FLYTELITE_PDB=1)."),
)
REQUIRED = ("inputs", "output-prefix")
# map-execute also takes --max-concurrency: the backend limits concurrency, a subtask ignores it.
MAP_ONLY_OPTIONS: tuple[tuple[str, str], ...] = (("max-concurrency", "Accepted for compatibility; the backend enforces it."),)


def parse_execute_fast(argv: list[str], map_task: bool = False) -> dict[str, object] | None:
    """Options of ``execute`` (or ``map-execute``) as keyword arguments, or None when click should parse the line."""
    values: dict[str, object] = {}
    takes_value = {name for name, _ in EXECUTE_OPTIONS + (MAP_ONLY_OPTIONS if map_task else ())}
    flags = {name for name, _ in EXECUTE_FLAGS}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            values["loader_args"] = tuple(argv[index + 1 :])
            break
        name, eq, inline = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if name in flags and not eq:
            values[name.replace("-", "_")] = True
        elif name in takes_value and (eq or index + 1 < len(argv)):
            if not eq:
                index += 1
                inline = argv[index]
            values[name.replace("-", "_")] = inline
        else:
            return None
        index += 1
    if any(name.replace("-", "_") not in values for name in REQUIRED):
        return None
    values.setdefault("loader_args", ())
    values.pop("max_concurrency", None)
    return values
