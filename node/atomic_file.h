// Replacing a small file in a node's data directory atomically (ncen.toml,
// ncen-node.address): a reader sees the old contents or the new, never a
// part, and a crash leaves one or the other. Plain function, any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ncen::node {

// Writes `content` to a new temporary file in `dir` with a unique name
// (mkstemp, "DIR/.NAME.XXXXXX", created with O_EXCL: never a fixed name at
// which someone may have left a file or a symlink), fsyncs it, renames it
// over DIR/NAME and fsyncs `dir`. kIOError naming the step that failed; the
// temporary file is then removed and DIR/NAME is as it was (unless only the
// final directory fsync failed).
Status ReplaceFile(const std::string& dir, const std::string& name, std::string_view content);

}  // namespace ncen::node
