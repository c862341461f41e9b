#include "node/exception_boundary.h"

#include <exception>
#include <new>
#include <string>

namespace ncen::node {

Status CatchSessionExceptions(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::bad_alloc& e) {
    return ResourceExhausted(std::string("out of memory (") + e.what() + ")");
  } catch (const std::exception& e) {
    return Unavailable(std::string("exception: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace ncen::node
