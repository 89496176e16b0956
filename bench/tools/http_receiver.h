#pragma once
// The pieces the bench tools' loopback OTLP/HTTP receivers share
// (counting_receiver for throughput runs, fault_receiver for the fault soak):
// a loopback listener, an HTTP/1.1 keep-alive request reader, gzip bodies, and
// just enough protobuf to walk ExportTraceServiceRequest down to its spans.
// Enough for our own exporter on loopback, not a general HTTP server.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bto::bench {

inline constexpr std::string_view kHttpOk =
    "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
inline constexpr std::string_view kHttpBadRequest = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

// A listening TCP socket on 127.0.0.1:port (0 = ephemeral), SO_REUSEADDR so a
// port in TIME_WAIT can be bound again. The fd, or -1; `bound_port` gets the port.
int listen_loopback(int port, int& bound_port);

bool send_all(int fd, std::string_view data);

// gzip (RFC 1952) -> out. False if the stream is corrupt or truncated.
bool gunzip(const std::string& in, std::string& out);

// One request read off a connection. The strings keep their capacity from
// request to request, so a kept-alive connection stops allocating.
struct HttpRequest {
  std::string target;  // the request-target, e.g. /v1/traces
  bool gzip = false;   // Content-Encoding: gzip
  std::string body;    // as sent (compressed if gzip)
};

// Reads requests one after the other from a kept-alive connection.
class HttpRequestReader {
 public:
  explicit HttpRequestReader(int fd) : fd_(fd), chunk_(1 << 16) {}
  // The next request, once its whole body is in; answers Expect: 100-continue
  // on the way. False when the peer closed, the socket failed or the head is
  // malformed: the connection is to be closed.
  bool next(HttpRequest& request);

 private:
  bool fill();

  int fd_;
  std::string buffer_;
  std::vector<char> chunk_;
};

// The request's protobuf: its body, or the body gunzipped into `scratch`.
// nullptr when gunzip fails.
const std::string* plain_body(const HttpRequest& request, std::string& scratch);

// ---- protobuf ----------------------------------------------------------------

bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& value);

// Walks one message; calls on_len(field, data, size) for the length-delimited
// fields (stops with false when it does), skips the others. False if malformed.
template <typename OnLen>
bool walk_message(const uint8_t* p, const uint8_t* end, OnLen&& on_len) {
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

// Calls on_span(data, size) for every Span of an ExportTraceServiceRequest
// (resource_spans(1).scope_spans(2).spans(2)); on_span returns false to stop.
// False if malformed or stopped.
template <typename OnSpan>
bool for_each_span(const uint8_t* data, size_t size, OnSpan&& on_span) {
  return walk_message(data, data + size, [&](uint32_t f, const uint8_t* rs, size_t rs_size) {
    if (f != 1) return true;
    return walk_message(rs, rs + rs_size, [&](uint32_t f2, const uint8_t* ss, size_t ss_size) {
      if (f2 != 2) return true;
      return walk_message(ss, ss + ss_size, [&](uint32_t f3, const uint8_t* sp, size_t sp_size) {
        return f3 != 2 || on_span(sp, sp_size);
      });
    });
  });
}

}  // namespace bto::bench
