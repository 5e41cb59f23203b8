"""Runs of the `trilemma` command line, shared by the CLI tests."""

import json
import sys
import sysconfig
from pathlib import Path

from trilemma import cli


def run(argv, capsys):
    """(exit code, stdout, stderr) of `trilemma argv` run in-process."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse errors exit instead of returning
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def report(argv, capsys) -> dict:
    """The one JSON object that `trilemma argv --json` prints (exit status 0)."""
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # one JSON object, nothing else on stdout
    return json.loads(lines[0])


def console_script() -> str:
    """The `trilemma` script installed beside the interpreter running the tests.

    Never the first one on PATH: that may belong to another environment (a stray
    install outside `.venv`), which would test code other than this checkout's.
    """
    scripts = Path(sysconfig.get_path("scripts"))
    for name in ("trilemma", "trilemma.exe"):
        if (scripts / name).is_file():
            return str(scripts / name)
    raise AssertionError(
        f"the trilemma console script is not installed in {scripts} "
        f"(the environment of {sys.executable}); run `make test`"
    )
