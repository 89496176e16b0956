// The /proc file parsers, on real and hostile shapes.

#include "resource/proc_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace bto::proc {
namespace {

using namespace std::string_literals;

TEST(ProcStat, reads_ppid_and_start_time_after_the_last_paren) {
  const std::string line =
      "4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 123 0 0 0 5 3 0 0 20 0 4 0 987654 12345678 100 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  const auto stat = parse_stat(line);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->comm, "my (odd) name");
  EXPECT_EQ(stat->ppid, 17);
  EXPECT_EQ(stat->start_ticks, 987654u);
}

TEST(ProcStat, truncated_or_garbage_is_refused) {
  EXPECT_FALSE(parse_stat(""));
  EXPECT_FALSE(parse_stat("4242 (x) S 17 1 2 3"));
  EXPECT_FALSE(parse_stat("4242 x S 17"));
  EXPECT_FALSE(parse_stat("4242 (x) S notanumber 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5"));
  EXPECT_FALSE(parse_stat(")( S 1 2 3"));
}

TEST(ProcStat, reads_our_own_process) {
  std::string text;
  ASSERT_TRUE(read_file("/proc/self/stat", 4096, text));
  const auto stat = parse_stat(text);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->ppid, getppid());
  EXPECT_GT(stat->start_ticks, 0u);
}

TEST(ProcStatus, real_uid_and_nspid) {
  const Status status =
      parse_status("Name:\tdemo\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t10001\t10001\t10001\t10001\n"
                   "Gid:\t10001\t10001\t10001\t10001\nNSpid:\t31337\t7\n");
  ASSERT_TRUE(status.uid);
  EXPECT_EQ(*status.uid, 10001u);
  EXPECT_EQ(status.ns_pids, (std::vector<int64_t>{31337, 7}));
}

TEST(ProcStatus, missing_or_bad_lines_leave_fields_empty) {
  const Status status = parse_status("Name:\tx\nUid:\tabc\nNSpid:\t12 x\n");
  EXPECT_FALSE(status.uid);
  EXPECT_TRUE(status.ns_pids.empty());
  const Status none = parse_status("");
  EXPECT_FALSE(none.uid);
  // "Uid" must be the whole name: "Uidx:" is not it.
  EXPECT_FALSE(parse_status("Uidx:\t5\n").uid);
}

TEST(SplitNul, keeps_empty_arguments_and_tolerates_a_missing_final_nul) {
  EXPECT_EQ(split_nul("a\0\0b\0"s), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split_nul("a\0b"s), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(split_nul("").empty());
}

TEST(FindEnviron, exact_names_last_definition_wins) {
  const std::string env = "OTEL_SERVICE_NAME_X=no\0OTEL_SERVICE_NAME=first\0X_OTEL_SERVICE_NAME=no\0"
                          "OTEL_SERVICE_NAME=checkout\0EMPTY=\0"s;
  EXPECT_EQ(find_environ(env, "OTEL_SERVICE_NAME"), "checkout");
  EXPECT_EQ(find_environ(env, "EMPTY"), "");
  EXPECT_FALSE(find_environ(env, "MISSING"));
  EXPECT_FALSE(find_environ("OTEL_SERVICE_NAME"s, "OTEL_SERVICE_NAME"));  // no '='
}

TEST(Passwd, finds_the_name_of_a_uid) {
  const std::string passwd = "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\n:x:5:5::/:/bin/sh\n"
                             "app:x:10001:10001::/home/app:/usr/sbin/nologin\n";
  EXPECT_EQ(passwd_name(passwd, 0), "root");
  EXPECT_EQ(passwd_name(passwd, 10001), "app");
  EXPECT_FALSE(passwd_name(passwd, 5));  // empty name
  EXPECT_FALSE(passwd_name(passwd, 42));
  EXPECT_FALSE(passwd_name("", 0));
}

TEST(ReadFile, stops_at_the_limit_and_reports_missing_files) {
  std::string text;
  ASSERT_TRUE(read_file("/proc/self/cmdline", 3, text));
  EXPECT_EQ(text.size(), 3u);
  EXPECT_FALSE(read_file("/proc/self/no-such-file", 100, text));
  EXPECT_TRUE(text.empty());
  EXPECT_FALSE(read_file("/proc/self", 100, text));  // a directory: read fails
}

}  // namespace
}  // namespace bto::proc
