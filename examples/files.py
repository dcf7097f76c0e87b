"""Files and folders: inputs download lazily, outputs upload under the raw output prefix."""

from __future__ import annotations

import os

from flytelite import Directory, File, current_context, task


@task
def word_count(report: File) -> int:
    """Count the words of a text file (a remote one is streamed, not downloaded first)."""
    with report.open("r") as f:
        return sum(len(line.split()) for line in f)


@task
def split_lines(report: File, per_file: int = 100) -> Directory:
    """Split a text file into a folder of smaller files."""
    out = os.path.join(current_context().working_directory, "parts")
    os.makedirs(out, exist_ok=True)
    with report.open("r") as f:
        lines = f.readlines()
    for index in range(0, len(lines), per_file):
        with open(os.path.join(out, f"part-{index // per_file:05d}.txt"), "w") as part:
            part.writelines(lines[index : index + per_file])
    return Directory(out)
