#include "http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>

namespace bto::bench {
namespace {

// The value of header `name` (case-insensitive) in `headers`, which start
// with the request line and end with a CRLF.
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

int listen_loopback(int port, int& bound_port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  bound_port = ntohs(addr.sin_port);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
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

bool HttpRequestReader::fill() {
  const ssize_t n = ::recv(fd_, chunk_.data(), chunk_.size(), 0);
  if (n <= 0) return false;
  buffer_.append(chunk_.data(), static_cast<size_t>(n));
  return true;
}

bool HttpRequestReader::next(HttpRequest& request) {
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return false;
  }
  const std::string_view headers(buffer_.data(), header_end + 2);
  const std::string_view line = headers.substr(0, headers.find("\r\n"));
  const size_t target_at = line.find(' ');
  if (target_at == std::string_view::npos) return false;
  const std::string_view target = line.substr(target_at + 1, line.find(' ', target_at + 1) - target_at - 1);
  request.target.assign(target.data(), target.size());

  std::string_view value;
  size_t length = 0;
  if (header_value(headers, "content-length", value)) {
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec != std::errc() || end != value.data() + value.size()) return false;
  }
  request.gzip = header_value(headers, "content-encoding", value) && value == "gzip";
  if (header_value(headers, "expect", value) && value.size() >= 12 &&
      strncasecmp(value.data(), "100-continue", 12) == 0) {
    if (!send_all(fd_, "HTTP/1.1 100 Continue\r\n\r\n")) return false;
  }
  buffer_.erase(0, header_end + 4);
  while (buffer_.size() < length) {
    if (!fill()) return false;
  }
  request.body.assign(buffer_, 0, length);
  buffer_.erase(0, length);
  return true;
}

const std::string* plain_body(const HttpRequest& request, std::string& scratch) {
  if (!request.gzip) return &request.body;
  return gunzip(request.body, scratch) ? &scratch : nullptr;
}

bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t byte = *p++;
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace bto::bench
