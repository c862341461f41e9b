// ChunkWriter: stores the blob chunks a session received on a thread of its
// own, so that the session goes on receiving while the disk takes the last
// few megabytes (docs/blobs.md §5 "Storing what arrives"). One per node,
// shared by its sessions; jobs run one at a time, in the order submitted.
//
// Threading: Submit from the sessions' thread. The writer thread calls only
// Store::PutBlobChunks, which touches nothing but LMDB (LMDB serializes it
// with the other write transactions of the process). `notify` runs on the
// writer thread after each job and must only post work to the sessions'
// thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/blobs.h"
#include "storage/store.h"

namespace ncen::replication {

// Chunks that arrived together: whole chunks of one blob from `first` on.
struct ReceivedChunks {
  crypto::Hash256 hash{};
  uint32_t size = 0, first = 0;
  Bytes data;
  // The hash of the whole blob's bytes as they arrived, on the piece that
  // ends it, when they all came to one session (storage::ChunkPiece::digest).
  std::optional<crypto::Hash256> digest;
};

// The pieces as Store::PutBlobChunks takes them.
std::vector<storage::ChunkPiece> PieceViews(const std::vector<ReceivedChunks>& pieces);

// One write transaction's worth of chunks, owned by the job until it is done.
class ChunkJob {
 public:
  explicit ChunkJob(std::vector<ReceivedChunks> pieces) : pieces_(std::move(pieces)) {}
  const std::vector<ReceivedChunks>& pieces() const { return pieces_; }
  bool Done() const;
  void Wait() const;
  // Once Done: one ChunkWrite per piece, or why nothing was stored.
  const Result<std::vector<storage::ChunkWrite>>& result() const { return result_; }

  // The writer's side.
  void Run(storage::Store& store);

 private:
  std::vector<ReceivedChunks> pieces_;
  Result<std::vector<storage::ChunkWrite>> result_ = FailedPrecondition("not stored yet");
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool done_ = false;
};

class ChunkWriter {
 public:
  // `before_job` (tests) runs on the writer thread before each job: a test
  // holds it there to play a slow disk.
  ChunkWriter(storage::Store& store, std::function<void()> notify, std::function<void()> before_job = nullptr);
  // Runs the jobs already submitted, then joins the thread.
  ~ChunkWriter();
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  void Submit(std::shared_ptr<ChunkJob> job);

 private:
  void Loop();

  storage::Store& store_;
  std::function<void()> notify_, before_job_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<ChunkJob>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ncen::replication
