#pragma once
// One persistent HTTP(S) client (libcurl) per exporter: POST a body, get the
// status, a bounded body and Retry-After back. Not thread-safe, except abort().

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "export/gzip_compressor.h"
#include "export/retry_policy.h"

namespace bto {

struct HttpTransportOptions {
  std::string url;
  std::string content_type;
  std::string content_encoding;  // "gzip" or empty
  std::vector<std::pair<std::string, std::string>> headers;  // values are secrets: never logged
  std::string ca_file;           // verify the server against this CA bundle
  std::string client_cert_file;  // mTLS
  std::string client_key_file;
  bool insecure_skip_verify = false;
  std::string user_agent;
  size_t max_response_body = 64 * 1024;  // the rest is discarded
};

struct HttpResponse {
  HttpOutcome outcome;
  std::string body;  // at most max_response_body bytes
  std::string content_type;
  std::string retry_after;  // raw header value, empty when absent
  std::string error;        // transport error text (never contains header values)
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Blocks until a response, an error, `timeout` or abort(). The returned
  // reference stays valid until the next post().
  virtual const HttpResponse& post(std::string_view body, std::chrono::milliseconds timeout) noexcept = 0;
  // Any thread: the running and every later post() return kAborted promptly.
  virtual void abort() noexcept = 0;
};

std::unique_ptr<HttpTransport> create_http_transport(const HttpTransportOptions& options);

}  // namespace bto
