"""In-process runs of the `trilemma` command line, shared by the CLI tests."""

import json

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
