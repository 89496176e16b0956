// Trace context, automatic nesting, raw-timestamp durations, sampling, span
// limits and hostile input (deep parent chains, cycles, many families).

#include <gtest/gtest.h>

#include <string>

#include "spans/correlator.h"
#include "spans/trace_context.h"
#include "spans_test_util.h"

namespace bto {
namespace {

using testing::attr;
using testing::Harness;
using testing::kMono0;
using testing::kMs;
using testing::kOffset;
using testing::kSecond;
using testing::TestEvent;

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kParent = "00f067aa0ba902b7";

std::string traceparent(const std::string& trace, const std::string& span, const std::string& flags = "01") {
  return "00-" + trace + "-" + span + "-" + flags;
}

std::string hex(std::span<const uint8_t> bytes) { return to_hex(bytes); }

CorrelatorOptions with_sampler(SamplerKind kind, double ratio = 1.0) {
  CorrelatorOptions options;
  options.sampler.kind = kind;
  options.sampler.ratio = ratio;
  return options;
}

// ---- trace context ------------------------------------------------------------

// The ids are decoded 8 digits at a time (trace_context.cpp): every byte value
// at every digit position of both ids is accepted exactly when it is a
// lowercase hex digit, and then decodes to that digit.
TEST(TraceContext, every_byte_at_every_id_digit_is_checked) {
  const std::string base = traceparent(kTrace, kParent);
  const std::string lower = "0123456789abcdef";
  for (size_t at = 3; at < 52; ++at) {
    if (at == 35) continue;  // the '-' between the ids
    for (int byte = 0; byte < 256; ++byte) {
      std::string text = base;
      text[at] = static_cast<char>(byte);
      RemoteContext context;
      const size_t digit = lower.find(static_cast<char>(byte));
      const bool valid = byte != 0 && digit != std::string::npos;
      ASSERT_EQ(parse_traceparent(text, context), valid) << "position " << at << " byte " << byte;
      if (!valid) continue;
      const std::string decoded = hex(context.trace_id) + "-" + hex(context.span_id);
      ASSERT_EQ(decoded, text.substr(3, 49)) << "position " << at << " byte " << byte;
    }
  }
}

TEST(TraceContext, ids_with_every_digit_decode_exactly) {
  const std::string trace = "0123456789abcdeffedcba9876543210";
  const std::string span = "a0b1c2d3e4f59687";
  RemoteContext context;
  ASSERT_TRUE(parse_traceparent(traceparent(trace, span, "00"), context));
  EXPECT_EQ(hex(context.trace_id), trace);
  EXPECT_EQ(hex(context.span_id), span);
  EXPECT_FALSE(context.sampled);
}

TEST(TraceContext, traceparent_continues_the_callers_trace) {
  Harness h;
  h.feed(TestEvent("http_request_start",
                   {{"request_id", 1}, {"method", "GET"}, {"uri", "/"}, {"traceparent", traceparent(kTrace, kParent)}}));
  h.feed(TestEvent("db_query_start", {{"request_id", 2}, {"parent_id", 1}}));
  h.feed(TestEvent("db_query_end", {{"request_id", 2}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}, {"status_code", 200}}));
  ASSERT_EQ(h.emitted(), 2u);
  const SpanRecord& server = h.span(1);
  EXPECT_EQ(hex(server.trace_id), kTrace);
  EXPECT_EQ(hex(server.parent_span_id), kParent);
  EXPECT_EQ(server.depth, 0);
  EXPECT_EQ(attr(server, "traceparent"), nullptr);
  const SpanRecord& child = h.span(0);
  EXPECT_EQ(hex(child.trace_id), kTrace);
  EXPECT_EQ(child.parent_span_id, server.span_id);
  EXPECT_EQ(child.depth, 1);
  EXPECT_EQ(h.stats.trace_context_joined, 1u);
  EXPECT_EQ(h.stats.trace_context_invalid, 0u);
}

TEST(TraceContext, trace_id_and_span_id_fields_continue_the_trace) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"trace_id", "4BF92F3577B34DA6A3CE929D0E0E4736"},
                                     {"span_id", "00F067AA0BA902B7"}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  // A 64-bit (Jaeger/B3) trace id is left-padded with zeros.
  h.feed(TestEvent("job", {{"duration", 5}, {"trace_id", "a3ce929d0e0e4736"}, {"span_id", kParent}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(hex(h.span(0).trace_id), kTrace);
  EXPECT_EQ(hex(h.span(0).parent_span_id), kParent);
  EXPECT_EQ(attr(h.span(0), "trace_id"), nullptr);
  EXPECT_EQ(attr(h.span(0), "span_id"), nullptr);
  EXPECT_EQ(hex(h.span(1).trace_id), "0000000000000000a3ce929d0e0e4736");
  EXPECT_EQ(hex(h.span(1).parent_span_id), kParent);
  EXPECT_EQ(h.stats.trace_context_joined, 2u);
}

TEST(TraceContext, empty_values_mean_absent) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"traceparent", ""}, {"trace_id", ""}, {"span_id", ""}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_FALSE(h.span(0).has_parent());
  EXPECT_EQ(h.stats.trace_context_invalid, 0u);
  EXPECT_EQ(h.stats.trace_context_joined, 0u);
}

TEST(TraceContext, malformed_values_are_counted_and_ignored) {
  const std::string t = kTrace;
  const std::string p = kParent;
  const std::vector<std::vector<std::pair<const char*, testing::Val>>> bad = {
      {{"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}},  // uppercase
      {{"traceparent", "ff-" + t + "-" + p + "-01"}},                                 // version ff
      {{"traceparent", traceparent(std::string(32, '0'), p)}},                        // zero trace id
      {{"traceparent", traceparent(t, std::string(16, '0'))}},                        // zero span id
      {{"traceparent", traceparent(t, p) + "-x"}},                                    // v00 too long
      {{"traceparent", traceparent(t.substr(1), p)}},                                 // short trace id
      {{"traceparent", traceparent(t, p, "0g")}},                                     // bad flags
      {{"traceparent", "00_" + t + "_" + p + "_01"}},                                 // separators
      {{"traceparent", 12345}},                                                       // not a string
      {{"trace_id", kTrace}},                                                         // no span_id
      {{"span_id", kParent}},                                                         // no trace_id
      {{"trace_id", "xyz"}, {"span_id", kParent}},                                    // not hex
  };
  Harness h;
  int id = 0;
  for (const auto& fields : bad) {
    TestEvent start("request_start", {{"request_id", ++id}});
    for (const auto& [key, value] : fields) start.add(key, value);
    h.feed(start);
    h.feed(TestEvent("request_end", {{"request_id", id}}));
  }
  ASSERT_EQ(h.emitted(), bad.size());
  for (size_t i = 0; i < h.emitted(); ++i) {
    EXPECT_FALSE(h.span(i).has_parent()) << i;
    EXPECT_NE(hex(h.span(i).trace_id), kTrace) << i;
    EXPECT_EQ(attr(h.span(i), "traceparent"), nullptr) << i;
  }
  EXPECT_EQ(h.stats.trace_context_invalid, bad.size());
  EXPECT_EQ(h.stats.trace_context_joined, 0u);
}

TEST(TraceContext, later_versions_may_append_fields) {
  Harness h;
  h.feed(TestEvent("job", {{"duration", 1}, {"traceparent", "01-" + std::string(kTrace) + "-" + kParent + "-01-extra"}}));
  h.feed(TestEvent("job", {{"duration", 1}, {"traceparent", "01-" + std::string(kTrace) + "-" + kParent + "-01x"}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(hex(h.span(0).trace_id), kTrace);
  EXPECT_FALSE(h.span(1).has_parent());
  EXPECT_EQ(h.stats.trace_context_joined, 1u);
  EXPECT_EQ(h.stats.trace_context_invalid, 1u);
}

TEST(TraceContext, local_parent_id_wins_over_trace_context) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("db_query_start", {{"request_id", 2}, {"parent_id", 1}, {"traceparent", traceparent(kTrace, kParent)}}));
  h.feed(TestEvent("db_query_end", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).parent_span_id, h.span(1).span_id);
  EXPECT_EQ(h.span(0).trace_id, h.span(1).trace_id);
  EXPECT_EQ(h.stats.trace_context_joined, 0u);
}

TEST(TraceContext, held_end_keeps_the_trace_context) {
  Harness h;
  h.feed(TestEvent("request_end", {{"request_id", 9}, {"duration", 10}, {"traceparent", traceparent(kTrace, kParent)}}));
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(hex(h.span(0).trace_id), kTrace);
  EXPECT_EQ(hex(h.span(0).parent_span_id), kParent);
}

// ---- automatic nesting ----------------------------------------------------------

TEST(AutoNesting, span_on_the_thread_of_an_open_request_becomes_its_child) {
  Harness h;
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"tid", 100}, {"method", "GET"}, {"uri", "/"}}));
  h.feed(TestEvent("tls_handshake_start", {{"request_id", 2}, {"tid", 100}}));
  h.feed(TestEvent("net_dial_start", {{"request_id", 3}, {"tid", 200}}));  // other thread
  h.feed(TestEvent("tls_handshake_end", {{"request_id", 2}}));
  h.feed(TestEvent("net_dial_end", {{"request_id", 3}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}}));
  h.feed(TestEvent("tls_handshake_start", {{"request_id", 4}, {"tid", 100}}));  // request over
  h.feed(TestEvent("tls_handshake_end", {{"request_id", 4}}));
  ASSERT_EQ(h.emitted(), 4u);
  const SpanRecord& tls = h.span(0);
  const SpanRecord& dial = h.span(1);
  const SpanRecord& http = h.span(2);
  EXPECT_EQ(tls.trace_id, http.trace_id);
  EXPECT_EQ(tls.parent_span_id, http.span_id);
  EXPECT_EQ(tls.depth, 1);
  EXPECT_FALSE(dial.has_parent());
  EXPECT_NE(dial.trace_id, http.trace_id);
  EXPECT_FALSE(h.span(3).has_parent());
  EXPECT_EQ(h.stats.spans_auto_nested, 1u);
}

TEST(AutoNesting, innermost_request_like_span_is_the_parent) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"tid", 7}}));
  h.feed(TestEvent("http_request_start", {{"request_id", 2}, {"tid", 7}}));
  h.feed(TestEvent("net_dial", {{"duration", 100}, {"tid", 7}}));  // a complete span
  h.feed(TestEvent("http_request_end", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 3u);
  const SpanRecord& dial = h.span(0);
  const SpanRecord& http = h.span(1);
  const SpanRecord& request = h.span(2);
  EXPECT_EQ(http.parent_span_id, request.span_id);
  EXPECT_EQ(dial.parent_span_id, http.span_id);
  EXPECT_EQ(dial.depth, 2);
  EXPECT_EQ(dial.trace_id, request.trace_id);
  EXPECT_EQ(h.stats.spans_auto_nested, 2u);
}

TEST(AutoNesting, requests_of_one_family_on_one_thread_are_siblings) {
  Harness h;
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"tid", 7}}));
  h.feed(TestEvent("http_request_start", {{"request_id", 2}, {"tid", 7}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 2}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_FALSE(h.span(0).has_parent());
  EXPECT_FALSE(h.span(1).has_parent());
  EXPECT_EQ(h.stats.spans_auto_nested, 0u);
}

TEST(AutoNesting, explicit_parent_or_trace_context_wins) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"tid", 7}}));
  h.feed(TestEvent("job_start", {{"request_id", 50}}));
  h.feed(TestEvent("db_query_start", {{"request_id", 2}, {"tid", 7}, {"parent_id", 50}}));
  h.feed(TestEvent("db_query_start", {{"request_id", 3}, {"tid", 7}, {"traceparent", traceparent(kTrace, kParent)}}));
  // A named parent that is not found does not fall back to the thread.
  h.feed(TestEvent("db_query_start", {{"request_id", 4}, {"tid", 7}, {"parent_id", 999}}));
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 5u);
  const SpanRecord& job = *h.sink.by_name("job");
  EXPECT_EQ(h.span(2).parent_span_id, job.span_id);
  EXPECT_EQ(hex(h.span(3).parent_span_id), kParent);
  EXPECT_FALSE(h.span(4).has_parent());
  EXPECT_EQ(h.stats.spans_auto_nested, 0u);
  EXPECT_EQ(h.stats.parent_not_found, 1u);
}

TEST(AutoNesting, can_be_switched_off_and_families_configured) {
  CorrelatorOptions off;
  off.auto_nesting = false;
  Harness h(off);
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"tid", 7}}));
  h.feed(TestEvent("tls_handshake", {{"duration", 1}, {"tid", 7}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_FALSE(h.span(0).has_parent());

  CorrelatorOptions jobs;
  jobs.nesting_families = {"job"};
  Harness j(jobs);
  j.feed(TestEvent("http_request_start", {{"request_id", 1}, {"tid", 7}}));
  j.feed(TestEvent("tls_handshake", {{"duration", 1}, {"tid", 7}}));
  j.feed(TestEvent("job_start", {{"request_id", 2}, {"tid", 8}}));
  j.feed(TestEvent("tls_handshake", {{"duration", 1}, {"tid", 8}}));
  ASSERT_EQ(j.emitted(), 2u);
  EXPECT_FALSE(j.span(0).has_parent());
  EXPECT_TRUE(j.span(1).has_parent());
  EXPECT_EQ(j.stats.spans_auto_nested, 1u);
}

TEST(AutoNesting, bookkeeping_follows_ends_in_any_order) {
  Harness h;
  // Three requests of alternating families on one thread, ended out of order:
  // the parent is always the newest one still open.
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"tid", 7}}));
  h.feed(TestEvent("http_request_start", {{"request_id", 2}, {"tid", 7}}));
  h.feed(TestEvent("request_start", {{"request_id", 3}, {"tid", 7}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 2}}));  // middle one ends
  h.feed(TestEvent("db", {{"duration", 1}, {"tid", 7}}));       // -> 3
  h.feed(TestEvent("request_end", {{"request_id", 3}}));
  h.feed(TestEvent("db", {{"duration", 1}, {"tid", 7}}));  // -> 1
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  h.feed(TestEvent("db", {{"duration", 1}, {"tid", 7}}));  // root
  ASSERT_EQ(h.emitted(), 6u);
  const SpanRecord& db_a = h.span(1);
  const SpanRecord& r3 = h.span(2);
  const SpanRecord& db_b = h.span(3);
  const SpanRecord& r1 = h.span(4);
  EXPECT_EQ(db_a.parent_span_id, r3.span_id);
  EXPECT_EQ(db_b.parent_span_id, r1.span_id);
  EXPECT_FALSE(h.span(5).has_parent());
}

// ---- durations from raw timestamps --------------------------------------------------

TEST(RawTimestamps, offset_refresh_between_start_and_end_does_not_stretch_the_span) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0}}));
  // The wall clock steps 5 s forward; the end (2 s later) triggers a refresh.
  h.clock.set(kMono0 + 2 * kSecond, kOffset + kMono0 + 7 * kSecond);
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"timestamp", kMono0 + 2 * kSecond}}));
  // A later span uses the new offset.
  h.feed(TestEvent("job", {{"timestamp", kMono0 + 3 * kSecond}, {"duration", 1}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).start_time_unix_ns, kOffset + kMono0);
  EXPECT_EQ(h.span(0).end_time_unix_ns - h.span(0).start_time_unix_ns, 2 * kSecond);
  EXPECT_EQ(h.span(1).start_time_unix_ns, kOffset + kMono0 + 8 * kSecond);
}

TEST(RawTimestamps, held_end_and_span_events_measure_from_the_start) {
  Harness h;
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"timestamp", kMono0 + 3 * kSecond}}));
  h.clock.set(kMono0 + 3 * kSecond, kOffset + kMono0 + 4 * kSecond);  // +1 s step
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"timestamp", kMono0 + 1 * kSecond}, {"tid", 5}}));
  h.clock.set(kMono0 + 5 * kSecond, kOffset + kMono0 + 9 * kSecond);  // +3 s more
  h.feed(TestEvent("retry", {{"timestamp", kMono0 + 4 * kSecond + 500 * kMs}, {"tid", 5}}));
  h.feed(TestEvent("request_end", {{"request_id", 2}, {"timestamp", kMono0 + 5 * kSecond}}));
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0 + 1 * kSecond}}));
  ASSERT_EQ(h.emitted(), 2u);
  const SpanRecord& two = h.span(0);
  EXPECT_EQ(two.end_time_unix_ns - two.start_time_unix_ns, 4 * kSecond);
  ASSERT_EQ(two.events.size(), 1u);
  EXPECT_EQ(two.events[0].time_unix_ns - two.start_time_unix_ns, 3 * kSecond + 500 * kMs);
  const SpanRecord& one = h.span(1);
  EXPECT_EQ(one.end_time_unix_ns - one.start_time_unix_ns, 2 * kSecond);
}

// ---- sampling ------------------------------------------------------------------------

TEST(Sampling, always_off_correlates_but_emits_nothing) {
  Harness h(with_sampler(SamplerKind::kAlwaysOff));
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("db_start", {{"request_id", 2}, {"parent_id", 1}}));
  h.feed(TestEvent("db_end", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  h.feed(TestEvent("job", {{"duration", 3}}));
  EXPECT_EQ(h.emitted(), 0u);
  EXPECT_EQ(h.stats.spans_ended, 2u);
  EXPECT_EQ(h.stats.spans_single, 1u);
  EXPECT_EQ(h.stats.spans_sampled_out, 3u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

// Lower 8 bytes 7fff... give (x >> 1) just under 2^62 (kept at ratio 0.5);
// 8000... give exactly 2^62 (dropped).
constexpr const char* kLowTrace = "ffffffffffffffff7fffffffffffffff";
constexpr const char* kHighTrace = "00000000000000008000000000000000";

TEST(Sampling, traceidratio_decides_on_the_trace_id_only) {
  Harness h(with_sampler(SamplerKind::kTraceIdRatio, 0.5));
  h.feed(TestEvent("a", {{"duration", 1}, {"traceparent", traceparent(kLowTrace, kParent, "00")}}));
  h.feed(TestEvent("b", {{"duration", 1}, {"traceparent", traceparent(kHighTrace, kParent, "01")}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "a");
  EXPECT_EQ(h.stats.spans_sampled_out, 1u);
}

TEST(Sampling, traceidratio_keeps_about_the_ratio_deterministically) {
  Harness h(with_sampler(SamplerKind::kTraceIdRatio, 0.25));
  uint64_t x = 12345;
  for (int i = 0; i < 4000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // LCG: fixed sequence
    char low[17];
    std::snprintf(low, sizeof low, "%016llx", static_cast<unsigned long long>(x));
    h.feed(TestEvent("job", {{"duration", 1}, {"trace_id", std::string(16, '1') + low}, {"span_id", kParent}}));
  }
  EXPECT_EQ(h.emitted() + h.stats.spans_sampled_out, 4000u);
  EXPECT_GT(h.emitted(), 850u);
  EXPECT_LT(h.emitted(), 1150u);
}

TEST(Sampling, ratio_zero_and_one) {
  Harness none(with_sampler(SamplerKind::kTraceIdRatio, 0.0));
  Harness all(with_sampler(SamplerKind::kTraceIdRatio, 1.0));
  for (int i = 0; i < 200; ++i) {
    none.feed(TestEvent("job", {{"duration", 1}}));
    all.feed(TestEvent("job", {{"duration", 1}}));
  }
  all.feed(TestEvent("job", {{"duration", 1}, {"trace_id", std::string(32, 'f')}, {"span_id", kParent}}));
  EXPECT_EQ(none.emitted(), 0u);
  EXPECT_EQ(all.emitted(), 201u);
}

TEST(Sampling, parentbased_always_on_follows_the_remote_flag_and_the_root) {
  Harness h(with_sampler(SamplerKind::kParentBasedAlwaysOn));
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"traceparent", traceparent(kTrace, kParent, "00")}}));
  h.feed(TestEvent("db", {{"duration", 1}, {"parent_id", 1}}));  // local child of an unsampled span
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  h.feed(TestEvent("db", {{"duration", 1}, {"parent_id", 1}}));  // child of a recently ended one
  h.feed(TestEvent("sampled", {{"duration", 1}, {"traceparent", traceparent(kTrace, kParent, "01")}}));
  h.feed(TestEvent("root", {{"duration", 1}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).name, "sampled");
  EXPECT_EQ(h.span(1).name, "root");
  EXPECT_EQ(h.stats.spans_sampled_out, 3u);
}

TEST(Sampling, parentbased_always_off_drops_roots_and_their_children) {
  Harness h(with_sampler(SamplerKind::kParentBasedAlwaysOff));
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"tid", 3}}));
  h.feed(TestEvent("tls_handshake", {{"duration", 1}, {"tid", 3}}));  // auto-nested child
  h.feed(TestEvent("http_request_end", {{"request_id", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"traceparent", traceparent(kTrace, kParent, "01")}}));
  h.feed(TestEvent("db", {{"duration", 1}, {"parent_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 2}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).name, "db");
  EXPECT_EQ(h.span(1).name, "Request");
  EXPECT_EQ(h.span(0).parent_span_id, h.span(1).span_id);
  EXPECT_EQ(h.stats.spans_sampled_out, 2u);
}

TEST(Sampling, parentbased_traceidratio_uses_the_ratio_for_roots_only) {
  Harness h(with_sampler(SamplerKind::kParentBasedTraceIdRatio, 0.5));
  h.feed(TestEvent("a", {{"duration", 1}, {"trace_id", kLowTrace}, {"span_id", kParent}}));  // remote: sampled
  h.feed(TestEvent("b", {{"duration", 1}, {"traceparent", traceparent(kHighTrace, kParent, "01")}}));
  h.feed(TestEvent("c", {{"duration", 1}, {"traceparent", traceparent(kLowTrace, kParent, "00")}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).name, "a");
  EXPECT_EQ(h.span(1).name, "b");
  Harness none(with_sampler(SamplerKind::kParentBasedTraceIdRatio, 0.0));
  none.feed(TestEvent("root", {{"duration", 1}}));
  EXPECT_EQ(none.emitted(), 0u);
}

TEST(Sampling, tail_rule_keeps_errors_and_slow_spans) {
  CorrelatorOptions options = with_sampler(SamplerKind::kAlwaysOff);
  options.sampler.keep_errors = true;
  options.sampler.keep_slower_than = std::chrono::milliseconds(10);
  options.span_timeout = std::chrono::seconds(1);
  Harness h(options);
  h.feed(TestEvent("ok", {{"duration", 5 * kMs}}));
  h.feed(TestEvent("failed", {{"duration", 5 * kMs}, {"errno", 111}}));
  h.feed(TestEvent("slow", {{"duration", 20 * kMs}}));
  h.feed(TestEvent("edge", {{"duration", 10 * kMs}}));  // not longer than the threshold
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.clock.advance(2 * kSecond);
  h.correlator->sweep();  // timed out: an error
  ASSERT_EQ(h.emitted(), 3u);
  EXPECT_EQ(h.span(0).name, "failed");
  EXPECT_EQ(h.span(1).name, "slow");
  EXPECT_EQ(h.span(2).name, "Request");
  EXPECT_EQ(h.stats.spans_kept_by_tail, 3u);
  EXPECT_EQ(h.stats.spans_sampled_out, 2u);
}

// ---- span limits -----------------------------------------------------------------------

TEST(SpanLimits, defaults) {
  const SpanLimits limits;
  EXPECT_EQ(limits.attribute_value_length, 4096u);
  EXPECT_EQ(limits.attribute_count, 128u);
  EXPECT_EQ(limits.event_count, 128u);
  EXPECT_EQ(CorrelatorOptions{}.max_families, 1024u);
}

TEST(SpanLimits, attribute_list_enforces_limits_on_insert) {
  AttributeList list;
  list.set_limits(2, 3);
  list.set_string("a", "abcdef");
  list.set_int("b", 1);
  list.set_bool("c", true);  // third key: dropped
  list.set_int("b", 2);      // existing key: updated
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.find("a")->string_value, "abc");
  EXPECT_EQ(list.truncated(), 1u);
  EXPECT_EQ(list.dropped(), 1u);
  list.set_string("a", "ok");  // no longer cut
  EXPECT_EQ(list.truncated(), 0u);
  list.set_reserved_string("why", "x");
  EXPECT_EQ(list.size(), 3u);
  list.clear();
  EXPECT_EQ(list.dropped(), 0u);
}

TEST(SpanLimits, string_values_are_cut_at_a_utf8_boundary) {
  CorrelatorOptions options;
  options.limits.attribute_value_length = 5;
  Harness h(options);
  h.feed(TestEvent("job", {{"duration", 1}, {"a", "abcd\xc3\xa9xyz"}, {"b", "abc"}, {"c", "abcde"},
                           {"d", "\xe2\x82\xac\xe2\x82\xac"}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(attr(h.span(0), "a")->string_value, "abcd");
  EXPECT_EQ(attr(h.span(0), "b")->string_value, "abc");
  EXPECT_EQ(attr(h.span(0), "c")->string_value, "abcde");
  EXPECT_EQ(attr(h.span(0), "d")->string_value, "\xe2\x82\xac");
  EXPECT_EQ(h.stats.attribute_values_truncated, 2u);
  EXPECT_EQ(utf8_prefix("\xc3\xa9", 1), "");
  EXPECT_EQ(utf8_prefix("a\xf0\x9f\x98\x80", 4), "a");
}

TEST(SpanLimits, span_names_and_status_messages_are_bounded) {
  CorrelatorOptions options;
  options.limits.attribute_value_length = 16;
  Harness h(options);
  h.feed(TestEvent("http_request", {{"duration", 1}, {"method", "GET"}, {"uri", "/" + std::string(100, 'x')},
                                    {"error", std::string(100, 'e')}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "HTTP GET /xxxxxx");  // 16 bytes
  EXPECT_EQ(h.span(0).status_message, std::string(16, 'e'));
  // name, status message, http.url and error.
  EXPECT_EQ(h.stats.attribute_values_truncated, 4u);
}

TEST(SpanLimits, attributes_beyond_the_count_are_dropped_and_counted) {
  CorrelatorOptions options;
  options.limits.attribute_count = 3;
  Harness h(options);
  h.feed(TestEvent("job_start", {{"request_id", 1}, {"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}}));
  h.feed(TestEvent("job_end", {{"request_id", 1}, {"a", 10}, {"e", 5}}));
  h.feed(TestEvent("job_start", {{"request_id", 2}, {"a", 1}, {"b", 2}, {"c", 3}}));
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 2u);
  const SpanRecord& first = h.span(0);
  EXPECT_EQ(first.attributes.size(), 3u);
  EXPECT_EQ(attr(first, "a")->int_value, 10);  // existing keys still update
  EXPECT_EQ(attr(first, "d"), nullptr);
  EXPECT_EQ(first.dropped_attributes_count, 2u);
  // The exporter's own reason attribute is kept even on a full span.
  const SpanRecord& second = h.span(1);
  EXPECT_EQ(second.attributes.size(), 4u);
  EXPECT_EQ(attr(second, "bpftrace_otel.incomplete")->string_value, "shutdown");
  EXPECT_EQ(second.dropped_attributes_count, 0u);
  EXPECT_EQ(h.stats.attributes_dropped, 2u);
}

TEST(SpanLimits, span_events_are_capped_with_their_attributes) {
  CorrelatorOptions options;
  options.limits.event_count = 2;
  options.limits.attribute_count = 1;
  Harness h(options);
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"tid", 9}}));
  for (int i = 0; i < 3; ++i) h.feed(TestEvent("retry", {{"tid", 9}, {"attempt", i}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 1u);
  ASSERT_EQ(h.span(0).events.size(), 2u);
  EXPECT_EQ(h.span(0).events[0].attributes.size(), 1u);  // thread.id kept, attempt dropped
  EXPECT_EQ(h.stats.span_events, 2u);
  EXPECT_EQ(h.stats.span_events_dropped, 1u);
  // request.id kept; thread.id dropped on the span, attempt on each of 2 events.
  EXPECT_EQ(h.stats.attributes_dropped, 3u);
}

TEST(SpanLimits, held_end_drops_count_on_the_paired_span) {
  CorrelatorOptions options;
  options.limits.attribute_count = 1;
  Harness h(options);
  h.feed(TestEvent("job_end", {{"request_id", 1}, {"a", 1}, {"b", 2}}));
  h.feed(TestEvent("job_start", {{"request_id", 1}, {"c", 3}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).attributes.size(), 1u);
  EXPECT_EQ(h.span(0).dropped_attributes_count, 2u);  // b on the end, a when merged into c's span
  EXPECT_EQ(h.stats.attributes_dropped, 2u);
}

// Issue 17.4: a family beyond the cap replaces the least recently used one
// without open spans; only when every kept family is in use are events dropped.
TEST(SpanLimits, families_beyond_the_cap_age_out_or_are_dropped_while_in_use) {
  CorrelatorOptions options;
  options.max_families = 2;
  Harness h(options);
  h.feed(TestEvent("a", {{"duration", 1}}));
  h.feed(TestEvent("b_start", {{"request_id", 1}}));
  for (int i = 0; i < 10; ++i) h.feed(TestEvent("c" + std::to_string(i), {{"duration", 1}}));
  EXPECT_EQ(h.stats.families_replaced, 10u);  // a, then each c but the last
  h.feed(TestEvent("d_start", {{"request_id", 2}}));  // replaces c9: b and d are now in use
  for (int i = 0; i < 10; ++i) h.feed(TestEvent("e" + std::to_string(i), {{"duration", 1}}));
  h.feed(TestEvent("b_end", {{"request_id", 1}}));
  h.feed(TestEvent("d_end", {{"request_id", 2}}));
  EXPECT_EQ(h.emitted(), 13u);
  EXPECT_EQ(h.stats.families_rejected, 10u);
  EXPECT_EQ(h.stats.families_replaced, 11u);
}

// ---- hostile parent chains ---------------------------------------------------------------

TEST(HostileInput, deep_parent_chain_neither_recurses_nor_overflows) {
  CorrelatorOptions options;
  options.max_open_spans = 200'000;
  Harness h(options);
  constexpr int kDepth = 100'000;
  // Ids from 1: parent_id 0 means "no parent".
  h.feed(TestEvent("step_start", {{"request_id", 1}}));
  for (int i = 2; i <= kDepth; ++i) h.feed(TestEvent("step_start", {{"request_id", i}, {"parent_id", i - 1}}));
  EXPECT_EQ(h.stats.open_spans, static_cast<uint64_t>(kDepth));
  for (int i = kDepth; i >= 1; --i) h.feed(TestEvent("step_end", {{"request_id", i}}));
  ASSERT_EQ(h.emitted(), static_cast<size_t>(kDepth));
  const SpanRecord& deepest = h.span(0);
  const SpanRecord& root = h.span(kDepth - 1);
  EXPECT_EQ(deepest.trace_id, root.trace_id);
  EXPECT_EQ(deepest.depth, 65535);  // saturates
  EXPECT_EQ(h.span(1).span_id, deepest.parent_span_id);
  EXPECT_FALSE(root.has_parent());
  EXPECT_EQ(h.stats.parent_not_found, 0u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

TEST(HostileInput, cycles_in_parent_id_terminate) {
  Harness h;
  // A names B (not there yet), B names A: B becomes A's child, nothing loops.
  h.feed(TestEvent("x_start", {{"request_id", "A"}, {"parent_id", "B"}}));
  h.feed(TestEvent("x_start", {{"request_id", "B"}, {"parent_id", "A"}}));
  // A span naming itself, and a restart of A naming B (open, child of the old A).
  h.feed(TestEvent("y_start", {{"request_id", "S"}, {"parent_id", "S"}}));
  h.feed(TestEvent("x_start", {{"request_id", "A"}, {"parent_id", "B"}}));
  h.feed(TestEvent("x_end", {{"request_id", "A"}}));
  h.feed(TestEvent("x_end", {{"request_id", "B"}}));
  h.feed(TestEvent("y_end", {{"request_id", "S"}}));
  ASSERT_EQ(h.emitted(), 4u);
  const SpanRecord& old_a = h.span(0);  // superseded
  const SpanRecord& new_a = h.span(1);
  const SpanRecord& b = h.span(2);
  EXPECT_EQ(attr(old_a, "bpftrace_otel.incomplete")->string_value, "superseded");
  EXPECT_FALSE(old_a.has_parent());
  EXPECT_EQ(b.parent_span_id, old_a.span_id);
  EXPECT_EQ(new_a.parent_span_id, b.span_id);
  EXPECT_EQ(new_a.trace_id, old_a.trace_id);
  EXPECT_FALSE(h.span(3).has_parent());
  EXPECT_EQ(h.stats.parent_not_found, 2u);  // A's first start and S
}

}  // namespace
}  // namespace bto
