#include "export/http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <mutex>

#include "common/log.h"

namespace bto {
namespace {

struct EasyDeleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* h) const noexcept { curl_multi_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using MultiPtr = std::unique_ptr<CURLM, MultiDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals_prefix(std::string_view line, std::string_view name) noexcept {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  }
  return true;
}

std::string_view header_value(std::string_view line) noexcept {
  line.remove_prefix(line.find(':') + 1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
  return line;
}

TransportError classify_curl(CURLcode code) noexcept {
  switch (code) {
    case CURLE_OK:
      return TransportError::kNone;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return TransportError::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportError::kTimeout;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return TransportError::kSendRecv;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return TransportError::kTls;
    case CURLE_ABORTED_BY_CALLBACK:
      return TransportError::kAborted;
    default:
      return TransportError::kConfig;
  }
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(const HttpTransportOptions& options) : options_(options) {
    global_init_once();
    easy_.reset(curl_easy_init());
    multi_.reset(curl_multi_init());
    if (!easy_ || !multi_) {
      init_error_ = "libcurl initialisation failed";
      return;
    }
    curl_slist* list = nullptr;
    auto append = [&list](const std::string& line) {
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (next != nullptr) list = next;
    };
    append("Content-Type: " + options.content_type);
    if (!options.content_encoding.empty()) append("Content-Encoding: " + options.content_encoding);
    append("Expect:");  // no 100-continue round trip
    for (const auto& [name, value] : options.headers) append(name + ": " + value);
    headers_.reset(list);

    CURL* h = easy_.get();
    curl_easy_setopt(h, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    // HTTP/2 only when TLS+ALPN offers it; plain http stays HTTP/1.1 keep-alive.
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer_);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CurlTransport::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &CurlTransport::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, this);
    // Belt and braces with the multi wakeup: also stops a transfer curl is busy with.
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &CurlTransport::on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
    if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
    if (!options.client_cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, options.client_cert_file.c_str());
    if (!options.client_key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, options.client_key_file.c_str());
    if (options.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    response_.body.reserve(std::min<size_t>(options.max_response_body, 4096));
  }

  const HttpResponse& post(std::string_view body, std::chrono::milliseconds timeout) noexcept override {
    response_.outcome = {};
    response_.body.clear();
    response_.content_type.clear();
    response_.retry_after.clear();
    response_.error.clear();
    if (!init_error_.empty()) {
      response_.outcome.error = TransportError::kConfig;
      response_.error = init_error_;
      return response_;
    }
    if (aborted_.load(std::memory_order_acquire)) {
      response_.outcome.error = TransportError::kAborted;
      return response_;
    }
    CURL* h = easy_.get();
    error_buffer_[0] = '\0';
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(timeout.count(), 1)));

    CURLcode code = CURLE_OK;
    if (curl_multi_add_handle(multi_.get(), h) != CURLM_OK) {
      code = CURLE_FAILED_INIT;
    } else {
      code = run_transfer();
      curl_multi_remove_handle(multi_.get(), h);
    }
    response_.outcome.error = classify_curl(code);
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      response_.outcome.http_status = status;
    } else if (response_.outcome.error != TransportError::kAborted) {
      response_.error = error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(code);
    }
    return response_;
  }

  void abort() noexcept override {
    aborted_.store(true, std::memory_order_release);
    if (multi_) curl_multi_wakeup(multi_.get());
  }

 private:
  CURLcode run_transfer() noexcept {
    for (;;) {
      if (aborted_.load(std::memory_order_acquire)) return CURLE_ABORTED_BY_CALLBACK;
      int running = 0;
      if (curl_multi_perform(multi_.get(), &running) != CURLM_OK) return CURLE_FAILED_INIT;
      if (running == 0) break;
      // Wakes on socket activity, curl's own timers (curl shortens the wait)
      // or abort()'s curl_multi_wakeup.
      if (curl_multi_poll(multi_.get(), nullptr, 0, 1000, nullptr) != CURLM_OK) return CURLE_FAILED_INIT;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &queued)) {
      if (msg->msg == CURLMSG_DONE) return msg->data.result;
    }
    return CURLE_FAILED_INIT;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self_ptr) noexcept {
    auto* self = static_cast<CurlTransport*>(self_ptr);
    const size_t n = size * count;
    std::string& body = self->response_.body;
    const size_t room = self->options_.max_response_body - std::min(body.size(), self->options_.max_response_body);
    try {
      body.append(data, std::min(n, room));
    } catch (...) {
    }
    return n;  // keep reading (and discarding) so the connection stays reusable
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self_ptr) noexcept {
    auto* self = static_cast<CurlTransport*>(self_ptr);
    const size_t n = size * count;
    const std::string_view line(data, n);
    try {
      if (line.starts_with("HTTP/")) {  // a new response (e.g. after 100 Continue)
        self->response_.retry_after.clear();
        self->response_.content_type.clear();
      } else if (iequals_prefix(line, "retry-after:")) {
        self->response_.retry_after.assign(header_value(line).substr(0, 128));
      } else if (iequals_prefix(line, "content-type:")) {
        self->response_.content_type.assign(header_value(line).substr(0, 128));
      }
    } catch (...) {
    }
    return n;
  }

  static int on_progress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
    return static_cast<CurlTransport*>(self_ptr)->aborted_.load(std::memory_order_acquire) ? 1 : 0;
  }

  HttpTransportOptions options_;
  EasyPtr easy_;
  MultiPtr multi_;
  SlistPtr headers_;
  std::string init_error_;
  std::atomic<bool> aborted_{false};
  char error_buffer_[CURL_ERROR_SIZE] = {};
  HttpResponse response_;
};

}  // namespace

std::unique_ptr<HttpTransport> create_http_transport(const HttpTransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace bto
