#include "test_receiver.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <simdjson.h>
#include <stdexcept>

namespace bto::testing {
namespace {

std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("receiver did not print its port in time");
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char c;
    const ssize_t n = read(fd, &c, 1);
    if (n <= 0) throw std::runtime_error("receiver exited before printing its port");
    if (c == '\n') return line;
    line.push_back(c);
  }
}

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::vector<ReceivedAttribute> attributes_of(simdjson::dom::array list) {
  std::vector<ReceivedAttribute> out;
  for (simdjson::dom::object a : list) {
    ReceivedAttribute attr;
    attr.key = std::string(a["key"].get_string().value());
    attr.type = std::string(a["type"].get_string().value());
    simdjson::dom::element v = a["value"];
    if (v.is_bool()) {
      attr.value = v.get_bool().value() ? "true" : "false";
    } else if (v.is_string()) {
      attr.value = std::string(v.get_string().value());
    }
    out.push_back(std::move(attr));
  }
  return out;
}

uint64_t number_of(simdjson::dom::element e) {
  return std::stoull(std::string(e.get_string().value()));
}

std::map<std::string, std::string> typed_attribute_map(simdjson::dom::array list) {
  std::map<std::string, std::string> out;
  for (simdjson::dom::object a : list) {
    const std::string type(a["type"].get_string().value());
    simdjson::dom::element v = a["value"];
    std::string value = v.is_bool() ? (v.get_bool().value() ? "true" : "false") : std::string(v.get_string().value());
    out[std::string(a["key"].get_string().value())] = type + ":" + value;
  }
  return out;
}

std::string text_or_empty(simdjson::dom::element e) { return e.is_string() ? std::string(e.get_string().value()) : ""; }

ReceivedPoint point_of(simdjson::dom::object p) {
  ReceivedPoint point;
  point.metric = std::string(p["metric"].get_string().value());
  point.description = std::string(p["description"].get_string().value());
  point.unit = std::string(p["unit"].get_string().value());
  point.kind = std::string(p["kind"].get_string().value());
  point.temporality = static_cast<int>(p["temporality"].get_int64().value());
  point.is_monotonic = p["is_monotonic"].get_bool().value();
  point.attributes = typed_attribute_map(p["attributes"].get_array());
  point.start = number_of(p["start"]);
  point.time = number_of(p["time"]);
  point.resource = typed_attribute_map(p["resource"].get_array());
  point.scope_name = std::string(p["scope_name"].get_string().value());
  if (point.kind == "histogram") {
    point.count = number_of(p["count"]);
    point.sum = text_or_empty(p["sum"]);
    point.min = text_or_empty(p["min"]);
    point.max = text_or_empty(p["max"]);
    for (auto c : p["bucket_counts"].get_array()) point.bucket_counts.push_back(number_of(c));
    for (auto b : p["explicit_bounds"].get_array()) point.bounds.push_back(std::stod(std::string(b.get_string().value())));
  } else {
    point.value = std::string(p["value"].get_string().value());
  }
  return point;
}

}  // namespace

std::string otlp_endpoint(ReceiverProtocol protocol, int port, bool tls) {
  const std::string base = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
  return protocol == ReceiverProtocol::kGrpc ? base : base + "/v1/traces";
}

TestReceiver::TestReceiver(const ReceiverOptions& options)
    : protocol_(options.protocol), tls_(!options.cert_file.empty()) {
  // The gRPC receiver serves on the port it is given and prints its control
  // server's port; the HTTP receiver serves both on the port it prints.
  const bool grpc = protocol_ == ReceiverProtocol::kGrpc;
  port_ = grpc && options.port == 0 ? free_port() : options.port;
  std::vector<std::string> args = {BTO_PYTHON, grpc ? BTO_OTLP_GRPC_RECEIVER : BTO_OTLP_HTTP_RECEIVER,
                                   "--protos", BTO_OTLP_PROTOS_DIR, "--port", std::to_string(port_)};
  if (tls_) {
    args.insert(args.end(), {"--cert", options.cert_file, "--key", options.key_file});
    if (!options.client_ca_file.empty()) args.insert(args.end(), {"--client-ca", options.client_ca_file});
  }
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // no stray receiver when a test binary is killed (ctest timeout)
    dup2(out[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  try {
    control_port_ = std::stoi(read_line(out[0], std::chrono::seconds(20)));
    if (!grpc) port_ = control_port_;
  } catch (...) {
    close(out[0]);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    throw;
  }
  close(out[0]);
}

TestReceiver::~TestReceiver() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string TestReceiver::traces_url() const { return otlp_endpoint(ReceiverProtocol::kHttp, port_, tls_); }

std::string TestReceiver::metrics_url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + "/v1/metrics";
}

std::string TestReceiver::request(const std::string& path, const std::string* post_body) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  const std::string url =
      std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(control_port_) + path;
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  if (!ca_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, ca_file.c_str());
  if (!client_cert_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_SSLCERT, client_cert_file.c_str());
  if (!client_key_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_SSLKEY, client_key_file.c_str());
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (post_body != nullptr) {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) throw std::runtime_error(std::string("receiver request failed: ") + curl_easy_strerror(rc));
  return body;
}

void TestReceiver::control(const std::string& json) { request("/control", &json); }

Received TestReceiver::received() {
  const std::string text = request("/received", nullptr);
  simdjson::dom::parser parser;
  simdjson::dom::object root = parser.parse(text).get_object().value();
  Received r;
  r.requests = static_cast<int>(root["requests"].get_int64().value());
  r.accepted = static_cast<int>(root["accepted"].get_int64().value());
  r.duplicates = static_cast<int>(root["duplicates"].get_int64().value());
  for (auto e : root["content_types"].get_array()) r.content_types.emplace_back(e.get_string().value());
  for (auto e : root["content_encodings"].get_array()) r.content_encodings.emplace_back(e.get_string().value());
  for (auto e : root["client_ports"].get_array()) r.client_ports.push_back(static_cast<int>(e.get_int64().value()));
  for (auto e : root["errors"].get_array()) r.errors.emplace_back(e.get_string().value());
  simdjson::dom::array metric_names;
  if (!root["metric_names"].get_array().get(metric_names)) {
    for (auto e : metric_names) r.metric_names.emplace_back(e.get_string().value());
  }
  for (simdjson::dom::object h : root["headers"].get_array()) {
    std::map<std::string, std::string> map;
    for (auto [k, v] : h) map.emplace(std::string(k), std::string(v.get_string().value()));
    r.headers.push_back(std::move(map));
  }
  for (simdjson::dom::object s : root["spans"].get_array()) {
    ReceivedSpan span;
    span.trace_id = std::string(s["trace_id"].get_string().value());
    span.span_id = std::string(s["span_id"].get_string().value());
    span.parent_span_id = std::string(s["parent_span_id"].get_string().value());
    span.name = std::string(s["name"].get_string().value());
    span.kind = static_cast<int>(s["kind"].get_int64().value());
    span.start = number_of(s["start"]);
    span.end = number_of(s["end"]);
    span.attributes = attributes_of(s["attributes"].get_array());
    span.dropped_attributes_count = static_cast<uint32_t>(s["dropped_attributes_count"].get_int64().value());
    for (simdjson::dom::object e : s["events"].get_array()) {
      ReceivedEvent event;
      event.name = std::string(e["name"].get_string().value());
      event.time = number_of(e["time"]);
      event.attributes = attributes_of(e["attributes"].get_array());
      span.events.push_back(std::move(event));
    }
    span.has_status = s["has_status"].get_bool().value();
    span.status_code = static_cast<int>(s["status_code"].get_int64().value());
    span.status_message = std::string(s["status_message"].get_string().value());
    span.resource = attributes_of(s["resource"].get_array());
    span.scope_name = std::string(s["scope_name"].get_string().value());
    span.scope_version = std::string(s["scope_version"].get_string().value());
    r.spans.push_back(std::move(span));
  }
  return r;
}

ReceivedMetrics TestReceiver::received_metrics() {
  const std::string text = request("/received_metrics", nullptr);
  simdjson::dom::parser parser;
  simdjson::dom::object root = parser.parse(text).get_object().value();
  ReceivedMetrics r;
  r.requests = static_cast<int>(root["requests"].get_int64().value());
  r.accepted = static_cast<int>(root["accepted"].get_int64().value());
  for (auto e : root["content_encodings"].get_array()) r.content_encodings.emplace_back(e.get_string().value());
  for (auto e : root["errors"].get_array()) r.errors.emplace_back(e.get_string().value());
  for (simdjson::dom::object p : root["points"].get_array()) r.points.push_back(point_of(p));
  return r;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int run_command(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace bto::testing
