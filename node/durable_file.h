// Files in a node's data directory that must survive a crash and concurrent
// writers: fsync of a directory (so a created or renamed name is on disk),
// atomic replacement of a small file, and an exclusive advisory lock held
// across a read-modify-write (two `ncenctl peers add` at once must not lose
// one). Used by node/node_dir.cpp and node/config.cpp.
//
// Plain functions and a move-only lock object; any thread. The lock is a
// flock(2) on a separate lock file, so it excludes other processes and other
// open file descriptions in this one, and the kernel drops it when the
// holder dies.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ncen::node {

// fsync(2) of directory `dir`: the names created, renamed or removed in it
// are durable afterwards. kIOError naming `dir` when it cannot be opened or
// synced (never retried: the caller stops, docs/design.md §10).
Status SyncDir(const std::string& dir);

// Replaces DIR/NAME with `contents` atomically: writes a temporary file made
// with mkstemp(3) in DIR (mode 0600, a unique name, so two writers never
// share one), fsyncs it, renames it over DIR/NAME and fsyncs DIR. kIOError
// when any step fails; DIR/NAME is then as before and the temporary file is
// removed.
Status ReplaceFileAtomically(const std::string& dir, const std::string& name,
                             std::string_view contents);

// An exclusive lock on a lock file, released when the object is destroyed
// (or its process ends). The lock file is created (mode 0600) and never
// removed: removing it would let a waiter lock a file nobody else sees.
class FileLock {
 public:
  // Blocks until the lock is held. kIOError when the file cannot be created
  // or locked.
  static Result<FileLock> Acquire(const std::string& path);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace ncen::node
