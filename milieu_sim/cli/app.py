"""Command-line entry points for the browser app and for animations.

    milieu-sim app [--host 127.0.0.1] [--port 8765] [--lesson NAME]
    milieu-sim animate --policy P --days D --out FILE.gif [--seed N]

``register(sub)`` adds both commands to the ``milieu-sim`` parser
(:data:`milieu_sim.cli.main.COMMAND_GROUPS`).  Bad input is reported in one
line with exit status 2, like every other command.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path

from milieu_sim.cli.common import (
    CliError,
    add_schema_options,
    announce_kernel_compilation,
    out_file,
    positive,
    print_note,
    require_extra,
    schema_values,
    seed,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LESSON_ENV = "MILIEU_SIM_LESSON"  # the lesson `app --lesson` asks the page to open
ANIMATION_FPS = 6


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``app`` and ``animate`` commands."""
    p_app = sub.add_parser(
        "app", help="start the interactive ward in the browser (Mesa SolaraViz) and print its address"
    )
    p_app.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this machine)"
    )
    p_app.add_argument("--port", default=str(DEFAULT_PORT), help=f"port to listen on (default {DEFAULT_PORT})")
    p_app.add_argument(
        "--lesson",
        default=None,
        help="open a lesson: a shipped one by name (the app lists them) or a lesson file ending in .toml",
    )
    p_app.set_defaults(handler=cmd_app)

    p_anim = sub.add_parser("animate", help="render a run of the ward as an animated GIF with clock and legend")
    p_anim.add_argument("--out", required=True, help="the GIF file to write")
    p_anim.add_argument("--seed", default="0", help="random seed (default 0)")
    p_anim.add_argument("--every", default="1", help="draw one frame every N hours (default 1)")
    add_schema_options(p_anim)
    p_anim.set_defaults(handler=cmd_animate)


def _port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 < value < 65536:
        raise CliError(f"parameter 'port' = {raw!r} is not allowed; allowed: an integer from 1 to 65535")
    return value


def _check_bind(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise CliError(f"parameter 'host' = {host!r}: unknown address") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except socket.gaierror:
            return False
        return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def bundled_assets() -> Path:
    """Where the ``solara-assets`` package put Solara's front-end files (npm packages, by version)."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def offline_assets(bundle: Path, target: Path) -> Path:
    """Lay out ``target`` as Solara's asset cache: the bundled packages plus major-version aliases.

    Solara's widgets ask for some packages by major version (``vega@5/...``), which
    a CDN resolves to the newest release; ``solara-assets`` stores exact versions
    (``vega@5.21.0``).  Links from ``vega@5`` and ``vega@5.21`` to the newest
    bundled release let the server answer those requests without the internet.
    """
    target.mkdir(parents=True, exist_ok=True)
    for folder in [bundle, *(p for p in bundle.iterdir() if p.is_dir() and p.name.startswith("@"))]:
        out = target / folder.relative_to(bundle)
        out.mkdir(parents=True, exist_ok=True)
        releases: dict[str, list[tuple[tuple[int, ...], Path]]] = {}
        for entry in sorted(folder.iterdir()):
            if folder == bundle and entry.name.startswith("@"):
                continue
            link = out / entry.name
            if not link.exists():
                link.symlink_to(entry, target_is_directory=entry.is_dir())
            name, _, version = entry.name.rpartition("@")
            parts = version.split(".")
            if name and all(part.isdigit() for part in parts):
                numbers = tuple(int(part) for part in parts)
                for depth in range(1, len(numbers)):
                    alias = f"{name}@{'.'.join(parts[:depth])}"
                    releases.setdefault(alias, []).append((numbers, entry))
        for alias, candidates in releases.items():
            link = out / alias
            if not link.exists():
                link.symlink_to(max(candidates)[1], target_is_directory=True)
    return target


def cmd_app(args: argparse.Namespace) -> int:
    import tempfile

    host = str(args.host)
    port = _port(args.port)
    lesson = None
    if args.lesson is not None:
        from milieu_sim.app.lessons import load_lesson

        lesson = load_lesson(str(args.lesson))  # checked now: a bad lesson is one line, before the server starts
    _check_bind(host, port)
    if not is_loopback(host):
        print_note(
            f"app: warning: listening on {host}, not only this machine: the app has no authentication, so anyone "
            "who can reach this address can use it (the default --host 127.0.0.1 serves this machine only)"
        )
    bundle = bundled_assets()
    if not bundle.is_dir():
        raise CliError(f"the solara-assets package is missing ({bundle} not found): pip install milieu-sim again")
    with tempfile.TemporaryDirectory(prefix="milieu-sim-assets-") as cache:
        # Solara's server reads these when it is imported: serve milieu_sim.app.page in production
        # mode, its front end from the bundled assets (no CDN), and no telemetry.
        os.environ["SOLARA_APP"] = "milieu_sim.app.page"
        os.environ["SOLARA_MODE"] = "production"
        os.environ["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(offline_assets(bundle, Path(cache)))
        os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
        if lesson is not None:  # the page opens it (a teacher's file is read here, by the command line)
            os.environ[LESSON_ENV] = json.dumps({"name": lesson.name, "source": str(args.lesson)})
        else:
            os.environ.pop(LESSON_ENV, None)
        os.environ["SERVER_NAME"] = host
        os.environ["SERVER_PORT"] = str(port)
        require_extra("app")  # imports solara: only once its environment above is set
        import uvicorn

        print(f"milieu-sim app: open http://{host}:{port}/ in a browser (Ctrl+C to stop)", flush=True)
        config = uvicorn.Config("solara.server.starlette:app", host=host, port=port, log_level="warning")
        uvicorn.Server(config).run()
    return 0


def _every(raw: str) -> int:
    return positive("every", raw)


def cmd_animate(args: argparse.Namespace) -> int:
    from milieu_sim.model.model import MilieuModel

    params = schema_values(args)
    run_seed = seed(args.seed)
    every = _every(args.every)
    out = out_file(args.out, ".gif")
    model = MilieuModel(rng=run_seed, **params)  # validates everything before any work
    require_extra("app", ["altair"])  # the ward's drawing
    announce_kernel_compilation()
    frames = animate(model, out, every=every)
    print(
        f"wrote {out} ({frames} frames, {model.p['days']} days of {model.setting} / {model.policy.name}, "
        f"seed {run_seed})"
    )
    return 0


def animate(model, out: Path, every: int = 1, fps: int = ANIMATION_FPS) -> int:
    """Run ``model`` for its ``days`` and write the ward, hour by hour, as a GIF; return the number of frames.

    Frames go to disk one at a time (memory stays bounded by one frame) into a temporary file beside
    ``out``, which is renamed to ``out`` only when the last frame is written: an interrupted animation
    (Ctrl+C, a full disk) leaves no GIF that looks complete.
    """
    from milieu_sim.app.export import StreamingGif, WardPicture

    hours = 24 * int(model.p["days"])
    n_frames = max(1, -(-hours // every))
    picture = WardPicture(model)
    try:
        with StreamingGif(out, ANIMATION_FPS if fps is None else fps) as gif:
            for _ in range(n_frames):
                for _ in range(every):
                    if model.steps - model.clock_start < hours:
                        model.step()
                picture.update(model)
                gif.add(picture.rgb())
    except OSError as exc:
        raise CliError(f"parameter 'out' = '{out}': cannot write there ({exc.strerror or exc})") from None
    finally:
        picture.close()
    return n_frames
