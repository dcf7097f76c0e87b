"""Tasks using flytekit's file and folder helpers (new_remote_file, remote_path=, crawl, new_file)."""

from __future__ import annotations

import os

from flytelite import Directory, File, current_context, task


@task
def remote_note(text: str) -> File:
    note = File.new_remote_file("note.txt")
    with note.open("w") as out:
        out.write(text)
    return note


@task
def placed(text: str, where: str) -> File:
    path = os.path.join(current_context().working_directory, "placed.txt")
    with open(path, "w") as out:
        out.write(text)
    return File(path, remote_path=where)


@task
def listing(folder: Directory) -> list[str]:
    return [relative for _, relative in folder.crawl()]
