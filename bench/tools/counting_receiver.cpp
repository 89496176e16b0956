#include "counting_receiver.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "http_receiver.h"

namespace bto::bench {
namespace {

std::mutex g_connections_mutex;

}  // namespace

bool count_spans(const uint8_t* data, size_t size, ReceiverCounts& counts) {
  uint64_t spans = 0, with_parent = 0, bad = 0;
  const bool ok = for_each_span(data, size, [&](const uint8_t* sp, size_t sp_size) {
    size_t trace_id = 0, span_id = 0, parent = 0;
    const bool span_ok = walk_message(sp, sp + sp_size, [&](uint32_t f, const uint8_t*, size_t len) {
      if (f == 1) trace_id = len;
      else if (f == 2) span_id = len;
      else if (f == 4) parent = len;
      return true;
    });
    ++spans;
    if (parent == 8) ++with_parent;
    if (!span_ok || trace_id != 16 || span_id != 8) ++bad;
    return span_ok;
  });
  counts.spans += spans;
  counts.spans_with_parent += with_parent;
  counts.bad_ids += bad;
  return ok;
}

CountingReceiver::CountingReceiver() {
  listen_fd_ = listen_loopback(0, port_);
  if (listen_fd_ < 0) throw std::runtime_error("cannot listen on 127.0.0.1");
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
  HttpRequestReader reader(fd);
  HttpRequest request;
  std::string plain;
  while (reader.next(request)) {  // false once closed by the destructor
    // bpftrace-otel also sends its span metrics (/v1/metrics): acknowledged, not counted.
    if (request.target != "/v1/traces") {
      if (!send_all(fd, kHttpOk)) return;
      continue;
    }
    counts_.body_bytes += request.body.size();
    counts_.requests++;
    const std::string* message = plain_body(request, plain);
    const bool ok = message != nullptr &&
                    count_spans(reinterpret_cast<const uint8_t*>(message->data()), message->size(), counts_);
    if (!ok) counts_.bad_requests++;
    if (!send_all(fd, ok ? kHttpOk : kHttpBadRequest)) return;
  }
}

}  // namespace bto::bench
