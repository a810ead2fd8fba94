"""`python -m cmdkeeper`: the operator CLI (see cli/)."""

from cli.main import cli
from cli.session import Session


def main() -> None:
    cli.main(prog_name="python -m cmdkeeper", obj=Session(configure_logging=True))


if __name__ == "__main__":
    main()
