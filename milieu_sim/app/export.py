"""Pictures and files out of the app: the ward as a matplotlib picture, a GIF written frame by frame, the
current view as PNG, the run's tables as a zip.

* :class:`WardPicture` draws the ward (floor plan, clients coloured by agitation, staff on duty, this
  hour's events, the clock) with matplotlib; ``milieu-sim animate`` and the PNG export share it.
* :class:`StreamingGif` writes an animated GIF one frame at a time to a temporary file beside the
  target and renames it into place when complete: memory stays bounded by one frame, and an
  interrupted run (Ctrl+C, a full disk) leaves no file that looks complete.
* :func:`view_png` is the page in view as one PNG; :func:`tables_zip` the run's tables (CSV) and its
  parameters (JSON) as a zip.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from milieu_sim.app.clock import clock_lines
from milieu_sim.app.ward_drawing import (
    CLIENT_STROKE,
    EVENT_MARKERS,
    STAFF_COLOUR,
    ZONE_COLOURS,
    ZONE_LABELS,
    client_frame,
    events_this_hour,
    staff_frame,
)
from milieu_sim.model.ward import ZONES

FIGURE_DPI = 80


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class WardPicture:
    """The ward drawn with matplotlib on a figure of its own; :meth:`update` redraws it for the model's hour."""

    def __init__(self, model, fig=None, rect=(0.02, 0.30, 0.96, 0.62), legend: bool = True) -> None:
        plt = _pyplot()
        from matplotlib.colors import ListedColormap
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        self.fig = fig if fig is not None else plt.figure(figsize=(9.6, 6.4), dpi=FIGURE_DPI)
        ax = self.fig.add_axes(rect)
        plan = model.plan
        ax.imshow(
            plan.zone.T,
            origin="lower",
            cmap=ListedColormap([ZONE_COLOURS[z] for z in ZONES]),
            vmin=-0.5,
            vmax=len(ZONES) - 0.5,
            interpolation="nearest",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        self.ax = ax
        self.title = self.fig.text(rect[0], min(0.97, rect[1] + rect[3] + 0.02), "", fontsize=12, fontweight="bold")
        cmap = plt.get_cmap("RdYlBu_r")
        self.clients = ax.scatter(
            [], [], s=90, c=[], cmap=cmap, vmin=0, vmax=1, edgecolors=CLIENT_STROKE, linewidths=0.8
        )
        self.staff = ax.scatter([], [], s=80, marker="s", color=STAFF_COLOUR)
        shapes = {"circle": "o", "diamond": "D", "square": "s"}
        self.rings = {
            cat: ax.scatter([], [], s=360, marker=shapes[shape], facecolors="none", edgecolors=colour, linewidths=2.2)
            for cat, (colour, shape, _) in EVENT_MARKERS.items()
        }
        if legend:
            zone_handles = [Patch(facecolor=ZONE_COLOURS[z], edgecolor="#888888", label=ZONE_LABELS[z]) for z in ZONES]
            mark_handles = [
                Line2D([], [], marker="o", ls="", markerfacecolor=cmap(0.8), markeredgecolor=CLIENT_STROKE,
                       label="client (colour: agitation, red = high)"),
                Line2D([], [], marker="s", ls="", color=STAFF_COLOUR, label="staff on duty"),
                *[
                    Line2D([], [], marker=shapes[shape], ls="", markerfacecolor="none", markeredgecolor=colour,
                           markeredgewidth=2, label=text)
                    for colour, shape, text in EVENT_MARKERS.values()
                ],
            ]  # fmt: skip
            self.fig.legend(
                handles=zone_handles, loc="lower left", bbox_to_anchor=(0.01, 0.01), ncol=3, fontsize=8, frameon=False
            )
            self.fig.legend(handles=mark_handles, loc="lower right", bbox_to_anchor=(0.99, 0.01), fontsize=8,
                            frameon=False)  # fmt: skip

    def update(self, model) -> None:
        lines = clock_lines(model)
        self.title.set_text(f"{lines[0]} · {lines[1]} · {lines[2]}\n{lines[3]}")
        c = client_frame(model)
        self.clients.set_offsets(c[["x", "y"]].to_numpy(dtype=float).reshape(-1, 2))
        self.clients.set_array(c["agitation"].to_numpy(dtype=float))
        s = staff_frame(model)
        self.staff.set_offsets(s[["x", "y"]].to_numpy(dtype=float).reshape(-1, 2))
        events = events_this_hour(model)
        for cat, ring in self.rings.items():
            subset = events[events["category"] == cat]
            ring.set_offsets(subset[["x", "y"]].to_numpy(dtype=float).reshape(-1, 2))

    def rgb(self) -> np.ndarray:
        """The figure as an RGB array (height x width x 3)."""
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        _pyplot().close(self.fig)


# --- GIF, one frame at a time ---------------------------------------------------------------------------
def _gif_frame_blocks(image) -> tuple[bytes, bytes, bytes]:
    """(local colour table, image position, size and interlace flag, image data blocks) of one PIL palette image,
    as GIF bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="GIF")
    data = buffer.getvalue()
    packed = data[10]
    pos = 13
    table = b""
    size_bits = packed & 0x07
    if packed & 0x80:
        table = data[pos : pos + 3 * (2 ** (size_bits + 1))]
        pos += len(table)
    while data[pos] == 0x21:  # extension blocks: skip (we write our own graphic control)
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    if data[pos] != 0x2C:
        raise ValueError("unexpected GIF layout")
    placement = data[pos + 1 : pos + 9] + bytes([data[pos + 9] & 0x40])  # left, top, width, height; interlaced
    descriptor_packed = data[pos + 9]
    pos += 10
    if descriptor_packed & 0x80:  # a local table already
        size_bits = descriptor_packed & 0x07
        table = data[pos : pos + 3 * (2 ** (size_bits + 1))]
        pos += len(table)
    end = pos + 1  # LZW minimum code size, then sub-blocks up to a zero-length block
    while data[end]:
        end += data[end] + 1
    end += 1
    return table, placement, data[pos:end]


class StreamingGif:
    """An animated GIF written frame by frame to ``<target>.<random>.part`` and renamed to ``target`` by
    :meth:`close`; :meth:`abort` (or leaving a ``with`` block by an exception) removes the partial file."""

    def __init__(self, target: Path, fps: int) -> None:
        self.target = Path(target)
        self.delay = max(1, round(100 / fps))  # in 1/100 s
        handle, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".part")
        self.partial = Path(name)
        self.file = os.fdopen(handle, "wb")
        self.frames = 0
        self.size: tuple[int, int] | None = None

    def add(self, rgb: np.ndarray) -> None:
        """Append one frame (an RGB array); it goes to disk at once."""
        from PIL import Image

        image = Image.fromarray(rgb, "RGB").quantize(colors=256)
        table, placement, blocks = _gif_frame_blocks(image)
        width, height = image.size
        if self.size is None:
            self.size = (width, height)
            self.file.write(b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0))
            self.file.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # loop for ever
        elif (width, height) != self.size:
            raise ValueError("every frame of a GIF must have the same size")
        bits = max(1, (len(table) // 3 - 1).bit_length()) - 1
        table = table.ljust(3 * 2 ** (bits + 1), b"\x00")
        self.file.write(b"\x21\xf9\x04" + struct.pack("<BHB", 0x04, self.delay, 0) + b"\x00")
        self.file.write(b"\x2c" + placement[:8] + bytes([0x80 | placement[8] | bits]) + table + blocks)
        self.file.flush()
        self.frames += 1

    def close(self) -> None:
        """Finish the file and move it into place."""
        self.file.write(b"\x3b")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.partial, self.target)

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> StreamingGif:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


# --- the current view, the run's tables ---------------------------------------------------------------------
def view_png(model, view: str = "ward", pair=None, told=None) -> bytes:
    """The page in view as a PNG: ``ward`` (the ward and its charts), ``two`` (two wards and their
    conflict per day) or ``stay`` (one client's stay, ``told`` from :func:`milieu_sim.analysis.story.stay_story`)."""
    plt = _pyplot()
    from milieu_sim.app.charts import shift_series

    if view == "stay" and told is not None:
        from milieu_sim.analysis.story import stay_figure

        fig = stay_figure(told)
    elif view == "two" and pair is not None:
        wards = list(pair.models.items())
        fig = plt.figure(figsize=(6.4 * len(wards), 6.4), dpi=FIGURE_DPI)
        for k, (name, ward) in enumerate(wards):
            width = 1 / len(wards)
            picture = WardPicture(ward, fig=fig, rect=(k * width + 0.01, 0.36, width - 0.02, 0.52), legend=False)
            picture.update(ward)
            picture.title.set_text(f"{name}\n{clock_lines(ward)[0]} · {clock_lines(ward)[3]}")
        ax = fig.add_axes((0.06, 0.06, 0.9, 0.22))
        for name, ward in wards:
            data = shift_series(ward)
            if len(data):
                daily = data.groupby("day")["conflict"].sum()
                ax.plot(daily.index, daily.to_numpy(), marker="o", label=name)
        ax.set(xlabel="ward day", ylabel="conflict per day")
        if ax.lines:
            ax.legend(fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, "no hour on the clock yet", ha="center", va="center", transform=ax.transAxes)
    else:
        fig = plt.figure(figsize=(14, 6.4), dpi=FIGURE_DPI)
        picture = WardPicture(model, fig=fig, rect=(0.01, 0.30, 0.52, 0.6))
        picture.update(model)
        data = shift_series(model)
        panels = [
            (("conflict", "containment"), "events per shift"),
            (("skill", "self_control", "trust"), "mean state (0-1)"),
            (("census", "isolated"), "clients"),
        ]
        for k, (columns, label) in enumerate(panels):
            ax = fig.add_axes((0.6, 0.72 - 0.3 * k, 0.38, 0.22))
            for column in columns:
                if len(data):
                    ax.step(data["time"], data[column], where="post", label=column.replace("_", "-"))
            ax.set_ylabel(label, fontsize=8)
            if len(data):
                ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=3)
            else:
                ax.text(0.5, 0.5, "no hour on the clock yet", ha="center", va="center", transform=ax.transAxes)
        fig.axes[-1].set_xlabel("ward day")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
    plt.close(fig)
    return buffer.getvalue()


def tables_zip(model, extra: dict[str, Any] | None = None) -> bytes:
    """The run's tables as CSV files (counted on the clock, as ``model.tables()``) and its parameters, zipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, frame in model.tables().items():
            archive.writestr(f"{name}.csv", frame.to_csv(index=False))
        about = {"parameters": model.parameters(), "hours_on_the_clock": model.steps - model.clock_start}
        about.update(extra or {})
        archive.writestr("run.json", json.dumps(about, indent=2, default=str))
    return buffer.getvalue()
