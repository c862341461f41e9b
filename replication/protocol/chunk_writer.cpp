#include "replication/protocol/chunk_writer.h"

#include <exception>

namespace ncen::replication {

bool ChunkJob::Done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

void ChunkJob::Wait() const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return done_; });
}

std::vector<storage::ChunkPiece> PieceViews(const std::vector<ReceivedChunks>& pieces) {
  std::vector<storage::ChunkPiece> views;
  views.reserve(pieces.size());
  for (const ReceivedChunks& p : pieces) views.push_back({p.hash, p.size, p.first, ByteView(p.data), p.digest});
  return views;
}

void ChunkJob::Run(storage::Store& store) {
  Result<std::vector<storage::ChunkWrite>> result = FailedPrecondition("not stored");
  try {
    result = store.PutBlobChunks(PieceViews(pieces_));
  } catch (const std::exception& e) {
    // Nothing escapes the thread: the session learns it as an error.
    result = IOError(std::string("storing blob chunks: ") + e.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  result_ = std::move(result);
  done_ = true;
  cv_.notify_all();
}

ChunkWriter::ChunkWriter(storage::Store& store, std::function<void()> notify, std::function<void()> before_job)
    : store_(store), notify_(std::move(notify)), before_job_(std::move(before_job)), thread_([this] { Loop(); }) {}

ChunkWriter::~ChunkWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ChunkWriter::Submit(std::shared_ptr<ChunkJob> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void ChunkWriter::Loop() {
  for (;;) {
    std::shared_ptr<ChunkJob> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every job run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (before_job_) before_job_();
    job->Run(store_);
    if (notify_) notify_();
  }
}

}  // namespace ncen::replication
