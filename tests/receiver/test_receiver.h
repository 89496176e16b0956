#pragma once
// Runs tests/receiver/otlp_receiver.py as a real subprocess and reads back
// what it decoded with the official OTLP schema.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bto::testing {

struct ReceivedAttribute {
  std::string key;
  std::string type;   // string, bool, int, double
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

struct ReceiverOptions {
  int port = 0;  // 0: any free port
  std::string cert_file, key_file, client_ca_file;  // TLS when cert_file is set
};

class TestReceiver {
 public:
  explicit TestReceiver(const ReceiverOptions& options = {});
  ~TestReceiver();
  TestReceiver(const TestReceiver&) = delete;
  TestReceiver& operator=(const TestReceiver&) = delete;

  int port() const { return port_; }
  std::string traces_url() const;
  void control(const std::string& json);
  Received received();

  // Client credentials for talking to a TLS receiver from the test itself.
  std::string ca_file, client_cert_file, client_key_file;

 private:
  std::string request(const std::string& path, const std::string* post_body);

  pid_t pid_ = -1;
  int port_ = 0;
  bool tls_ = false;
};

// A port that nothing listens on right now (for "receiver starts later").
int free_port();

// Runs argv (no shell); returns the exit status, output discarded.
int run_command(const std::vector<std::string>& argv);

}  // namespace bto::testing
