"""Taking the network away from a process that runs requesters' queries.

A SPARQL worker (registry.query.sparql_pool) runs text a requester wrote inside Oxigraph, which can
open connections of its own (``SERVICE``). The query check is the first line; this is the
second: before it imports anything else, the worker moves into a network namespace of its own
(``unshare(CLONE_NEWNET)`` through the C library), where there is no interface but a loopback
that is down. Nothing it does can reach another host, or this one.

As root (or with ``CAP_SYS_ADMIN``) the namespace is made directly; otherwise inside a new user
namespace (``CLONE_NEWUSER | CLONE_NEWNET``), which unprivileged processes may make where the
kernel allows it. Where neither is possible :func:`leave_the_network` says why, and the pool
refuses to start workers rather than run them with the network (``query_isolation``). A seccomp
filter refusing ``socket()`` would be the other way, but a BPF program written by hand through
ctypes is specific to each architecture and easy to get subtly wrong; namespaces are a kernel
feature with no such detail to get right.

Only the standard library is imported here: the worker calls this while it still has one
thread (a user namespace cannot be entered by a threaded process).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def leave_the_network() -> str | None:
    """Move this process into a network namespace of its own; None when done, else why not."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        unshare = libc.unshare
    except (OSError, AttributeError) as e:
        return f"no unshare() in the C library: {e}"
    if unshare(CLONE_NEWNET) == 0:
        return None
    first = os.strerror(ctypes.get_errno())
    uid, gid = os.getuid(), os.getgid()
    if unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        _map_ids(uid, gid)
        return None
    return (
        f"a network namespace could not be made ({first}; in a user namespace: "
        f"{os.strerror(ctypes.get_errno())})"
    )


def _map_ids(uid: int, gid: int) -> None:
    """Keep the process's own user and group inside the new user namespace, so that it still
    reads the index snapshots it owns."""
    try:
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
    except OSError:
        pass  # without a map the files still open as "nobody" where permissions allow
