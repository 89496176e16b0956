#pragma once
// A fast loopback OTLP/HTTP receiver for throughput runs: HTTP/1.1 keep-alive,
// gzip bodies, and just enough protobuf to count spans and check their ids
// (ExportTraceServiceRequest.resource_spans(1).scope_spans(2).spans(2)).
// Replies 200 with an empty ExportTraceServiceResponse.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace bto::bench {

struct ReceiverCounts {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> spans{0};
  std::atomic<uint64_t> spans_with_parent{0};
  std::atomic<uint64_t> bad_ids{0};      // trace_id not 16 bytes or span_id not 8
  std::atomic<uint64_t> bad_requests{0};  // unparsable HTTP, gzip or protobuf
  std::atomic<uint64_t> body_bytes{0};    // on the wire (compressed if gzip)
  void reset() {
    requests = 0;
    spans = 0;
    spans_with_parent = 0;
    bad_ids = 0;
    bad_requests = 0;
    body_bytes = 0;
  }
};

class CountingReceiver {
 public:
  CountingReceiver();  // binds 127.0.0.1 on an ephemeral port
  ~CountingReceiver();
  CountingReceiver(const CountingReceiver&) = delete;
  CountingReceiver& operator=(const CountingReceiver&) = delete;

  int port() const { return port_; }
  ReceiverCounts& counts() { return counts_; }

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  ReceiverCounts counts_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
  std::vector<int> connection_fds_;
};

// Counts the spans of one serialized ExportTraceServiceRequest. False if malformed.
bool count_spans(const uint8_t* data, size_t size, ReceiverCounts& counts);

}  // namespace bto::bench
