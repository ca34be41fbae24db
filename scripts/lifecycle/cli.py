"""The `lifecycle` command line. Exit codes: 0 success, 1 internal error, 2 usage error,
3 invalid input files, 4 failed checks (dbt tests or Great Expectations suites), 5 the PostgreSQL
server could not be reached or refused (publish)."""

from __future__ import annotations

import argparse
import sys

from lifecycle import generate, pipeline, publish, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lifecycle", description="Customer-lifecycle warehouse")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, add_arguments, handler, help_text in [
        (
            "run",
            pipeline.add_run_arguments,
            pipeline.run_command,
            "load, validate, build, check and publish the warehouse",
        ),
        ("check", pipeline.add_check_arguments, pipeline.check_command, "validate the input files only"),
        (
            "publish",
            publish.add_arguments,
            publish.run,
            "copy the published marts to a PostgreSQL server for BI tools, with a read-only role",
        ),
        (
            "report",
            report.add_arguments,
            report.run,
            "write the HTML report of the published warehouse (charts, win-back list, data quality)",
        ),
        (
            "generate",
            generate.add_arguments,
            generate.run,
            "write deterministic synthetic payments and customers",
        ),
    ]:
        sub = commands.add_parser(name, help=help_text)
        add_arguments(sub)
        sub.set_defaults(handler=handler)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
