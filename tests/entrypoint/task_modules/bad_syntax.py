"""A module that does not compile: loading it must give a USER error document."""

from flytelite import task


@task
def broken(a: int) -> int
    return a
