#include "counting_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bto::bench {
namespace {

std::mutex g_connections_mutex;

bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t byte = *p++;
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Walks one message; calls on_len(field, data, size) for length-delimited
// fields, skips the others.
template <typename OnLen>
bool walk(const uint8_t* p, const uint8_t* end, OnLen&& on_len) {
  while (p < end) {
    uint64_t key = 0;
    if (!read_varint(p, end, key)) return false;
    const uint32_t field = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0: {
        uint64_t ignored;
        if (!read_varint(p, end, ignored)) return false;
        break;
      }
      case 1:
        if (end - p < 8) return false;
        p += 8;
        break;
      case 5:
        if (end - p < 4) return false;
        p += 4;
        break;
      case 2: {
        uint64_t size = 0;
        if (!read_varint(p, end, size) || size > static_cast<uint64_t>(end - p)) return false;
        if (!on_len(field, p, static_cast<size_t>(size))) return false;
        p += size;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

bool gunzip(const std::string& in, std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return false;
  out.resize(std::max<size_t>(in.size() * 4, 4096));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (produced == out.size()) out.resize(out.size() * 2);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&z, Z_NO_FLUSH);
    produced = out.size() - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return false;
    }
  }
  inflateEnd(&z);
  out.resize(produced);
  return true;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool header_value(std::string_view headers, std::string_view name, std::string_view& value) {
  size_t pos = 0;
  while ((pos = headers.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    if (headers.size() - pos < name.size() + 1) return false;
    if (strncasecmp(headers.data() + pos, name.data(), name.size()) == 0 && headers[pos + name.size()] == ':') {
      size_t begin = pos + name.size() + 1;
      while (begin < headers.size() && headers[begin] == ' ') ++begin;
      const size_t stop = headers.find("\r\n", begin);
      value = headers.substr(begin, stop == std::string_view::npos ? std::string_view::npos : stop - begin);
      return true;
    }
  }
  return false;
}

}  // namespace

bool count_spans(const uint8_t* data, size_t size, ReceiverCounts& counts) {
  uint64_t spans = 0, with_parent = 0, bad = 0;
  const bool ok = walk(data, data + size, [&](uint32_t f, const uint8_t* rs, size_t rs_size) {
    if (f != 1) return true;  // resource_spans
    return walk(rs, rs + rs_size, [&](uint32_t f2, const uint8_t* ss, size_t ss_size) {
      if (f2 != 2) return true;  // scope_spans
      return walk(ss, ss + ss_size, [&](uint32_t f3, const uint8_t* sp, size_t sp_size) {
        if (f3 != 2) return true;  // spans
        size_t trace_id = 0, span_id = 0, parent = 0;
        const bool span_ok = walk(sp, sp + sp_size, [&](uint32_t f4, const uint8_t*, size_t len) {
          if (f4 == 1) trace_id = len;
          else if (f4 == 2) span_id = len;
          else if (f4 == 4) parent = len;
          return true;
        });
        ++spans;
        if (parent == 8) ++with_parent;
        if (!span_ok || trace_id != 16 || span_id != 8) ++bad;
        return span_ok;
      });
    });
  });
  counts.spans += spans;
  counts.spans_with_parent += with_parent;
  counts.bad_ids += bad;
  return ok;
}

CountingReceiver::CountingReceiver() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("bind/listen failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

CountingReceiver::~CountingReceiver() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(g_connections_mutex);
    for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : connections_) t.join();
  for (int fd : connection_fds_) ::close(fd);
}

void CountingReceiver::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(g_connections_mutex);
    connection_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void CountingReceiver::serve(int fd) {
  std::string buffer;
  std::string body;
  std::string plain;
  char chunk[1 << 16];
  static constexpr std::string_view kOk =
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
  static constexpr std::string_view kBad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  for (;;) {
    size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;  // closed by the destructor
      buffer.append(chunk, static_cast<size_t>(n));
    }
    const std::string_view headers(buffer.data(), header_end + 2);
    std::string_view value;
    size_t length = 0;
    if (header_value(headers, "content-length", value)) length = std::stoul(std::string(value));
    const bool gzip = header_value(headers, "content-encoding", value) && value == "gzip";
    if (header_value(headers, "expect", value) && strncasecmp(value.data(), "100-continue", 12) == 0) {
      if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return;
    }
    buffer.erase(0, header_end + 4);
    while (buffer.size() < length) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;  // closed by the destructor
      buffer.append(chunk, static_cast<size_t>(n));
    }
    body.assign(buffer, 0, length);
    buffer.erase(0, length);
    counts_.body_bytes += length;
    counts_.requests++;
    const std::string* message = &body;
    bool ok = true;
    if (gzip) {
      ok = gunzip(body, plain);
      message = &plain;
    }
    ok = ok && count_spans(reinterpret_cast<const uint8_t*>(message->data()), message->size(), counts_);
    if (!ok) counts_.bad_requests++;
    if (!send_all(fd, ok ? kOk : kBad)) return;
  }
}

}  // namespace bto::bench
