#include "export/spool.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/errors.h"
#include "export/spool_format.h"
#include "support/temp_dir.h"

namespace bto {
namespace {

namespace fs = std::filesystem;

// The spool directory inside a fresh temporary directory.
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("bto-spool-test") {}
  std::string spool() const { return path() + "/spool"; }
};

std::string body_of(int i, size_t size = 100) {
  std::string body = "request-" + std::to_string(i) + ":";
  while (body.size() < size) body.push_back(static_cast<char>('a' + body.size() % 26));
  return body;
}

std::vector<fs::path> segments(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".spool") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Claims and settles (as sent) everything; returns the bodies in claim order.
std::vector<std::string> drain(Spool& spool) {
  std::vector<std::string> bodies;
  SpooledRequest request;
  while (spool.claim(request)) {
    bodies.push_back(request.body);
    spool.settle(request, true);
  }
  return bodies;
}

std::unique_ptr<Spool> open(const std::string& dir, SpoolStats& stats, uint64_t max_bytes = 1 << 30,
                            uint64_t segment_bytes = 0) {
  SpoolOptions options;
  options.dir = dir;
  options.max_bytes = max_bytes;
  options.segment_bytes = segment_bytes;
  return open_spool(options, stats);
}

void flip_byte(const fs::path& file, uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5A);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// Offset of record `index` (0-based) in a segment of records of `body_size` bytes.
uint64_t record_offset(size_t index, size_t body_size) {
  return kSpoolSegmentHeaderBytes + index * (kSpoolRecordHeaderBytes + body_size);
}

TEST(Spool, requests_come_back_oldest_first_and_a_drained_spool_leaves_no_file) {
  TempDir tmp;
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_FALSE(spool->has_pending());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->append(RequestEncoding::kProtobuf, 10 + i, body_of(i)));
  EXPECT_TRUE(spool->has_pending());
  EXPECT_EQ(stats.requests_spooled, 3u);
  EXPECT_EQ(stats.spans_spooled, 33u);
  EXPECT_EQ(stats.bytes, kSpoolSegmentHeaderBytes + 3 * (kSpoolRecordHeaderBytes + 100));

  SpooledRequest request;
  ASSERT_TRUE(spool->claim(request));
  EXPECT_EQ(request.body, body_of(0));
  EXPECT_EQ(request.spans, 10u);
  EXPECT_EQ(request.encoding, static_cast<uint8_t>(RequestEncoding::kProtobuf));
  spool->settle(request, true);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{body_of(1), body_of(2)}));
  EXPECT_EQ(stats.requests_replayed, 3u);
  EXPECT_EQ(stats.spans_replayed, 33u);
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_TRUE(segments(tmp.spool()).empty());
  EXPECT_FALSE(spool->has_pending());
}

TEST(Spool, a_request_given_back_is_handed_out_again_first) {
  TempDir tmp;
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  for (int i = 0; i < 3; ++i) spool->append(RequestEncoding::kProtobuf, 1, body_of(i));
  SpooledRequest first;
  ASSERT_TRUE(spool->claim(first));
  spool->give_back(first);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{body_of(0), body_of(1), body_of(2)}));
  EXPECT_EQ(stats.resent_requests, 0u);
}

TEST(Spool, the_encoding_is_kept_with_each_request) {
  TempDir tmp;
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  spool->append(RequestEncoding::kJson, 4, "{\"resourceSpans\":[]}");
  spool->close();
  auto again = open(tmp.spool(), stats);
  SpooledRequest request;
  ASSERT_TRUE(again->claim(request));
  EXPECT_EQ(request.encoding, static_cast<uint8_t>(RequestEncoding::kJson));
  EXPECT_EQ(request.body, "{\"resourceSpans\":[]}");
  EXPECT_EQ(request.spans, 4u);
}

TEST(Spool, the_next_run_sends_what_was_left_and_not_what_was_settled) {
  TempDir tmp;
  {
    SpoolStats stats;
    auto spool = open(tmp.spool(), stats);
    for (int i = 0; i < 5; ++i) spool->append(RequestEncoding::kProtobuf, 1, body_of(i));
    SpooledRequest request;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(spool->claim(request));
      spool->settle(request, true);
    }
  }
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_GT(stats.inherited_bytes, 0u);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{body_of(2), body_of(3), body_of(4)}));
  EXPECT_EQ(stats.resent_requests, 0u);
  EXPECT_EQ(stats.bytes, 0u);
  // New requests go to a new segment after the inherited ones.
  spool->append(RequestEncoding::kProtobuf, 1, body_of(9));
  EXPECT_EQ(drain(*spool), std::vector<std::string>{body_of(9)});
}

TEST(Spool, a_request_in_flight_when_the_process_died_is_sent_again_and_counted) {
  TempDir tmp;
  {
    SpoolStats stats;
    auto spool = open(tmp.spool(), stats);
    for (int i = 0; i < 3; ++i) spool->append(RequestEncoding::kProtobuf, 7, body_of(i));
    SpooledRequest request;
    ASSERT_TRUE(spool->claim(request));  // sent, answer never seen: the process dies here
    SpooledRequest second;
    ASSERT_TRUE(spool->claim(second));
    spool->settle(second, true);
  }
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{body_of(0), body_of(2)}));
  EXPECT_EQ(stats.resent_requests, 1u);
}

TEST(Spool, at_the_size_limit_the_oldest_requests_are_dropped_and_counted) {
  TempDir tmp;
  SpoolStats stats;
  constexpr size_t kBody = 4000;
  auto spool = open(tmp.spool(), stats, 64 * 1024, 16 * 1024);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(spool->append(RequestEncoding::kProtobuf, 3, body_of(i, kBody)));
  EXPECT_LE(stats.bytes, 64u * 1024);
  EXPECT_GT(stats.requests_dropped, 0u);
  EXPECT_EQ(stats.spans_dropped, 3 * stats.requests_dropped);
  const std::vector<std::string> left = drain(*spool);
  EXPECT_EQ(left.size() + stats.requests_dropped, 100u);
  // What is left is the newest, in order.
  for (size_t i = 0; i < left.size(); ++i) EXPECT_EQ(left[i], body_of(static_cast<int>(100 - left.size() + i), kBody));
}

TEST(Spool, a_request_larger_than_the_limit_is_dropped_and_counted) {
  TempDir tmp;
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats, 64 * 1024, 16 * 1024);
  spool->append(RequestEncoding::kProtobuf, 1, body_of(0));
  EXPECT_FALSE(spool->append(RequestEncoding::kProtobuf, 512, std::string(70 * 1024, 'x')));
  EXPECT_EQ(stats.requests_dropped, 1u);
  EXPECT_EQ(stats.spans_dropped, 512u);
  EXPECT_EQ(drain(*spool), std::vector<std::string>{body_of(0)});
}

TEST(Spool, a_truncated_last_record_is_skipped_and_counted) {
  TempDir tmp;
  {
    SpoolStats stats;
    auto spool = open(tmp.spool(), stats);
    for (int i = 0; i < 3; ++i) spool->append(RequestEncoding::kProtobuf, 1, body_of(i));
  }
  const auto files = segments(tmp.spool());
  ASSERT_EQ(files.size(), 1u);
  fs::resize_file(files[0], fs::file_size(files[0]) - 10);  // a write cut short by a crash
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{body_of(0), body_of(1)}));
  EXPECT_EQ(stats.corrupt_records, 1u);
  EXPECT_EQ(stats.corrupt_bytes, kSpoolRecordHeaderBytes + 100 - 10);
  EXPECT_EQ(stats.bytes, 0u);
}

TEST(Spool, flipped_bytes_in_the_middle_cost_only_the_records_they_hit) {
  TempDir tmp;
  {
    SpoolStats stats;
    auto spool = open(tmp.spool(), stats);
    for (int i = 0; i < 6; ++i) spool->append(RequestEncoding::kProtobuf, 1, body_of(i));
  }
  const auto file = segments(tmp.spool()).at(0);
  flip_byte(file, record_offset(1, 100) + kSpoolRecordHeaderBytes + 50);  // record 1's payload
  flip_byte(file, record_offset(3, 100) + 9);                            // record 3's length field
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{body_of(0), body_of(2), body_of(4), body_of(5)}));
  EXPECT_EQ(stats.corrupt_records, 2u);
  EXPECT_EQ(stats.bytes, 0u);
}

TEST(Spool, garbage_between_records_is_skipped_to_the_next_record) {
  TempDir tmp;
  {
    SpoolStats stats;
    auto spool = open(tmp.spool(), stats);
    for (int i = 0; i < 3; ++i) spool->append(RequestEncoding::kProtobuf, 1, body_of(i));
  }
  const auto file = segments(tmp.spool()).at(0);
  // Overwrite record 1 entirely (header and payload) with noise.
  for (uint64_t at = record_offset(1, 100); at < record_offset(2, 100); ++at) flip_byte(file, at);
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{body_of(0), body_of(2)}));
  EXPECT_EQ(stats.corrupt_records, 1u);
  EXPECT_EQ(stats.corrupt_bytes, kSpoolRecordHeaderBytes + 100);
}

TEST(Spool, a_zero_length_segment_is_removed_and_the_rest_is_sent) {
  TempDir tmp;
  {
    SpoolStats stats;
    auto spool = open(tmp.spool(), stats);
    spool->append(RequestEncoding::kProtobuf, 1, body_of(0));
  }
  const std::string empty = tmp.spool() + "/segment-00000000000000000007.spool";
  std::ofstream(empty).close();
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_FALSE(fs::exists(empty));
  EXPECT_EQ(drain(*spool), std::vector<std::string>{body_of(0)});
  EXPECT_EQ(stats.corrupt_records, 0u);
  ASSERT_TRUE(spool->append(RequestEncoding::kProtobuf, 1, body_of(1)));  // ids go on after the empty one
  EXPECT_EQ(segments(tmp.spool()).at(0).filename(), "segment-00000000000000000008.spool");
}

TEST(Spool, foreign_files_are_left_alone_and_a_foreign_segment_is_set_aside) {
  TempDir tmp;
  {
    SpoolStats stats;
    auto spool = open(tmp.spool(), stats);
    spool->append(RequestEncoding::kProtobuf, 1, body_of(0));
  }
  std::ofstream(tmp.spool() + "/notes.txt") << "not ours";
  const std::string impostor = tmp.spool() + "/segment-00000000000000000000.spool";
  std::ofstream(impostor) << "this is not a spool segment, but it is named like one";
  SpoolStats stats;
  auto spool = open(tmp.spool(), stats);
  EXPECT_EQ(drain(*spool), std::vector<std::string>{body_of(0)});
  EXPECT_EQ(stats.corrupt_records, 1u);
  EXPECT_TRUE(fs::exists(tmp.spool() + "/notes.txt"));
  EXPECT_FALSE(fs::exists(impostor));
  EXPECT_TRUE(fs::exists(impostor + ".corrupt"));
}

TEST(Spool, a_second_instance_on_the_same_directory_is_refused_with_a_clear_message) {
  TempDir tmp;
  SpoolStats stats;
  auto first = open(tmp.spool(), stats);
  try {
    open(tmp.spool(), stats);
    FAIL() << "a second open of a locked spool directory succeeded";
  } catch (const StartupError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("in use by another running bpftrace-otel (pid " + std::to_string(::getpid()) + ")"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("its own --spool-dir"), std::string::npos) << message;
  }
  first->close();
  EXPECT_NO_THROW(open(tmp.spool(), stats));  // released at close
}

TEST(Spool, the_directory_is_created_private_and_must_be_a_directory) {
  TempDir tmp;
  SpoolStats stats;
  const std::string nested = tmp.path() + "/a/b/spool";
  auto spool = open(nested, stats);
  struct stat st{};
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  spool->append(RequestEncoding::kProtobuf, 1, body_of(0));
  ASSERT_EQ(::stat(segments(nested).at(0).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string file = tmp.path() + "/file";
  std::ofstream(file) << "x";
  EXPECT_THROW(open(file, stats), StartupError);
}

TEST(Spool, a_full_disk_drops_the_oldest_requests_and_the_spool_goes_on) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  TempDir tmp;
  const std::string mount_point = tmp.path() + "/small";
  fs::create_directory(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
  }
  {
    SpoolStats stats;
    auto spool = open(mount_point + "/spool", stats);  // 1 GiB allowed, 256 KiB there
    constexpr int kRequests = 400;
    int accepted = 0;
    for (int i = 0; i < kRequests; ++i) accepted += spool->append(RequestEncoding::kProtobuf, 2, body_of(i, 4000));
    EXPECT_GT(stats.requests_dropped, 0u);
    EXPECT_EQ(stats.spans_dropped, 2 * stats.requests_dropped);
    EXPECT_LE(stats.bytes, 256u * 1024);
    const std::vector<std::string> left = drain(*spool);
    EXPECT_FALSE(left.empty());
    EXPECT_EQ(left.back(), body_of(kRequests - 1, 4000));  // the newest survived
    EXPECT_EQ(left.size() + stats.requests_dropped, static_cast<size_t>(kRequests));
    EXPECT_EQ(stats.corrupt_records, 0u);
    EXPECT_GT(accepted, 0);
  }
  ::umount2(mount_point.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace bto
