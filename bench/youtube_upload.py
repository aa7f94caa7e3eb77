"""YouTube upload benchmark: one large video through the adapter's resumable upload, memory measured.

    python bench/youtube_upload.py              # 1 GiB
    python bench/youtube_upload.py --mib 256    # a smaller file

A sparse file of the given size (an MP4 header, then zeros) is uploaded through
``YouTubeAdapter.publish`` to the YouTube emulator, which runs in a process of its own so that
each side's memory is its own. Printed: the upload's time and throughput, this process's peak
resident set size (``ru_maxrss``) before and after the upload (the worker's side: a video must
stream through in 8 MiB chunks, never sit whole in memory) and the emulator process's peak
(``VmHWM``: it writes each chunk to a temporary file as it arrives). The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # rupor

import benchenv

benchenv.setup("bench_youtube_upload")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")

import django  # noqa: E402 - after the environment above

django.setup()

from rupor.networks import registry  # noqa: E402 - after django.setup()
from rupor.networks.base import Content, Media, MemoryProgress, PublishRequest  # noqa: E402 - as above
from rupor.networks.emulation import EmulatorProcess  # noqa: E402 - as above
from rupor.networks.youtube import testing  # noqa: E402 - as above


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _process_peak_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _sparse_video(directory: str, size: int) -> Path:
    path = Path(directory) / "big.mp4"
    with path.open("wb") as out:
        out.write(testing.MP4_HEAD)
        out.truncate(size)  # the rest is a hole: no disk, no page cache to speak of until read
    return path


def _media(path: Path) -> Media:
    with path.open("rb") as handle:
        head = handle.read(256)
    return Media("video", path.name, "video/mp4", path.stat().st_size, lambda: path.open("rb"), head)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=1024, help="size of the video in MiB (default 1024)")
    args = parser.parse_args()
    size = args.mib * 1024 * 1024
    adapter = registry.adapter("youtube")
    with tempfile.TemporaryDirectory(prefix="rupor-yt-") as tmp, EmulatorProcess("youtube") as emulator:
        channel = testing.channel_for(emulator, settings={"timeout": 60})
        # Warm up (imports, connections, the first small upload), then take the baseline.
        adapter.publish(channel, PublishRequest(testing.content_for("warm-up"), "warm"), MemoryProgress())
        before = _peak_mib()
        path = _sparse_video(tmp, size)
        request = PublishRequest(
            Content(text=f"Big upload {args.mib} MiB\nA long video", media=(_media(path),)), "big"
        )
        started = time.perf_counter()
        published = adapter.publish(channel, request, MemoryProgress())
        seconds = time.perf_counter() - started
        after = _peak_mib()
        emulator_peak = _process_peak_mib(emulator.pid)
        videos = testing.posts_with(emulator, f"Big upload {args.mib} MiB")
    figures = {
        "video_mib": args.mib,
        "seconds": round(seconds, 2),
        "mib_per_s": round(args.mib / seconds, 1),
        "worker_peak_rss_mib_before": round(before, 1),
        "worker_peak_rss_mib_after": round(after, 1),
        "worker_peak_rss_growth_mib": round(after - before, 1),
        "emulator_peak_rss_mib": round(emulator_peak, 1) if emulator_peak is not None else None,
        "videos_created": videos,
        "video_id": published.remote_id,
    }
    print(
        f"uploaded {args.mib} MiB in {seconds:.1f} s ({figures['mib_per_s']} MiB/s); worker peak RSS "
        f"{before:.0f} -> {after:.0f} MiB (+{after - before:.0f}); emulator peak RSS {emulator_peak:.0f} MiB; "
        f"{videos} video"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
