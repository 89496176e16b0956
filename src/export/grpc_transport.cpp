#include "export/grpc_transport.h"

#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/log.h"
#include "export/protobuf_reader.h"

namespace bto {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + quote_bytes(path, 200));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Metadata values (our OTLP headers: credentials) that gRPC's own log lines
// must never carry. Its tracers (GRPC_TRACE=http, ...) print request metadata
// in full; the app refuses GRPC_TRACE when headers are set, and this filter
// catches any line that quotes a value anyway.
struct LogSecrets {
  std::mutex mutex;
  std::vector<std::string> values;
};

// Never destroyed: gRPC's threads may still log after static destructors ran
// (a subchannel freed on an event-engine thread at exit).
LogSecrets& log_secrets() {
  static LogSecrets* const secrets = new LogSecrets;
  return *secrets;
}

void add_log_secrets(const std::vector<std::pair<std::string, std::string>>& metadata) {
  LogSecrets& secrets = log_secrets();
  std::lock_guard lock(secrets.mutex);
  for (const auto& [key, value] : metadata) {
    if (!value.empty() && std::find(secrets.values.begin(), secrets.values.end(), value) == secrets.values.end()) {
      secrets.values.push_back(value);
    }
  }
}

bool quotes_a_secret(std::string_view message) {
  LogSecrets& secrets = log_secrets();
  std::lock_guard lock(secrets.mutex);
  for (const std::string& value : secrets.values) {
    if (message.find(value) != std::string_view::npos) return true;
  }
  return false;
}

// Set once exit begins: no gRPC line reaches spdlog after that.
std::atomic<bool> grpc_logs_closed{false};

// gRPC core logs through gpr_log to stderr by default: every failed connection
// attempt to a down collector would print a line. Our own (rate-limited) log
// already says what failed, so gRPC's lines go to spdlog's debug level.
void route_grpc_logs_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // spdlog's registry is a function static: touching it here constructs it
    // before our atexit handler is registered, so the handler runs first and
    // no gRPC line reaches a destroyed logger.
    (void)spdlog::default_logger_raw();
    std::atexit([] { grpc_logs_closed.store(true, std::memory_order_release); });
    gpr_set_log_function([](gpr_log_func_args* args) {
      if (grpc_logs_closed.load(std::memory_order_acquire)) return;
      if (quotes_a_secret(args->message)) {
        spdlog::debug("grpc: (a line quoting an OTLP header value, withheld) ({}:{})", args->file, args->line);
        return;
      }
      spdlog::debug("grpc: {} ({}:{})", args->message, args->file, args->line);
    });
  });
}

std::shared_ptr<grpc::ChannelCredentials> make_credentials(const GrpcTransportOptions& options, bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  std::string key, cert;
  if (!options.client_key_file.empty()) key = read_file(options.client_key_file);
  if (!options.client_cert_file.empty()) cert = read_file(options.client_cert_file);
  if (options.insecure_skip_verify) {
    grpc::experimental::TlsChannelCredentialsOptions tls_options;
    tls_options.set_verify_server_certs(false);
    tls_options.set_check_call_host(false);
    tls_options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    if (!key.empty()) {
      tls_options.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
          std::vector<grpc::experimental::IdentityKeyCertPair>{{key, cert}}));
      tls_options.watch_identity_key_cert_pairs();
    }
    return grpc::experimental::TlsCredentials(tls_options);
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) ssl.pem_root_certs = read_file(options.ca_file);  // else the system roots
  ssl.pem_private_key = std::move(key);
  ssl.pem_cert_chain = std::move(cert);
  return grpc::SslCredentials(ssl);
}

// gRPC frees a channel's subchannels, and a connection attempt still in
// flight, on its own threads after the channel is gone; the last of them
// runs grpc_shutdown in a detached thread. A process exiting meanwhile frees
// globals under those threads (our log sink read freed memory) and leaves
// their objects reachable only from epoll (LeakSanitizer reports them). So
// the last transport to go waits, bounded, until gRPC has really shut down.
constexpr std::chrono::milliseconds kGrpcShutdownWait{250};

class GrpcQuiescence {
 public:
  GrpcQuiescence() { live_transports().fetch_add(1, std::memory_order_relaxed); }
  GrpcQuiescence(const GrpcQuiescence&) = delete;
  GrpcQuiescence& operator=(const GrpcQuiescence&) = delete;
  ~GrpcQuiescence() {
    if (live_transports().fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    const auto deadline = std::chrono::steady_clock::now() + kGrpcShutdownWait;
    while (grpc_is_initialized() != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (grpc_is_initialized() != 0) {
      spdlog::debug("gRPC still running {} ms after its last channel closed", kGrpcShutdownWait.count());
    }
  }

 private:
  static std::atomic<int>& live_transports() {
    static std::atomic<int> count{0};
    return count;
  }
};

class GrpcTransportImpl final : public GrpcTransport {
 public:
  explicit GrpcTransportImpl(const GrpcTransportOptions& options)
      : method_(options.method), metadata_(options.metadata), max_response_bytes_(options.max_response_bytes) {
    add_log_secrets(options.metadata);
    route_grpc_logs_once();
    const std::optional<GrpcTarget> target = grpc_target_from_endpoint(options.endpoint, options.insecure);
    if (!target) throw std::runtime_error("unusable gRPC endpoint " + quote_bytes(options.endpoint, 200));
    grpc::ChannelArguments args;
    if (!options.user_agent.empty()) args.SetUserAgentPrefix(options.user_agent);
    // We retry with our own policy and counters; gRPC's would hide attempts.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    const int backoff_ms = static_cast<int>(std::clamp<int64_t>(options.reconnect_backoff.count(), 100, 60000));
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, backoff_ms);
    // Despite its name this is gRPC's minimum connect timeout (20 s by default);
    // a small backoff must not become a timeout a loaded collector cannot meet.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                static_cast<int>(std::clamp<int64_t>(options.connect_timeout.count(), 100, 60000)));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, backoff_ms);
    if (options.gzip) args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
    channel_ = grpc::CreateCustomChannel(target->authority, make_credentials(options, target->tls), args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  ~GrpcTransportImpl() override {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  const GrpcResponse& call(std::string_view request, std::chrono::milliseconds timeout) noexcept override {
    response_.code = 0;
    response_.message.clear();
    response_.details.clear();
    response_.body.clear();
    response_.aborted = false;
    try {
      perform(request, timeout);
    } catch (const std::exception& e) {  // std::bad_alloc only: grpc++ does not throw
      response_.code = static_cast<int>(grpc::StatusCode::INTERNAL);
      response_.message = e.what();
    }
    return response_;
  }

  void abort() noexcept override {
    std::lock_guard lock(mutex_);
    aborted_ = true;
    // Safe before the call has started: the context remembers and cancels it then.
    if (active_ != nullptr) active_->TryCancel();
  }

 private:
  void perform(std::string_view request, std::chrono::milliseconds timeout) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    for (const auto& [key, value] : metadata_) context.AddMetadata(key, value);
    {
      std::lock_guard lock(mutex_);
      if (aborted_) {
        response_.aborted = true;
        response_.code = static_cast<int>(grpc::StatusCode::CANCELLED);
        response_.message = "aborted by shutdown";
        return;
      }
      active_ = &context;
    }
    // A copy, on purpose: gRPC's transport may still hold the slice after the
    // call ends (a cancelled write in flight), and the caller reuses its buffer.
    // One memcpy per request, nothing per span.
    grpc::Slice slice(request.data(), request.size());
    grpc::ByteBuffer request_buffer(&slice, 1);
    grpc::ByteBuffer reply;
    grpc::Status status;
    {
      auto rpc = stub_->PrepareUnaryCall(&context, method_, request_buffer, &cq_);
      rpc->StartCall();
      rpc->Finish(&reply, &status, this);
      void* tag = nullptr;
      bool ok = false;
      const bool got = cq_.Next(&tag, &ok);
      (void)got;
    }
    bool cancelled_by_us;
    {
      std::lock_guard lock(mutex_);
      active_ = nullptr;
      cancelled_by_us = aborted_;
    }
    response_.code = static_cast<int>(status.error_code());
    response_.message = status.error_message();
    response_.details = status.error_details();
    response_.aborted = cancelled_by_us && status.error_code() == grpc::StatusCode::CANCELLED;
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      if (reply.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          const size_t room = max_response_bytes_ - response_.body.size();
          response_.body.append(reinterpret_cast<const char*>(s.begin()), std::min(room, s.size()));
          if (response_.body.size() >= max_response_bytes_) break;
        }
      }
    }
  }

  GrpcQuiescence quiescence_;  // first: destroyed last, after the channel and queue
  const std::string method_;
  const std::vector<std::pair<std::string, std::string>> metadata_;
  const size_t max_response_bytes_;
  std::shared_ptr<grpc::Channel> channel_;  // persistent: one HTTP/2 connection, reconnected by gRPC
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::CompletionQueue cq_;  // ours alone: call() is not concurrent
  GrpcResponse response_;
  std::mutex mutex_;
  grpc::ClientContext* active_ = nullptr;  // guarded by mutex_
  bool aborted_ = false;                   // guarded by mutex_
};

// google.protobuf.Duration { int64 seconds = 1; int32 nanos = 2; }
std::optional<std::chrono::milliseconds> parse_duration_message(std::string_view bytes) noexcept {
  constexpr int64_t kMaxSeconds = 86400;  // as parse_retry_after: a day at most
  ProtobufReader r(bytes);
  int64_t seconds = 0, nanos = 0;
  while (!r.done()) {
    uint32_t number, wire;
    uint64_t value = 0;
    std::string_view payload;
    if (!r.field(number, wire, value, payload)) return std::nullopt;
    if (number == 1 && wire == 0) seconds = static_cast<int64_t>(value);
    if (number == 2 && wire == 0) nanos = static_cast<int32_t>(static_cast<uint32_t>(value));
  }
  if (seconds < 0 || nanos < 0 || (seconds == 0 && nanos == 0)) return std::chrono::milliseconds(0);
  if (seconds >= kMaxSeconds) return std::chrono::seconds(kMaxSeconds);
  return std::chrono::milliseconds(seconds * 1000 + (nanos + 999'999) / 1'000'000);
}

}  // namespace

std::unique_ptr<GrpcTransport> create_grpc_transport(const GrpcTransportOptions& options) {
  return std::make_unique<GrpcTransportImpl>(options);
}

std::optional<GrpcTarget> grpc_target_from_endpoint(std::string_view endpoint, bool insecure) {
  GrpcTarget target;
  std::string_view rest = endpoint;
  std::string default_port = "443";
  if (const size_t scheme_end = endpoint.find("://"); scheme_end != std::string_view::npos) {
    const std::string_view scheme = endpoint.substr(0, scheme_end);
    if (scheme == "http") {
      target.tls = false;
      default_port = "80";
    } else if (scheme == "https") {
      target.tls = true;
    } else {
      return std::nullopt;
    }
    rest = endpoint.substr(scheme_end + 3);
  } else {
    target.tls = !insecure;
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.empty() || authority.front() == ':') return std::nullopt;
  target.authority = std::string(authority);
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  const bool has_port = colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  if (!has_port) target.authority += ":" + default_port;
  return target;
}

std::string check_grpc_metadata(std::string_view key, std::string_view value) {
  if (key.empty()) return "empty name";
  for (char c : key) {
    const auto u = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    if (!(std::isdigit(u) || (u >= 'a' && u <= 'z') || u == '-' || u == '_' || u == '.')) {
      return "a gRPC metadata name has only letters, digits, '-', '_' and '.'";
    }
  }
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.starts_with("grpc-") || lower == "te" || lower == "content-type" || lower == "user-agent") {
    return "a name reserved by gRPC";
  }
  if (!lower.ends_with("-bin")) {
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) return "its value has a byte outside printable ASCII (only -bin names may)";
    }
  }
  return {};
}

std::optional<std::chrono::milliseconds> grpc_retry_delay(std::string_view status_details) noexcept {
  // google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
  // Any { string type_url = 1; bytes value = 2; }  RetryInfo { Duration retry_delay = 1; }
  constexpr std::string_view kRetryInfo = "type.googleapis.com/google.rpc.RetryInfo";
  ProtobufReader status(status_details);
  while (!status.done()) {
    uint32_t number, wire;
    uint64_t value = 0;
    std::string_view any_bytes;
    if (!status.field(number, wire, value, any_bytes)) return std::nullopt;
    if (number != 3 || wire != 2) continue;
    ProtobufReader any(any_bytes);
    std::string_view type_url, payload;
    while (!any.done()) {
      uint32_t n, w;
      std::string_view bytes;
      if (!any.field(n, w, value, bytes)) return std::nullopt;
      if (n == 1 && w == 2) type_url = bytes;
      if (n == 2 && w == 2) payload = bytes;
    }
    if (type_url != kRetryInfo) continue;
    ProtobufReader info(payload);
    std::optional<std::chrono::milliseconds> delay = std::chrono::milliseconds(0);
    while (!info.done()) {
      uint32_t n, w;
      std::string_view bytes;
      if (!info.field(n, w, value, bytes)) return std::nullopt;
      if (n == 1 && w == 2) delay = parse_duration_message(bytes);
    }
    return delay;
  }
  return std::nullopt;
}

const char* grpc_code_name(int code) noexcept {
  static constexpr const char* kNames[] = {
      "OK",           "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",   "UNIMPLEMENTED",    "INTERNAL",
      "UNAVAILABLE",  "DATA_LOSS",         "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "UNKNOWN_CODE";
  return kNames[code];
}

}  // namespace bto
