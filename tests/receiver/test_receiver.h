#pragma once
// Runs a test OTLP receiver as a real subprocess (tests/receiver/otlp_receiver.py
// for OTLP/HTTP, otlp_grpc_receiver.py for OTLP/gRPC) and reads back what it
// decoded with the official OTLP schema. Both speak the same control protocol
// (faults, /received), so a test can run against either.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bto::testing {

struct ReceivedAttribute {
  std::string key;
  std::string type;   // string, bool, int, double, array (values NUL-joined)
  std::string value;  // bool as "true"/"false", int as decimal, double as Python repr
};

struct ReceivedEvent {
  std::string name;
  uint64_t time = 0;
  std::vector<ReceivedAttribute> attributes;
};

struct ReceivedSpan {
  std::string trace_id, span_id, parent_span_id;  // lowercase hex
  std::string name;
  int kind = 0;
  uint64_t start = 0, end = 0;
  std::vector<ReceivedAttribute> attributes;
  uint32_t dropped_attributes_count = 0;
  std::vector<ReceivedEvent> events;
  bool has_status = false;
  int status_code = 0;
  std::string status_message;
  std::vector<ReceivedAttribute> resource;
  std::string scope_name, scope_version;
};

struct Received {
  int requests = 0;
  int accepted = 0;
  int duplicates = 0;
  std::vector<std::string> content_types;
  std::vector<std::string> content_encodings;
  std::vector<std::map<std::string, std::string>> headers;
  std::vector<int> client_ports;
  std::vector<ReceivedSpan> spans;
  std::vector<std::string> errors;
  std::vector<std::string> metric_names;  // gRPC receiver only: metrics in accepted MetricsService calls
};

// One metric data point the OTLP/HTTP receiver decoded (POST /v1/metrics).
struct ReceivedPoint {
  std::string metric, description, unit, kind;  // kind: histogram or sum
  int temporality = 0;
  bool is_monotonic = false;
  std::map<std::string, std::string> attributes;  // key -> "type:value"
  uint64_t start = 0, time = 0;
  uint64_t count = 0;              // histogram
  std::string sum, min, max;       // histogram; "" when absent
  std::string value;               // sum
  std::vector<uint64_t> bucket_counts;
  std::vector<double> bounds;
  std::map<std::string, std::string> resource;  // key -> "type:value"
  std::string scope_name;
};

struct ReceivedMetrics {
  int requests = 0, accepted = 0;
  std::vector<std::string> content_encodings;
  std::vector<std::string> errors;
  std::vector<ReceivedPoint> points;  // every export's points, in arrival order
};

enum class ReceiverProtocol { kHttp, kGrpc };

struct ReceiverOptions {
  ReceiverProtocol protocol = ReceiverProtocol::kHttp;
  int port = 0;  // where exporters connect; 0: any free port
  std::string cert_file{}, key_file{}, client_ca_file{};  // TLS when cert_file is set
};

// What an exporter is given to reach a receiver on `port`: OTLP/HTTP's
// .../v1/traces URL, or OTLP/gRPC's scheme://host:port.
std::string otlp_endpoint(ReceiverProtocol protocol, int port, bool tls = false);

class TestReceiver {
 public:
  explicit TestReceiver(const ReceiverOptions& options = {});
  ~TestReceiver();
  TestReceiver(const TestReceiver&) = delete;
  TestReceiver& operator=(const TestReceiver&) = delete;

  ReceiverProtocol protocol() const { return protocol_; }
  int port() const { return port_; }  // where exporters connect
  std::string endpoint() const { return otlp_endpoint(protocol_, port_, tls_); }
  // bpftrace-otel's --protocol for this receiver.
  const char* protocol_flag() const { return protocol_ == ReceiverProtocol::kGrpc ? "grpc" : "http/protobuf"; }
  std::string traces_url() const;   // OTLP/HTTP only
  std::string metrics_url() const;  // OTLP/HTTP only
  void control(const std::string& json);
  Received received();
  ReceivedMetrics received_metrics();  // OTLP/HTTP only (gRPC: Received::metric_names)

  // Client credentials for talking to a TLS receiver from the test itself.
  std::string ca_file, client_cert_file, client_key_file;

 private:
  std::string request(const std::string& path, const std::string* post_body);

  pid_t pid_ = -1;
  ReceiverProtocol protocol_;
  int port_ = 0;
  int control_port_ = 0;  // the HTTP receiver's own port; the gRPC receiver's control server
  bool tls_ = false;
};

// A port that nothing listens on right now (for "receiver starts later").
int free_port();

// Runs argv (no shell); returns the exit status, output discarded.
int run_command(const std::vector<std::string>& argv);

}  // namespace bto::testing
