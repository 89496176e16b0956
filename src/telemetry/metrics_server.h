#pragma once
// A tiny HTTP/1.1 server on its own thread for the exporter's own health:
//   GET /metrics  Prometheus text (metrics_text.h)
//   GET /healthz  200 "ok" while the process runs
//   GET /readyz   200 "ready", or 503 with the reason (health.h)
// anything else 404, methods other than GET/HEAD 405. One request per
// connection (Connection: close), bounded request size, per-connection
// deadlines, a cap on connections served at once. Plain sockets and poll: it
// reads atomics only and never blocks the reader thread.
//
// Idle and slow clients cannot starve a liveness probe (issue 17.5): a client
// has request_timeout to send its whole request, and when the cap is reached a
// new connection closes the oldest one that has not sent a request yet (or
// was already answered) instead of being refused. A request may end its lines
// with a bare LF (RFC 9112 2.2). ":PORT" listens on IPv6 and IPv4 (one
// dual-stack socket) where the host has IPv6, else on IPv4.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "telemetry/health.h"
#include "telemetry/metrics_text.h"
#include "telemetry/pipeline_stats.h"

namespace bto {

struct MetricsOptions {
  std::string listen;  // HOST:PORT, [IPv6]:PORT or :PORT (all interfaces); empty: no server
  size_t max_request_bytes = 8192;              // request line + headers; larger: 431
  std::chrono::milliseconds request_timeout{2000};  // to send the whole request after connecting
  std::chrono::milliseconds io_timeout{5000};       // to read the answer once the request is in
  size_t max_connections = 16;  // more at once: the oldest idle one is closed (503 only when none is idle)
};

struct ListenAddress {
  std::string host;  // without brackets; empty: all interfaces
  uint16_t port = 0;
};

// Splits HOST:PORT / [V6]:PORT / :PORT; nullopt when it is none of these.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

class MetricsServer {
 public:
  virtual ~MetricsServer() = default;
  // The bound port (useful when 0 was asked for).
  virtual uint16_t port() const noexcept = 0;
  // Closes the listening socket and every connection, joins the thread. Idempotent.
  virtual void stop() noexcept = 0;
};

// Binds, listens and starts serving before returning. Throws StartupError
// naming metrics_listen when the address is invalid or cannot be bound.
// `stats`, `health` and `info` must outlive the server.
std::unique_ptr<MetricsServer> create_metrics_server(const MetricsOptions& options, const PipelineStats& stats,
                                                     const HealthState& health, const MetricsInfo& info);

}  // namespace bto
