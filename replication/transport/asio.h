// The one way ncen includes Boost.Asio. g++ 12 with Boost 1.74 needs
// <utility> before Asio's headers (../shared/TOOLCHAIN.md). Include this only
// from the few files that do networking: it is slow to compile.
#pragma once

#include <utility>

#include <boost/asio.hpp>
