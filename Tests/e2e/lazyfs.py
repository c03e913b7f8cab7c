#!/usr/bin/env python3
"""A FUSE passthrough that keeps written data in memory until fsync/fdatasync, like a page cache
that a power cut wipes (the idea of LazyFS, which Jepsen uses). Killing this process and lazily
unmounting = power cut: whatever was written but not synced is gone; metadata operations (create,
rename, unlink, mkdir, truncate) go straight to the backing directory.

    lazyfs.py BACKING MOUNTPOINT        (foreground; SIGKILL it to cut the power)

Copied from the team's shared tools into the repo so CI has it; two test additions: short writes
are completed (so a full disk surfaces as ENOSPC on fsync), and BACKING/.fail-fsync makes fsync
fail with EIO.
"""
import errno
import os
import sys
import threading

try:
    from fuse import FUSE, FuseOSError, Operations  # PyPI fusepy
except ImportError:  # Debian python3-fusepy
    from fusepy import FUSE, FuseOSError, Operations


class LazyFS(Operations):
    def __init__(self, root: str):
        self.root = os.path.realpath(root)
        self.mu = threading.RLock()  # not `lock`: fusepy calls self.lock for POSIX locks
        self.pending: dict[str, list[tuple[int, bytes]]] = {}   # backing path -> unsynced writes

    def _p(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def _logical_size(self, p: str, base: int) -> int:
        end = base
        for off, data in self.pending.get(p, ()):
            end = max(end, off + len(data))
        return end

    def _flush(self, p: str, fd: int | None = None):
        writes = self.pending.pop(p, [])
        if not writes:
            return
        own = fd is None
        if own:
            fd = os.open(p, os.O_WRONLY)
        try:
            for off, data in writes:
                # A short write (a filling disk) is not an error yet: write the rest, so that the
                # next call reports ENOSPC instead of bytes going missing silently.
                view, done = memoryview(data), 0
                while done < len(data):
                    done += os.pwrite(fd, view[done:], off + done)
        finally:
            if own:
                os.close(fd)

    # -- metadata, straight through
    def getattr(self, path, fh=None):
        p = self._p(path)
        try:
            st = os.lstat(p)
        except OSError as e:
            raise FuseOSError(e.errno)
        d = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size",
                                          "st_atime", "st_mtime", "st_ctime")}
        with self.mu:
            d["st_size"] = self._logical_size(p, st.st_size)
        return d

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def access(self, path, mode):
        if not os.access(self._p(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def mknod(self, path, mode, dev):
        os.mknod(self._p(path), mode, dev)

    def unlink(self, path):
        with self.mu:
            self.pending.pop(self._p(path), None)
        os.unlink(self._p(path))

    def symlink(self, name, target):
        os.symlink(target, self._p(name))

    def readlink(self, path):
        return os.readlink(self._p(path))

    def rename(self, old, new):
        po, pn = self._p(old), self._p(new)
        with self.mu:
            os.rename(po, pn)
            self.pending.pop(pn, None)
            if po in self.pending:
                self.pending[pn] = self.pending.pop(po)

    def link(self, target, name):
        os.link(self._p(name), self._p(target))

    def utimens(self, path, times=None):
        os.utime(self._p(path), times)

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
                                            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def truncate(self, path, length, fh=None):
        p = self._p(path)
        with self.mu:
            self._flush(p)
            os.truncate(p, length)

    # -- data
    def open(self, path, flags):
        return os.open(self._p(path), (flags & ~(os.O_APPEND | os.O_ACCMODE | os.O_TRUNC)) | os.O_RDWR)

    def create(self, path, mode, fi=None):
        return os.open(self._p(path), os.O_RDWR | os.O_CREAT, mode)  # reads overlay pending data

    def read(self, path, size, offset, fh):
        p = self._p(path)
        with self.mu:
            base = os.pread(fh, size, offset)
            buf = bytearray(base)
            writes = self.pending.get(p, ())
            end = min(offset + size, self._logical_size(p, os.fstat(fh).st_size))
            if len(buf) < end - offset:
                buf.extend(b"\0" * (end - offset - len(buf)))
            for off, data in writes:
                lo, hi = max(off, offset), min(off + len(data), offset + size)
                if lo < hi:
                    buf[lo - offset:hi - offset] = data[lo - off:hi - off]
            return bytes(buf[:max(0, end - offset)])

    def write(self, path, data, offset, fh):
        with self.mu:
            self.pending.setdefault(self._p(path), []).append((offset, bytes(data)))
        return len(data)

    def fsync(self, path, datasync, fh):
        p = self._p(path)
        with self.mu:
            self._flush(p, fh)
            os.fsync(fh)
        # Fault injection for tests: while BACKING/.fail-fsync exists, every fsync reports EIO
        # after the data reached the disk (a device error on flush, the worst case for a writer).
        if os.path.exists(os.path.join(self.root, ".fail-fsync")):
            raise FuseOSError(errno.EIO)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)

    def fsyncdir(self, path, datasync, fh):
        return 0


if __name__ == "__main__":
    # direct_io and zero timeouts: every read, write and size check reaches this process, so the
    # kernel never answers from a cache that the "power cut" would not wipe.
    FUSE(LazyFS(sys.argv[1]), sys.argv[2], foreground=True, nothreads=False, allow_other=True,
         direct_io=True, attr_timeout=0, entry_timeout=0, negative_timeout=0)
