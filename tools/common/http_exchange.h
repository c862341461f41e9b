// One blocking HTTP/1.1 exchange on a fresh loopback connection, for the
// tests and ncen-bench that talk to a real ncen-node's HTTP API: sends
// `request` as it is (it should say Connection: close) and returns every
// byte the server sends until it closes. Not for the product: no timeout.
#pragma once

#include <utility>  // before Asio (../shared/TOOLCHAIN.md)

#include <boost/asio.hpp>
#include <string>

namespace ncen::tools {

inline std::string HttpExchange(const std::string& address, const std::string& request) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  auto colon = address.rfind(':');
  s.connect({asio::ip::make_address(address.substr(0, colon)),
             static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))});
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

}  // namespace ncen::tools
