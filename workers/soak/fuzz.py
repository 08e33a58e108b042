"""A corpus of hostile inputs: segments and bus messages that must become dead letters.

Used by the fuzz tests and injected by ``feedwatch soak`` into the live segments
topic, so the same bad inputs are checked in-process and through the Kafka worker.
Everything is generated with PyAV in memory (no files), seeded, and small: the 8K
case is a single black frame, which compresses to a few kilobytes.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from connectors.bus import messages as msg
from pipeline.types import Segment


def _encode(
    container: str, codec: str, size: tuple[int, int], frames: int = 4, fps: int = 4, **opts: str
) -> bytes:
    """A tiny video stream of grey frames, muxed in memory."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p" if codec not in ("ffv1", "png") else stream.pix_fmt
        stream.options = opts
        for i in range(frames):
            rgb = np.full((size[1], size[0], 3), 40 + 10 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def valid_ts(size: tuple[int, int] = (160, 96), frames: int = 4) -> bytes:
    """A well-formed H.264 MPEG-TS segment (the shape the product ingests)."""
    return _encode("mpegts", "libx264", size, frames, preset="ultrafast", g="4")


def audio_only_ts(seconds: float = 0.5) -> bytes:
    """An MPEG-TS with one MP2 audio stream and no video."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as out:
        stream = out.add_stream("mp2", rate=48000)
        samples = int(48000 * seconds)
        pcm = np.zeros((1, samples), np.int16)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def unsupported_codec_mkv() -> bytes:
    """A Matroska segment carrying FFV1 (lossless archive codec, not a camera codec)."""
    return _encode("matroska", "ffv1", (64, 48), frames=2)


def huge_frame_ts() -> bytes:
    """An 8K (7680x4320) H.264 MPEG-TS: one flat frame, a few KiB on the wire."""
    return _encode("mpegts", "libx264", (7680, 4320), frames=1, preset="ultrafast")


def random_bytes(n: int = 4096, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def ts_like_garbage(n: int = 188 * 40, seed: int = 1) -> bytes:
    """Random bytes framed as TS packets (sync byte every 188): gets past the probe."""
    rng = random.Random(seed)
    return b"".join(b"\x47" + rng.randbytes(187) for _ in range(n // 188))


def bad_segment_payloads() -> dict[str, tuple[str, bytes]]:
    """name -> (container, bytes) of segments that can never yield a frame."""
    return {
        "zero-length": ("mpegts", b""),
        "random-bytes": ("mpegts", random_bytes()),
        "ts-framed-garbage": ("mpegts", ts_like_garbage()),
        "truncated-header": ("mpegts", valid_ts()[:100]),
        "audio-only": ("mpegts", audio_only_ts()),
        "unsupported-codec": ("matroska", unsupported_codec_mkv()),
        "8k-frame": ("mpegts", huge_frame_ts()),
    }


def bad_segments(camera: str, first_seq: int, start: float | None = None) -> list[Segment]:
    """One :class:`Segment` per bad payload, numbered from ``first_seq``."""
    t0 = time.time() if start is None else start
    out = []
    for i, (container, data) in enumerate(bad_segment_payloads().values()):
        out.append(Segment(camera, first_seq + i, t0 + i, 1.0, data, container=container))
    return out


Mutator = Callable[[msg.Message], msg.Message]


def bad_messages(camera: str, seq: int) -> dict[str, msg.Message]:
    """Segment-topic messages that ``decode_segment`` must refuse (``MessageError``)."""
    good = msg.encode_segment(Segment(camera, seq, time.time(), 1.0, b"x"))
    h = dict(good.headers)

    def with_headers(**changes: bytes | None) -> msg.Message:
        merged = {**h, **changes}
        kept = [(k, v) for k, v in merged.items() if v is not None]
        return msg.Message(good.key, good.value, kept)

    return {
        "no-headers": msg.Message(good.key, good.value, []),
        "schema-99": with_headers(schema=b"99"),
        "schema-garbage": with_headers(schema=b"\xff\xfe"),
        "seq-not-int": with_headers(seq=b"one"),
        "start-nan": with_headers(start=b"nan"),
        "empty-key": msg.Message(b"", good.value, good.headers),
        "missing-value": msg.Message(good.key, None, good.headers),
    }


def bad_json_bodies() -> dict[str, bytes]:
    """Query/answer bodies that must be refused: not JSON, wrong shape, unknown schema."""
    return {
        "not-json": b"{not json",
        "not-utf8": b"\xff\xfe\xfd",
        "json-array": b"[1, 2, 3]",
        "json-null": b"null",
        "schema-missing": json.dumps({"id": "q"}).encode(),
        "schema-2": json.dumps({"schema": 2, "id": "q"}).encode(),
        "schema-string": json.dumps({"schema": "1", "id": "q"}).encode(),
        "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
        "huge-number": b'{"schema": 1e999999}',
    }


def kafka_corpus(tag: str) -> list[tuple[str, msg.Message]]:
    """(topic suffix, message) of every hostile record the soak sends to the bus.

    Segments go to camera ``tag`` (a camera of their own); bad queries and answers
    use keys of their own, so no real query or answer is touched.
    """
    out: list[tuple[str, msg.Message]] = []
    out += [("segments", msg.encode_segment(s)) for s in bad_segments(tag, 1)]
    out += [("segments", m) for m in bad_messages(tag, 1).values()]
    schema = [("schema", b"1")]
    for name, body in bad_json_bodies().items():
        out.append(("queries", msg.Message(f"{tag}-q-{name}".encode(), body, schema)))
        out.append(("answers", msg.Message(f"{tag}-a-{name}".encode(), body, schema)))
    return out


def inject(bootstrap: str, prefix: str, tag: str) -> list[str]:
    """Put :func:`kafka_corpus` on the topics under ``prefix``, each record marked with
    the soak's fuzz header; the marks, for finding their dead letters."""
    from kafka import KafkaProducer

    from connectors.kafka.clients import kafka_client
    from workers.config import KafkaSettings
    from workers.soak.report import FUZZ_HEADER

    marks = []
    producer = kafka_client(KafkaProducer, KafkaSettings(bootstrap=bootstrap),
                            acks="all", max_request_size=8 * 1024 * 1024)
    try:
        for i, (topic, (key, value, headers)) in enumerate(kafka_corpus(tag)):
            mark = f"{tag}-{i}"
            headers = [*headers, (FUZZ_HEADER, mark.encode())]
            producer.send(f"{prefix}{topic}", key=key or None, value=value,
                          headers=headers).get(30)
            marks.append(mark)
    finally:
        producer.close()
    return marks
