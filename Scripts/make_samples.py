#!/usr/bin/env python3
"""Render Spotter's synthetic sample media and the Media module's test fixtures.

Run from the repository root:  python3 Scripts/make_samples.py
Needs numpy and the ffmpeg/ffprobe command-line tools (libx264, libvpx-vp9). Everything is
deterministic (fixed seeds, single-threaded encoders); the outputs are committed and nothing
is generated at test time.

Outputs
-------
Samples/shapes.mp4            7 s, 30 fps, 640x360 H.264 (yuv420p, B-frames, GOP 60, faststart)
Samples/shapes.points.json    ground-truth point tracks for shapes.mp4 (schema below)
Samples/stills/*.png, *.jpg   the same scene at a few frame times (PNG is the exact render)
Tests/MediaTests/Fixtures/    frame-numbered videos in several containers/codecs, bad files,
                              and expected.json (values read with ffprobe at generation time)

shapes.points.json schema
-------------------------
{
  "video": "shapes.mp4",            file name, relative to this JSON file
  "width": 640, "height": 360,      source pixel size
  "fps": 30, "frame_count": 210,    frame k is shown at time k / fps seconds
  "coordinates": "...",             the convention, repeated in words
  "points": [
    {
      "id": 0,                      stable integer id
      "label": "disc cell a",       human-readable name
      "shape": "checker disc",      which moving shape the point is fixed to
      "color": [r, g, b],           texture colour at the point (constant within 5 px of it)
      "positions": [[x, y], ...],   frame_count entries: true position in source pixels (float),
                                    continuous coordinates with the origin at the top-left corner
                                    of the top-left pixel (pixel (c, r) covers [c, c+1) x [r, r+1))
      "visible": [true, ...]        frame_count entries: false when the point is covered by
                                    another shape or lies outside the frame
    }, ...
  ]
}

Frame-numbered fixtures
-----------------------
Every fixture frame is 160x96 and shows a 5x3 grid of 32x32 blocks, each black (bit 0) or white
(bit 1). Bit k (k = 0..14) is block (row k // 5, column k % 5). Bits 0-9 hold the frame number,
bits 10-14 hold the check value (number * 13 + 7) % 31. The frame number is the frame's position
in presentation order, so frame index i of a correct decoder shows number i.
"""

import json
import os
import shutil
import subprocess
import sys
import zlib
import struct

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "Samples")
STILLS = os.path.join(SAMPLES, "stills")
FIXTURES = os.path.join(ROOT, "Tests", "MediaTests", "Fixtures")

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def run(args, stdin_bytes=None):
    """Run a command, fail loudly with its stderr."""
    proc = subprocess.run(args, input=stdin_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        raise SystemExit(f"command failed: {' '.join(args)}")
    return proc.stdout


def encode_raw(frames, width, height, fps, out_args, input_rate=None):
    """Pipe RGB24 frames (iterable of HxWx3 uint8 arrays) to ffmpeg with the given output args."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-r", str(input_rate or fps), "-i", "-"] + out_args
    data = b"".join(np.ascontiguousarray(f, dtype=np.uint8).tobytes() for f in frames)
    run(args, stdin_bytes=data)


def write_png(path, rgb):
    """Minimal PNG writer (stdlib zlib) so stills are the exact render."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, payload):
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def smooth_noise(rng, h, w, cell, channels=3):
    """Value noise: random values on a coarse grid, bilinearly interpolated (smooth, deterministic)."""
    gh, gw = h // cell + 2, w // cell + 2
    grid = rng.random((gh, gw, channels))
    ys = (np.arange(h) + 0.5) / cell
    xs = (np.arange(w) + 0.5) / cell
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    fy = fy * fy * (3 - 2 * fy)
    fx = fx * fx * (3 - 2 * fx)
    a = grid[y0][:, x0]
    b = grid[y0][:, x0 + 1]
    c = grid[y0 + 1][:, x0]
    d = grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


# --------------------------------------------------------------------------------------------
# The shapes scene
# --------------------------------------------------------------------------------------------

W, H, FPS, SECONDS = 640, 360, 30, 7
FRAMES = FPS * SECONDS


class Disc:
    """Checker-textured disc that rotates while it moves. Local texture coordinates are the
    offset from the centre, rotated back by the disc's angle."""

    name = "checker disc"
    radius = 52.0
    cell = 16.0
    colors = (np.array([236, 204, 40], np.float64), np.array([28, 44, 128], np.float64))

    def pose(self, t):
        cx = 310 + 325 * np.sin(2 * np.pi * t / 7.0 + 0.3)   # leaves the frame at both sides briefly
        cy = 175 + 95 * np.sin(2 * np.pi * t / 3.5 + 1.1)
        angle = 0.55 * t
        return cx, cy, angle

    def to_local(self, t, x, y):
        cx, cy, a = self.pose(t)
        dx, dy = x - cx, y - cy
        c, s = np.cos(a), np.sin(a)
        return c * dx + s * dy, -s * dx + c * dy

    def to_world(self, t, u, v):
        cx, cy, a = self.pose(t)
        c, s = np.cos(a), np.sin(a)
        return cx + c * u - s * v, cy + s * u + c * v

    def inside(self, u, v):
        return u * u + v * v < self.radius * self.radius

    def texture(self, u, v):
        parity = (np.floor(u / self.cell) + np.floor(v / self.cell)).astype(np.int64) & 1
        return np.where(parity[..., None] == 0, self.colors[0], self.colors[1])

    def bbox(self, t):
        cx, cy, _ = self.pose(t)
        r = self.radius + 2
        return cx - r, cy - r, cx + r, cy + r


class StripedRect:
    """Rectangle with vertical red/white stripes; translates without rotating. Drawn on top."""

    name = "striped rectangle"
    half_w, half_h = 78.0, 42.0
    stripe = 13.0
    colors = (np.array([214, 48, 52], np.float64), np.array([240, 240, 236], np.float64))

    def pose(self, t):
        cx = 470 - 300 * (0.5 - 0.5 * np.cos(2 * np.pi * t / 7.0))
        cy = 250 + 40 * np.sin(2 * np.pi * t / 2.8)
        return cx, cy, 0.0

    def to_local(self, t, x, y):
        cx, cy, _ = self.pose(t)
        return x - cx, y - cy

    def to_world(self, t, u, v):
        cx, cy, _ = self.pose(t)
        return cx + u, cy + v

    def inside(self, u, v):
        return (np.abs(u) < self.half_w) & (np.abs(v) < self.half_h)

    def texture(self, u, v):
        k = np.floor((u + self.half_w) / self.stripe).astype(np.int64) & 1
        base = np.where(k[..., None] == 0, self.colors[0], self.colors[1])
        return base

    def bbox(self, t):
        cx, cy, _ = self.pose(t)
        return cx - self.half_w - 2, cy - self.half_h - 2, cx + self.half_w + 2, cy + self.half_h + 2


class NoiseBlob:
    """Ellipse filled with smooth colour noise; moves on a slow loop. Drawn at the bottom."""

    name = "noise blob"
    rx, ry = 70.0, 50.0

    def __init__(self, rng):
        size = 160
        noise = smooth_noise(rng, size, size, 20)
        self.tex = np.empty((size, size, 3))
        self.tex[..., 0] = 30 + 90 * noise[..., 0]
        self.tex[..., 1] = 120 + 120 * noise[..., 1]
        self.tex[..., 2] = 80 + 140 * noise[..., 2]
        self.size = size

    def pose(self, t):
        cx = 300 + 90 * np.cos(2 * np.pi * t / 7.0)
        cy = 210 - 60 * np.sin(2 * np.pi * t / 7.0)
        return cx, cy, 0.0

    def to_local(self, t, x, y):
        cx, cy, _ = self.pose(t)
        return x - cx, y - cy

    def to_world(self, t, u, v):
        cx, cy, _ = self.pose(t)
        return cx + u, cy + v

    def inside(self, u, v):
        return (u / self.rx) ** 2 + (v / self.ry) ** 2 < 1.0

    def texture(self, u, v):
        # Bilinear lookup in the texture image, texture centre = shape centre.
        fx = np.clip(u + self.size / 2 - 0.5, 0, self.size - 1.001)
        fy = np.clip(v + self.size / 2 - 0.5, 0, self.size - 1.001)
        x0 = np.floor(fx).astype(int)
        y0 = np.floor(fy).astype(int)
        ax = (fx - x0)[..., None]
        ay = (fy - y0)[..., None]
        t = self.tex
        return ((t[y0, x0] * (1 - ax) + t[y0, x0 + 1] * ax) * (1 - ay)
                + (t[y0 + 1, x0] * (1 - ax) + t[y0 + 1, x0 + 1] * ax) * ay)

    def bbox(self, t):
        cx, cy, _ = self.pose(t)
        return cx - self.rx - 2, cy - self.ry - 2, cx + self.rx + 2, cy + self.ry + 2


def make_background(rng):
    noise = smooth_noise(rng, H, W, 48)
    fine = smooth_noise(rng, H, W, 6)
    bg = np.empty((H, W, 3))
    bg[..., 0] = 70 + 50 * noise[..., 0] + 18 * fine[..., 0]
    bg[..., 1] = 78 + 40 * noise[..., 1] + 18 * fine[..., 1]
    bg[..., 2] = 92 + 45 * noise[..., 2] + 18 * fine[..., 2]
    yy, xx = np.mgrid[0:H, 0:W]
    grid = ((xx % 40) < 2) | ((yy % 40) < 2)
    bg[grid] *= 0.72
    return bg


def render_scene(shapes, background, t):
    """Shapes are listed bottom to top; each pixel is sampled at its centre."""
    img = background.copy()
    for shape in shapes:
        x0, y0, x1, y1 = shape.bbox(t)
        xa, xb = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), W)
        ya, yb = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), H)
        if xa >= xb or ya >= yb:
            continue
        yy, xx = np.mgrid[ya:yb, xa:xb]
        u, v = shape.to_local(t, xx + 0.5, yy + 0.5)
        mask = shape.inside(u, v)
        tex = shape.texture(u, v)
        region = img[ya:yb, xa:xb]
        region[mask] = tex[mask]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_shapes_sample():
    rng = np.random.default_rng(20240611)
    background = make_background(rng)
    blob = NoiseBlob(rng)
    disc = Disc()
    rect = StripedRect()
    shapes = [blob, disc, rect]   # bottom to top

    # Points fixed on the textures, in each shape's local coordinates. Disc points sit at checker
    # cell centres, rectangle points at stripe centres, so the colour is constant around them.
    point_defs = [
        (disc, "disc cell a", (8.0, 8.0)),
        (disc, "disc cell b", (-24.0, 8.0)),
        (disc, "disc cell c", (24.0, -24.0)),
        (disc, "disc cell d", (-8.0, 40.0)),
        (rect, "stripe 1 top", (-78.0 + 6.5, -24.0)),
        (rect, "stripe 4 middle", (-78.0 + 3 * 13 + 6.5, 0.0)),
        (rect, "stripe 7 bottom", (-78.0 + 6 * 13 + 6.5, 26.0)),
        (rect, "stripe 12 top", (-78.0 + 11 * 13 + 6.5, -30.0)),
        (blob, "blob centre", (0.0, 0.0)),
        (blob, "blob left", (-45.0, 6.0)),
        (blob, "blob right", (42.0, -12.0)),
        (blob, "blob top", (6.0, -32.0)),
    ]

    frames = []
    points = []
    for pid, (shape, label, (u, v)) in enumerate(point_defs):
        color = shape.texture(np.array([u]), np.array([v]))[0]
        points.append({"id": pid, "label": label, "shape": shape.name,
                       "color": [int(round(c)) for c in color],
                       "positions": [], "visible": []})

    for k in range(FRAMES):
        t = k / FPS
        frames.append(render_scene(shapes, background, t))
        for pid, (shape, _, (u, v)) in enumerate(point_defs):
            x, y = shape.to_world(t, u, v)
            x, y = float(x), float(y)
            inside_frame = 0.0 <= x < W and 0.0 <= y < H
            covered = False
            above = shapes[shapes.index(shape) + 1:]
            for other in above:
                ou, ov = other.to_local(t, np.array([x]), np.array([y]))
                if bool(other.inside(ou, ov)[0]):
                    covered = True
            points[pid]["positions"].append([round(x, 4), round(y, 4)])
            points[pid]["visible"].append(bool(inside_frame and not covered))

    os.makedirs(STILLS, exist_ok=True)
    encode_raw(frames, W, H, FPS, [
        "-c:v", "libx264", "-preset", "medium", "-crf", "21", "-pix_fmt", "yuv420p",
        "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-bf", "3",
        "-x264-params", "b-adapt=0:threads=1", "-threads", "1",
        "-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m",
        "-color_range", "tv", "-movflags", "+faststart", "-fflags", "+bitexact",
        "-map_metadata", "-1", os.path.join(SAMPLES, "shapes.mp4")])

    doc = {
        "video": "shapes.mp4", "width": W, "height": H, "fps": FPS, "frame_count": FRAMES,
        "coordinates": "source pixels, continuous, origin at the top-left corner of the top-left "
                       "pixel; pixel (c, r) covers [c, c+1) x [r, r+1)",
        "points": points,
    }
    with open(os.path.join(SAMPLES, "shapes.points.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")

    for k in (0, 75, 150):
        write_png(os.path.join(STILLS, f"shapes_frame{k:03d}.png"), frames[k])
    jpg = os.path.join(STILLS, "shapes_frame200.jpg")
    encode_raw([frames[200]], W, H, FPS, ["-frames:v", "1", "-q:v", "3", "-pix_fmt", "yuvj420p",
                                            "-fflags", "+bitexact", jpg])
    size = os.path.getsize(os.path.join(SAMPLES, "shapes.mp4"))
    print(f"shapes.mp4: {size} bytes, {FRAMES} frames")
    assert size <= 1_000_000, "shapes.mp4 must stay under 1 MB"


# --------------------------------------------------------------------------------------------
# Frame-numbered fixtures
# --------------------------------------------------------------------------------------------

CODE_W, CODE_H, BLOCK = 160, 96, 32


def code_bits(number):
    check = (number * 13 + 7) % 31
    return [(number >> k) & 1 for k in range(10)] + [(check >> k) & 1 for k in range(5)]


def numbered_frame(number):
    img = np.zeros((CODE_H, CODE_W, 3), np.uint8)
    for k, bit in enumerate(code_bits(number)):
        r, c = divmod(k, 5)
        if bit:
            img[r * BLOCK:(r + 1) * BLOCK, c * BLOCK:(c + 1) * BLOCK] = 255
    return img


def fixture(name):
    return os.path.join(FIXTURES, name)


X264_BFRAMES = ["-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p",
                "-bf", "2", "-x264-params", "b-adapt=0:threads=1:scenecut=0", "-threads", "1",
                "-fflags", "+bitexact", "-map_metadata", "-1"]


def make_numbered_fixtures():
    n = 90
    frames = [numbered_frame(i) for i in range(n)]

    # mp4 / H.264 with B-frames, GOP 24, moov first.
    encode_raw(frames, CODE_W, CODE_H, 30, X264_BFRAMES + [
        "-g", "24", "-movflags", "+faststart", fixture("numbered_h264.mp4")])
    # The same, moov at the end (the source of the truncated file).
    full_tail_moov = fixture("numbered_h264_moov_last.tmp.mp4")
    encode_raw(frames, CODE_W, CODE_H, 30, X264_BFRAMES + ["-g", "24", full_tail_moov])

    # WebM / VP9 (alt-ref frames, superframes).
    encode_raw(frames, CODE_W, CODE_H, 30, [
        "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "32", "-g", "30", "-row-mt", "0",
        "-threads", "1", "-cpu-used", "4", "-auto-alt-ref", "1", "-lag-in-frames", "16",
        "-fflags", "+bitexact", "-map_metadata", "-1", fixture("numbered_vp9.webm")])

    # Matroska / H.264 with B-frames (millisecond timestamps: 0, 33, 67, 100, ...).
    encode_raw(frames, CODE_W, CODE_H, 30, X264_BFRAMES + ["-g", "30", fixture("numbered_h264.mkv")])

    # MPEG-TS / H.264 with B-frames (90 kHz clock, non-zero start time).
    encode_raw(frames, CODE_W, CODE_H, 30, X264_BFRAMES + ["-g", "30", fixture("numbered_h264.ts")])

    # Raw H.264 Annex B elementary stream: packets carry no timestamps.
    encode_raw(frames[:40], CODE_W, CODE_H, 30, X264_BFRAMES + ["-g", "12", "-f", "h264",
                                                                fixture("numbered_raw.h264")])

    # GIF at 30 fps (GIF delays are in 1/100 s, so the frame spacing is irregular: 3/3/4 cs).
    encode_raw(frames[:45], CODE_W, CODE_H, 30, ["-pix_fmt", "rgb8", "-fflags", "+bitexact",
                                                 "-map_metadata", "-1", fixture("numbered.gif")])

    # Variable frame rate: frame k at (33k + (7k^2 mod 29)) ms, strictly increasing, irregular.
    # The input rate of 1000 makes the filter time base 1 ms, so the expression is not rounded.
    encode_raw(frames, CODE_W, CODE_H, 30, X264_BFRAMES + [
        "-g", "24", "-vf", "setpts='(33*N+mod(7*N*N\\,29))/(1000*TB)'", "-fps_mode", "passthrough",
        "-video_track_timescale", "1000", "-movflags", "+faststart", fixture("numbered_vfr.mp4")],
        input_rate=1000)

    # Timestamp gaps: frames 30.. shifted by 1 s, frames 60.. by another 0.5 s.
    encode_raw(frames, CODE_W, CODE_H, 30, X264_BFRAMES + [
        "-g", "24", "-vf", "setpts='(N+30*gte(N\\,30)+15*gte(N\\,60))/(30*TB)'",
        "-fps_mode", "passthrough", "-video_track_timescale", "30000", "-movflags", "+faststart",
        fixture("numbered_gaps.mp4")])

    # Display-matrix rotation. FFmpeg 5.1 only turns the rotate tag into a display matrix when
    # the stream is copied, so encode first, then remux. ffprobe then reports rotation 90
    # (counter-clockwise, the av_display_rotation_get convention).
    plain = fixture("rotated90.tmp.mp4")
    encode_raw(frames[:6], CODE_W, CODE_H, 30, X264_BFRAMES + ["-g", "6", plain])
    run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", plain, "-c", "copy",
         "-metadata:s:v:0", "rotate=90", "-fflags", "+bitexact", "-movflags", "+faststart",
         fixture("rotated90.mp4")])
    os.remove(plain)

    # Stills (one frame each).
    write_png(fixture("still_numbered.png"), frames[5])
    encode_raw([frames[9]], CODE_W, CODE_H, 30, ["-frames:v", "1", "-q:v", "2", "-pix_fmt",
                                                   "yuvj444p", "-fflags", "+bitexact",
                                                   fixture("still_numbered.jpg")])
    return full_tail_moov


def ffprobe_packets(path):
    out = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets",
               "-show_entries", "packet=pos,size,flags", "-of", "json", path])
    return json.loads(out)["packets"]


def make_bad_fixtures(full_tail_moov):
    rng = np.random.default_rng(7)

    # moov atom at the end and the file cut at 60 %: the container cannot be opened.
    data = open(full_tail_moov, "rb").read()
    with open(fixture("truncated_no_moov.mp4"), "wb") as f:
        f.write(data[: len(data) * 6 // 10])
    os.remove(full_tail_moov)

    # moov first, media data cut at 55 %: opens, later packets are missing.
    data = open(fixture("numbered_h264.mp4"), "rb").read()
    with open(fixture("truncated_tail.mp4"), "wb") as f:
        f.write(data[: len(data) * 55 // 100])

    # One packet in the middle (a P/B frame of the third GOP) overwritten with garbage after its
    # 4-byte NAL length, so the container is fine but that packet is corrupt.
    packets = ffprobe_packets(fixture("numbered_h264.mp4"))
    target = packets[55]
    buf = bytearray(data)
    start, size = int(target["pos"]) + 5, int(target["size"]) - 5
    buf[start:start + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    with open(fixture("corrupt_packet.mp4"), "wb") as f:
        f.write(bytes(buf))

    # Every H.264 sample zeroed (in mp4 a packet's pos is its sample data): the container opens
    # and lists 90 packets, but they hold only empty NAL units, so no frame decodes.
    data = bytearray(open(fixture("numbered_h264.mp4"), "rb").read())
    for p in packets:
        pos, size = int(p["pos"]), int(p["size"])
        data[pos:pos + size] = bytes(size)
    with open(fixture("undecodable.mp4"), "wb") as f:
        f.write(bytes(data))

    with open(fixture("random_bytes.mp4"), "wb") as f:
        f.write(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    open(fixture("empty.mp4"), "wb").close()
    with open(fixture("not_a_video.txt"), "w") as f:
        f.write("This is a plain text file, not a video.\nIt has two lines.\n")

    # YUV4MPEG headers with absurd dimensions (the demuxer reports them without decoding).
    with open(fixture("huge_dimensions.y4m"), "wb") as f:
        f.write(b"YUV4MPEG2 W20000 H8 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))
    with open(fixture("zero_width.y4m"), "wb") as f:
        f.write(b"YUV4MPEG2 W0 H96 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))


def probe_expected(name):
    path = fixture(name)
    out = json.loads(run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames",
                          "-show_streams", "-show_format", "-of", "json", path]))
    stream = out["streams"][0]
    frames = out["frames"]

    def ts(f):
        for key in ("pts", "best_effort_timestamp", "pkt_dts"):
            if key in f:
                return int(f[key])
        return None

    rotation = 0
    for sd in stream.get("side_data_list", []):
        if "rotation" in sd:
            rotation = int(sd["rotation"])
    return {
        "file": name,
        "format": out["format"]["format_name"],
        "codec": stream["codec_name"],
        "width": int(stream["width"]),
        "height": int(stream["height"]),
        "time_base": stream["time_base"],
        "r_frame_rate": stream["r_frame_rate"],
        "avg_frame_rate": stream["avg_frame_rate"],
        "frame_count": len(frames),
        "timestamps": [ts(f) for f in frames],
        "timestamp_source": "pts" if all("pts" in f for f in frames) else "best_effort_timestamp",
        "key_frames": [int(f["key_frame"]) for f in frames],
        "has_b_frames": any(f.get("pict_type") == "B" for f in frames),
        "ffprobe_rotation": rotation,
    }


def write_expected():
    names = ["numbered_h264.mp4", "numbered_vp9.webm", "numbered_h264.mkv", "numbered_h264.ts",
             "numbered_raw.h264", "numbered.gif", "numbered_vfr.mp4", "numbered_gaps.mp4",
             "rotated90.mp4", "still_numbered.png", "still_numbered.jpg", "truncated_tail.mp4",
             "corrupt_packet.mp4"]
    doc = {
        "note": "Written by Scripts/make_samples.py from ffprobe -show_frames at generation time. "
                "timestamps are the decoded frames' pts (or best-effort timestamps when pts is "
                "absent) in time_base units, in presentation order.",
        "fixtures": [probe_expected(n) for n in names],
    }
    with open(fixture("expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main():
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found")
    os.makedirs(FIXTURES, exist_ok=True)
    make_shapes_sample()
    tail = make_numbered_fixtures()
    make_bad_fixtures(tail)
    write_expected()
    total = sum(os.path.getsize(fixture(n)) for n in os.listdir(FIXTURES))
    print(f"fixtures: {total} bytes")
    assert total <= 2_000_000, "fixtures must stay under 2 MB"


if __name__ == "__main__":
    main()
