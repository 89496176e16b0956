#include "common/redact.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bto {
namespace {

std::string line(std::vector<std::string> args) { return redact_command_line(args); }

TEST(Redact, secret_names_by_word_and_by_segment) {
  for (const char* name : {"password", "DB_PASSWORD", "passwd", "passphrase", "client-secret", "token",
                           "access_token", "githubToken", "api-key", "API_KEY", "apikey", "aws.accessKey",
                           "private_key", "credentials", "cookie", "session-id", "signature", "pass", "pwd",
                           "auth", "basic-auth", "Authorization", "key", "ssh-key", "sig"}) {
    EXPECT_TRUE(is_secret_name(name)) << name;
  }
  for (const char* name : {"port", "author", "passive", "keyspace", "monkey", "host", "user", "verbose",
                           "signal", "session-timeout", "config", "endpoint"}) {
    EXPECT_FALSE(is_secret_name(name)) << name;
  }
}

TEST(Redact, command_line_secret_redaction_of_option_values) {
  EXPECT_EQ(line({"/srv/app", "--password=hunter2", "--port=8080"}), "/srv/app --password=REDACTED --port=8080");
  EXPECT_EQ(line({"/srv/app", "--api-key", "hunter2", "--port", "8080"}),
            "/srv/app --api-key REDACTED --port 8080");
  EXPECT_EQ(line({"/srv/app", "-token", "hunter2"}), "/srv/app -token REDACTED");
  // The next argument is an option, not the value of a switch like --no-auth.
  EXPECT_EQ(line({"/srv/app", "--no-auth", "--port", "80"}), "/srv/app --no-auth --port 80");
  EXPECT_EQ(line({"/usr/bin/env", "PGPASSWORD=hunter2", "psql"}), "/usr/bin/env PGPASSWORD=REDACTED psql");
  EXPECT_EQ(line({"curl", "-H", "Authorization: Bearer hunter2", "-H", "Accept: */*"}),
            "curl -H Authorization: REDACTED -H Accept: */*");
  // Values are replaced whole: their length is not shown either.
  EXPECT_EQ(line({"a", "--secret=x"}), line({"a", "--secret=a-much-longer-secret-value"}));
}

TEST(Redact, command_line_secret_redaction_in_urls) {
  EXPECT_EQ(redact_argument("https://user:hunter2@db.example.com:5432/app"),
            "https://REDACTED:REDACTED@db.example.com:5432/app");
  EXPECT_EQ(redact_argument("https://ghp_token123@github.com/org/repo.git"),
            "https://REDACTED@github.com/org/repo.git");
  EXPECT_EQ(redact_argument("http://h/p?token=hunter2&page=2&X-Amz-Signature=abc#top"),
            "http://h/p?token=REDACTED&page=2&X-Amz-Signature=REDACTED#top");
  EXPECT_EQ(redact_argument("--endpoint=https://u:hunter2@h/v1?sig=1"),
            "--endpoint=https://REDACTED:REDACTED@h/v1?sig=REDACTED");
  EXPECT_EQ(redact_argument("see http://a:b@x and https://c:d@y/?apikey=1 now"),
            "see http://REDACTED:REDACTED@x and https://REDACTED:REDACTED@y/?apikey=REDACTED now");
  EXPECT_EQ(redact_argument("http://example.com/path?q=1"), "http://example.com/path?q=1");
  EXPECT_EQ(redact_argument("://nohost"), "://nohost");
}

TEST(Redact, ordinary_arguments_are_unchanged) {
  const std::vector<std::string> args = {"/usr/bin/python3", "-m", "http.server", "--bind", "::1", "8000",
                                         "key_file_is_not_a_name", "a=b", "x:y"};
  EXPECT_EQ(redact_command_args(args), args);
  EXPECT_EQ(line({}), "");
}

TEST(Redact, the_argument_count_never_changes) {
  const std::vector<std::string> args = {"a", "--password", "--token", "x", "--key"};
  const auto redacted = redact_command_args(args);
  ASSERT_EQ(redacted.size(), args.size());
  EXPECT_EQ(redacted[2], "--token");  // "--token" after --password: an option, kept
  EXPECT_EQ(redacted[3], "REDACTED");
  EXPECT_EQ(redacted[4], "--key");
}

}  // namespace
}  // namespace bto
