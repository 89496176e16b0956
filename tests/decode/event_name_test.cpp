#include <gtest/gtest.h>

#include "decode/event.h"

namespace bto {
namespace {

TEST(EventName, start_suffixes) {
  EXPECT_EQ(split_event_name("http_request_start").family, "http_request");
  EXPECT_EQ(split_event_name("http_request_start").phase, EventPhase::kStart);
  EXPECT_EQ(split_event_name("tls_handshake_begin").family, "tls_handshake");
  EXPECT_EQ(split_event_name("tls_handshake_begin").phase, EventPhase::kStart);
}

TEST(EventName, end_suffixes) {
  for (const char* name : {"db_query_end", "db_query_done", "db_query_complete", "db_query_finish"}) {
    const NameParts parts = split_event_name(name);
    EXPECT_EQ(parts.family, "db_query") << name;
    EXPECT_EQ(parts.phase, EventPhase::kEnd) << name;
  }
}

TEST(EventName, no_suffix_is_single) {
  const NameParts parts = split_event_name("db_query");
  EXPECT_EQ(parts.family, "db_query");
  EXPECT_EQ(parts.phase, EventPhase::kSingle);
}

TEST(EventName, suffix_must_follow_underscore_and_a_family) {
  EXPECT_EQ(split_event_name("restart").phase, EventPhase::kSingle);
  EXPECT_EQ(split_event_name("restart").family, "restart");
  EXPECT_EQ(split_event_name("_start").phase, EventPhase::kSingle);
  EXPECT_EQ(split_event_name("_start").family, "_start");
  EXPECT_EQ(split_event_name("weekend").phase, EventPhase::kSingle);
  EXPECT_EQ(split_event_name("x_end").family, "x");
  EXPECT_EQ(split_event_name("x_end").phase, EventPhase::kEnd);
}

TEST(EventName, suffix_is_case_sensitive_and_only_at_the_end) {
  EXPECT_EQ(split_event_name("req_START").phase, EventPhase::kSingle);
  EXPECT_EQ(split_event_name("req_start_x").phase, EventPhase::kSingle);
  EXPECT_EQ(split_event_name("req_start_x").family, "req_start_x");
}

TEST(EventName, empty_name) {
  const NameParts parts = split_event_name("");
  EXPECT_EQ(parts.family, "");
  EXPECT_EQ(parts.phase, EventPhase::kSingle);
}

}  // namespace
}  // namespace bto
