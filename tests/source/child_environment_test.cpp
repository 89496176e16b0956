// Issue 17.3: bpftrace, and the command it starts with -c, inherited our
// whole environment, exporter tokens included.

#include "source/child_environment.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "source/child_process.h"

namespace bto {
namespace {

TEST(ChildEnvironment, exporter_credentials_are_recognised_by_name) {
  for (const char* entry :
       {"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer x", "OTEL_EXPORTER_OTLP_TRACES_HEADERS=a=b",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS=", "OTEL_EXPORTER_OTLP_LOGS_HEADERS=x=y",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY=/etc/keys/client.key", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY=/k",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=/c.pem", "OTEL_EXPORTER_OTLP_ENDPOINT=https://u:pw@collector:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=https://collector/v1/traces?api_key=x",
        "OTEL_ENDPOINT=user:pw@collector:4318"}) {
    EXPECT_TRUE(is_exporter_credential(entry)) << entry;
  }
  for (const char* entry : {"PATH=/usr/bin:/bin", "HOME=/root", "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318",
                            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_CERTIFICATE=/ca.pem",
                            "OTEL_SERVICE_NAME=checkout", "OTEL_ENDPOINT=collector:4318", "MY_HEADERS=x",
                            "LANG=C.UTF-8"}) {
    EXPECT_FALSE(is_exporter_credential(entry)) << entry;
  }
}

TEST(ChildEnvironment, keeps_everything_else_in_order) {
  char a[] = "A=1";
  char h[] = "OTEL_EXPORTER_OTLP_HEADERS=authorization=secret";
  char b[] = "B=2";
  char* env[] = {a, h, b, nullptr};
  EXPECT_EQ(child_environment(env), (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_TRUE(child_environment(nullptr).empty());
}

// The real spawn path: /usr/bin/env prints what a child of ours gets.
TEST(ChildEnvironment, target_environment_without_exporter_credentials) {
  ::setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20hunter2", 1);
  ::setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/secret/client.key", 1);
  ::setenv("BTO_TEST_KEPT", "kept", 1);
  auto child = spawn_child("/usr/bin/env", {"env"});
  ::unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
  ::unsetenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY");
  ::unsetenv("BTO_TEST_KEPT");
  std::string output;
  for (;;) {
    pollfd p{child->stdout_fd(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 5000), 0);
    char buffer[4096];
    const ssize_t n = ::read(child->stdout_fd(), buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  ASSERT_TRUE(child->wait_for(std::chrono::seconds(5)));
  EXPECT_NE(output.find("BTO_TEST_KEPT=kept\n"), std::string::npos) << output;
  EXPECT_NE(output.find("PATH="), std::string::npos) << output;
  EXPECT_EQ(output.find("hunter2"), std::string::npos) << output;
  EXPECT_EQ(output.find("OTEL_EXPORTER_OTLP_HEADERS"), std::string::npos) << output;
  EXPECT_EQ(output.find("client.key"), std::string::npos) << output;
}

}  // namespace
}  // namespace bto
