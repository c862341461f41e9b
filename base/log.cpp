#include "base/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ncen::log {
namespace {

std::mutex& Mutex() {
  static std::mutex mutex;
  return mutex;
}
Sink& CurrentSink() {
  static Sink sink;
  return sink;
}
std::string& Program() {
  static std::string program = "ncen";
  return program;
}


}  // namespace

std::string IsoTime(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[80];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buffer;
}

Sink SetSink(Sink sink) {
  std::lock_guard lock(Mutex());
  Sink old = std::move(CurrentSink());
  CurrentSink() = std::move(sink);
  return old;
}

void SetProgram(std::string name) {
  std::lock_guard lock(Mutex());
  Program() = std::move(name);
}

void Line(std::string_view message) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string line = IsoTime(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) + " ";
  std::lock_guard lock(Mutex());
  line += Program();
  line += ": ";
  for (char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  if (CurrentSink()) {
    CurrentSink()(line);
    return;
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace ncen::log
