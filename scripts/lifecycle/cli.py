"""The `lifecycle` command line."""

from __future__ import annotations

import argparse
import sys

from lifecycle import build, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lifecycle", description="Customer-lifecycle warehouse")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, module, help_text in [
        ("build", build, "dbt build the warehouse and print where the results are"),
        ("generate", generate, "write deterministic synthetic payments and customers"),
    ]:
        sub = commands.add_parser(name, help=help_text)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
