"""The `cmdkeeper` command group: its commands, and failures turned into one-line errors."""

from __future__ import annotations

import click
import redis

from cli.dead_letters import dead_letters
from cli.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_REDIS, CliError
from cli.list_commands import list_commands
from cli.listen import listen_command
from cli.reconcile import reconcile_command
from cli.revoke import revoke_command
from cli.session import Session
from cli.sweep import sweep_command
from cmdkeeper.config import Config, ConfigError
from cmdkeeper.logs import setup_logging
from platforms.errors import PlatformError


class CliGroup(click.Group):
    """A group whose commands fail with one line and an exit code of the failure's kind."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (redis.ConnectionError, redis.TimeoutError) as e:
            raise CliError(f"Redis unreachable: {e}", EXIT_REDIS) from None
        except ConfigError as e:
            raise CliError(str(e), EXIT_CONFIG) from None
        except PlatformError as e:
            raise CliError(str(e), EXIT_FAILED) from None
        finally:
            # a one-off process counts like the others (revocations, platform calls): its
            # counting reaches the fleet's metrics before it exits, whatever the outcome
            session = ctx.find_object(Session)
            if session is not None:
                try:
                    session.flush_metrics()
                except redis.RedisError:
                    pass  # Redis away: already reported, nothing more to lose


def _logging(verbose: bool) -> None:
    try:
        config = Config.from_env()
    except ConfigError:
        config = Config()  # the command itself reports the bad variable
    # a person reads these, on a terminal: text lines, and only warnings unless asked
    setup_logging(config.with_(log_level="INFO" if verbose else "WARNING", log_format="text"),
                  role="cli")


@click.group(cls=CliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what the jobs do (stderr).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Operate cmdkeeper: inspect, revoke and reconcile device commands, replay failed jobs.

    Reads the same environment as the processes (REDIS_URL, the platform settings, ...) and
    works on Redis and the platforms directly. Exit codes: 0 done, 1 failed, 2 usage,
    3 not found, 4 configuration, 5 Redis unreachable.

    \b
    Example:
      python -m cmdkeeper commands huawei valve-1
    """
    session = ctx.ensure_object(Session)
    if session.configure_logging:
        _logging(verbose)


for command in (list_commands, revoke_command, reconcile_command, sweep_command, dead_letters,
                listen_command):
    cli.add_command(command)
