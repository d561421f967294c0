"""A local RTSP camera for trying live runs: serves a video (looped) as ``rtsp://127.0.0.1:PORT/cam``.

The stream is what an IP camera's RTSP server sends, so that ``mctrack run`` and ``mctrack track`` read it through
OpenCV's own RTSP client (FFmpeg) exactly as they read a camera: RTSP/1.0 (OPTIONS, DESCRIBE, SETUP, PLAY,
GET_PARAMETER, TEARDOWN), RTP over the RTSP connection (interleaved TCP, which OpenCV asks for first; a request for
UDP is answered 461 and FFmpeg falls back to TCP) and either H.264 (``--codec h264``, the default, as most IP
cameras send: RFC 6184, single NAL units and FU-A fragments, encoded by PyAV's libx264 without B-frames, a key
frame every 2 s with its SPS/PPS) or Motion JPEG (``--codec mjpeg``: RFC 2435, quantisation tables in band).
Authentication and several clients at once with their own fault scripts are not modelled.

Faults, as a camera or its network shows them (``--at`` seconds after the first client started playing):

- ``normal``: frames at ``--fps`` until stopped;
- ``pause``: no frame for ``--for`` seconds, connection kept (a camera that freezes);
- ``drop``: every connection closed at ``--at``, new ones accepted at once (a camera that restarts its stream);
- ``down``: every connection closed at ``--at`` and none accepted for ``--for`` seconds (a reboot, a cable pulled);
- ``die``: every connection closed at ``--at`` and the server gone.

    python benchmarks/rtsp_camera.py ../shared/data/mot15/TUD-Stadtmitte/TUD-Stadtmitte.mp4 --port 8554
    mctrack track --source rtsp://127.0.0.1:8554/cam --detector yolo --out runs/rtsp --duration 20

The video's frames are re-encoded once at start; width and height must be multiples of 8, at most 2040 (RFC 2435
sends them in units of 8 pixels; H.264 needs even sizes): others are cropped to fit, said once.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

MODES = ("normal", "pause", "drop", "down", "die")
CODECS = ("h264", "mjpeg")
PAYLOAD = 1400  # bytes of JPEG data per RTP packet (fits an Ethernet MTU with the headers)


def jpeg_parts(jpeg: bytes) -> tuple[int, int, int, bytes, bytes]:
    """``(RFC 2435 type, width, height, quantisation tables, entropy-coded scan)`` of a baseline JPEG as OpenCV
    writes it (8-bit tables, one scan, no restart markers)."""
    tables, width = b"", None
    i = 2
    while i < len(jpeg):
        if jpeg[i] != 0xFF:
            raise ValueError(f"not a JPEG marker at byte {i}")
        marker = jpeg[i + 1]
        length = struct.unpack(">H", jpeg[i + 2 : i + 4])[0]
        seg = jpeg[i + 4 : i + 2 + length]
        if marker == 0xDB:  # DQT: one or more (precision/id, 64 bytes) tables
            j = 0
            while j < len(seg):
                if seg[j] >> 4:
                    raise ValueError("16-bit quantisation tables are not sent by RFC 2435")
                tables += seg[j + 1 : j + 65]
                j += 65
        elif marker == 0xC0:  # SOF0
            height, width = struct.unpack(">HH", seg[1:5])
            luma = seg[7]  # sampling factors of the first component
            kind = {0x21: 0, 0x22: 1}.get(luma)
            if kind is None:
                raise ValueError(f"sampling {luma:#x} is neither 4:2:2 nor 4:2:0")
        elif marker == 0xDD:
            raise ValueError("restart markers are not modelled")
        elif marker == 0xDA:  # SOS: the scan runs to the EOI marker
            scan = jpeg[i + 2 + length :]
            if scan[-2:] == b"\xff\xd9":
                scan = scan[:-2]
            if width is None:
                raise ValueError("no SOF0 before the scan")
            return kind, width, height, tables, scan
        i += 2 + length
    raise ValueError("no scan in the JPEG")


def rtp_packets(jpeg: bytes, seq: int, timestamp: int, ssrc: int) -> list[bytes]:
    """The RTP packets (payload type 26, RFC 2435, Q 255 with the tables in the first packet) of one frame;
    ``seq`` is the first sequence number."""
    kind, width, height, tables, scan = jpeg_parts(jpeg)
    payloads, offset = [], 0
    while offset < len(scan) or not payloads:
        chunk = scan[offset : offset + PAYLOAD]
        head = struct.pack(">B3sBBBB", 0, offset.to_bytes(3, "big"), kind, 255, width // 8, height // 8)
        if offset == 0:
            head += struct.pack(">BBH", 0, 0, len(tables)) + tables
        payloads.append(head + chunk)
        offset += len(chunk)
    return _rtp(payloads, 26, seq, timestamp, ssrc)


def _rtp(payloads: list[bytes], payload_type: int, seq: int, timestamp: int, ssrc: int) -> list[bytes]:
    """RTP packets of one frame's ``payloads``, the marker bit on the last."""
    last = len(payloads) - 1
    return [
        struct.pack(">BBHII", 0x80, (0x80 if i == last else 0) | payload_type, (seq + i) & 0xFFFF, timestamp, ssrc) + p
        for i, p in enumerate(payloads)
    ]


def nal_units(annex_b: bytes) -> list[bytes]:
    """The NAL units of an H.264 Annex B byte stream (start codes 00 00 01 / 00 00 00 01 removed)."""
    starts, i = [], annex_b.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = annex_b.find(b"\x00\x00\x01", i + 3)
    units = []
    for k, a in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(annex_b)
        units.append(annex_b[a:end].rstrip(b"\x00") if k + 1 < len(starts) else annex_b[a:end])
    return [u for u in units if u]


def h264_rtp_packets(units: list[bytes], seq: int, timestamp: int, ssrc: int) -> list[bytes]:
    """The RTP packets (payload type 96, RFC 6184 packetization mode 1) of one access unit's NAL ``units``: a unit
    that fits goes whole, a larger one in FU-A fragments (start and end bits, the unit's type in each)."""
    payloads = []
    for nal in units:
        if len(nal) <= PAYLOAD:
            payloads.append(nal)
            continue
        indicator, kind, body = (nal[0] & 0xE0) | 28, nal[0] & 0x1F, nal[1:]
        chunks = [body[i : i + PAYLOAD] for i in range(0, len(body), PAYLOAD)]
        for k, chunk in enumerate(chunks):
            header = (0x80 if k == 0 else 0) | (0x40 if k == len(chunks) - 1 else 0) | kind
            payloads.append(bytes([indicator, header]) + chunk)
    return _rtp(payloads, 96, seq, timestamp, ssrc)


def h264_access_units(frames: list[np.ndarray], fps: float) -> list[list[bytes]]:
    """Each frame's NAL units, encoded by libx264 (PyAV) without B-frames (decoding order = display order), a key
    frame (IDR, SPS and PPS in front) at the first frame and every 2 s, so that a client may start at frame 0."""
    from fractions import Fraction

    import av

    h, w = frames[0].shape[:2]
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = w, h, "yuv420p"
    codec.framerate = Fraction(fps).limit_denominator(1001)
    codec.time_base = 1 / codec.framerate
    codec.options = {
        "preset": "veryfast",
        "tune": "zerolatency",
        "g": str(max(1, round(2 * fps))),
        "x264-params": "repeat-headers=1",
    }
    packets = []
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame.pts = i
        packets += codec.encode(frame)
    packets += codec.encode(None)
    if len(packets) != len(frames):
        raise RuntimeError(f"libx264 gave {len(packets)} packets for {len(frames)} frames")
    return [nal_units(bytes(p)) for p in packets]


def fit_frame(image: np.ndarray) -> np.ndarray:
    """``image`` cropped to a multiple of 8 pixels each way, at most 2040 (what RFC 2435 can describe; H.264 is
    held to the same, so that both codecs show the same frames)."""
    h, w = image.shape[:2]
    return image[: min(h - h % 8, 2040), : min(w - w % 8, 2040)]


class RtspCamera:
    """The server: ``start()`` listens on ``port`` (0: a free one; ``url`` names it) and serves ``frames`` (BGR
    images, looped) at ``fps`` in ``codec`` to every client that plays, each from the first frame, with the fault
    ``mode`` (module docstring)."""

    def __init__(
        self,
        frames: list[np.ndarray],
        fps: float = 25.0,
        port: int = 0,
        mode: str = "normal",
        at: float = 5.0,
        duration: float = 5.0,
        codec: str = "h264",
        quality: int = 85,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: one of {', '.join(MODES)}, got {mode!r}")
        if codec not in CODECS:
            raise ValueError(f"codec: one of {', '.join(CODECS)}, got {codec!r}")
        if not frames:
            raise ValueError("frames: the video has no frame")
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps: must be > 0, got {fps}")
        frames = [fit_frame(f) for f in frames]
        self.codec = codec
        if codec == "h264":
            #: per frame, what its RTP packets carry (H.264: NAL units; Motion JPEG: the JPEG file)
            self.payloads: list = h264_access_units(frames, fps)
            units = self.payloads[0]
            sets = ",".join(base64.b64encode(u).decode() for u in units if u[0] & 0x1F in (7, 8))  # SPS, PPS
            self.media = (
                "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sets}\r\n"
            )
            self._packets = h264_rtp_packets
        else:
            params = [
                cv2.IMWRITE_JPEG_QUALITY,
                int(quality),
                cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
            ]
            self.payloads = [cv2.imencode(".jpg", f, params)[1].tobytes() for f in frames]
            self.media = "m=video 0 RTP/AVP 26\r\n"
            self._packets = rtp_packets
        self.fps, self.mode, self.at, self.duration = float(fps), mode, float(at), float(duration)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.started: float | None = None  # when the first client started playing (the faults' clock)
        self.stopped = threading.Event()
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        #: frames sent, over all clients
        self.sent = 0
        #: connections accepted
        self.connections = 0

    def start(self) -> RtspCamera:
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._faults, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._close_all()
        try:
            self.sock.close()
        except OSError:
            pass

    def _elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def _refusing(self) -> bool:
        return self.mode == "down" and self.at <= self._elapsed() < self.at + self.duration

    def _close_all(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients), set()
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _faults(self) -> None:
        if self.mode not in ("drop", "down", "die"):
            return
        while not self.stopped.is_set() and (self.started is None or self._elapsed() < self.at):
            time.sleep(0.01)
        if self.mode == "die":
            self.stop()
        else:
            self._close_all()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self._refusing():
                conn.close()  # as a camera that is rebooting: the connection is refused at once
                continue
            with self._lock:
                self._clients.add(conn)
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf, session, playing = b"", f"{random.randrange(1 << 30):08d}", None
        # sends block as TCP does for a client that stops reading (the socket has no timeout: a timed-out sendall
        # left half a packet and ended the stream); replies and RTP share the connection, one send at a time
        send_lock, torn_down = threading.Lock(), threading.Event()
        try:
            while not self.stopped.is_set() and conn in self._clients:
                if select.select([conn], [], [], 0.05)[0]:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                while True:  # interleaved RTCP from the client ('$', channel, length) or RTSP requests
                    if buf[:1] == b"$" and len(buf) >= 4:
                        n = struct.unpack(">H", buf[2:4])[0]
                        if len(buf) < 4 + n:
                            break
                        buf = buf[4 + n :]
                        continue
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    request, buf = buf[:end].decode("latin-1"), buf[end + 4 :]
                    reply, play = self._answer(request, session)
                    with send_lock:
                        conn.sendall(reply.encode("latin-1"))
                    if request.startswith("TEARDOWN"):
                        torn_down.set()  # the client's session ends: no more frames (it may close the connection)
                    if play and playing is None:
                        args = (conn, send_lock, torn_down)
                        playing = threading.Thread(target=self._stream, args=args, daemon=True)
                        playing.start()
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(conn)
            conn.close()

    def _answer(self, request: str, session: str) -> tuple[str, bool]:
        lines = request.split("\r\n")
        method, url = (lines[0].split(" ") + ["", ""])[:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        cseq = headers.get("cseq", "0")

        def ok(extra: str = "", body: str = "", status: str = "200 OK") -> str:
            length = f"Content-Length: {len(body)}\r\n" if body else ""
            return f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}{length}\r\n{body}"

        if method == "OPTIONS":
            return ok("Public: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN\r\n"), False
        if method == "DESCRIBE":
            sdp = (
                "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=mctrack test camera\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                f"{self.media}a=framerate:{self.fps:g}\r\na=control:track0\r\n"
            )
            base = url if url.endswith("/") else url + "/"
            return ok(f"Content-Base: {base}\r\nContent-Type: application/sdp\r\n", sdp), False
        if method == "SETUP":
            transport = headers.get("transport", "")
            if "TCP" not in transport.upper():
                return ok(status="461 Unsupported Transport"), False
            return ok(f"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: {session};timeout=60\r\n"), False
        if method == "PLAY":
            return ok(f"Session: {session}\r\nRange: npt=0.000-\r\n"), True
        if method in ("GET_PARAMETER", "SET_PARAMETER", "TEARDOWN"):
            return ok(f"Session: {session}\r\n"), False
        return ok(status="405 Method Not Allowed"), False

    def _stream(self, conn: socket.socket, send_lock: threading.Lock, torn_down: threading.Event) -> None:
        if self.started is None:
            self.started = time.monotonic()
        ssrc, seq = random.randrange(1 << 32), random.randrange(1 << 16)
        t0 = time.monotonic()
        for n in itertools.count():
            paused = False
            while self.mode == "pause" and self.at <= self._elapsed() < self.at + self.duration:
                paused = True
                time.sleep(0.01)
            if paused:  # frames resume at the rate, as a camera's do; the frozen ones are not sent late
                t0 = time.monotonic() - n / self.fps
            wait = t0 + n / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if self.stopped.is_set() or torn_down.is_set() or conn not in self._clients:
                return
            stamp = int(round(n * 90000 / self.fps)) & 0xFFFFFFFF
            packets = self._packets(self.payloads[n % len(self.payloads)], seq, stamp, ssrc)
            seq += len(packets)
            try:
                with send_lock:
                    conn.sendall(b"".join(b"$\x00" + struct.pack(">H", len(p)) + p for p in packets))
            except OSError:
                return
            self.sent += 1


def read_video(path: Path, limit: int) -> tuple[list[np.ndarray], float]:
    """Up to ``limit`` frames of a video or image folder and its frame rate (25 when it says none)."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < limit:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    cap.release()
    return frames, fps if 0 < fps < 1000 else 25.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Faults: see the module docstring.")
    ap.add_argument("video", type=Path, help="video file (or an image sequence OpenCV reads), served in a loop")
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--fps", type=float, default=None, help="frame rate (default: the video's)")
    ap.add_argument("--mode", choices=MODES, default="normal")
    ap.add_argument("--codec", choices=CODECS, default="h264", help="what the RTP packets carry (default: h264)")
    ap.add_argument("--at", type=float, default=5.0, help="seconds after playing starts when the fault begins")
    ap.add_argument("--for", dest="duration", type=float, default=5.0, help="seconds the fault lasts")
    ap.add_argument(
        "--frames", type=int, default=750, help="most frames of the video served (looped; encoded once, in memory)"
    )
    args = ap.parse_args(argv)
    if args.frames < 1:
        print(f"rtsp_camera: error: --frames: must be >= 1, got {args.frames}", file=sys.stderr)
        return 2
    for name, value in (("--at", args.at), ("--for", args.duration)):
        if not (np.isfinite(value) and value >= 0):
            print(f"rtsp_camera: error: {name}: must be a number of seconds >= 0, got {value}", file=sys.stderr)
            return 2
    if args.fps is not None and not (np.isfinite(args.fps) and args.fps > 0):
        print(f"rtsp_camera: error: --fps: must be > 0, got {args.fps}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"rtsp_camera: error: --port: must be 0-65535 (0: a free one), got {args.port}", file=sys.stderr)
        return 2
    frames, fps = read_video(args.video, args.frames)
    if not frames:
        print(f"rtsp_camera: error: {args.video}: no frame could be read", file=sys.stderr)
        return 2
    h, w = frames[0].shape[:2]
    if fit_frame(frames[0]).shape[:2] != (h, w):
        print(f"rtsp_camera: {w}x{h} is cropped to {fit_frame(frames[0]).shape[1]}x{fit_frame(frames[0]).shape[0]}")
    try:
        rate = fps if args.fps is None else args.fps
        cam = RtspCamera(frames, rate, args.port, args.mode, args.at, args.duration, args.codec).start()
    except OSError as exc:
        print(f"rtsp_camera: error: --port {args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"rtsp_camera: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"serving {args.video} ({len(frames)} frames, {cam.fps:g} fps, {cam.codec}, mode {args.mode}) at {cam.url}",
        flush=True,
    )
    del frames  # the camera keeps them encoded
    signal.signal(signal.SIGTERM, lambda *_: cam.stopped.set())  # kill, or a shell's background job (no SIGINT)
    try:
        while not cam.stopped.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    cam.stop()
    print(f"sent {cam.sent} frames over {cam.connections} connection(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
