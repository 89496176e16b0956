#include "export/trace_tree.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000;

SpanId sid(uint8_t n) {
  SpanId id{};
  id[7] = n;
  id[0] = 0x5a;
  return id;
}

TraceId tid(uint8_t n) {
  TraceId id{};
  id[15] = n;
  id[0] = 0x7e;
  return id;
}

SpanRecord span(uint8_t trace, uint8_t id, uint8_t parent, uint64_t start_us, uint64_t end_us, std::string name) {
  SpanRecord s;
  s.trace_id = tid(trace);
  s.span_id = sid(id);
  if (parent != 0) s.parent_span_id = sid(parent);
  s.start_time_unix_ns = kT0 + start_us * 1000;
  s.end_time_unix_ns = kT0 + end_us * 1000;
  s.name = std::move(name);
  s.kind = SpanKind::kInternal;
  return s;
}

std::string print(const std::vector<HeldTrace>& traces, bool color = false) {
  std::string out;
  TreeStyle style;
  style.color = color;
  style.service_name = "demo";
  for (const HeldTrace& trace : traces) format_trace_tree(trace, style, out);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

// The span name part of a span line: what follows the bar and the tree guides.
std::string name_column(const std::string& line) {
  const size_t bar_end = line.find("▏ ");
  if (bar_end == std::string::npos) return "";
  std::string rest = line.substr(bar_end + std::string("▏ ").size());
  return rest.substr(0, rest.find(" ["));
}

class TreeTest : public ::testing::Test {
 protected:
  TreeOptions options_;
  TreeStats stats_;
  Clock::time_point now_ = Clock::now();
  std::vector<HeldTrace> ready_;
};

TEST_F(TreeTest, complete_trace_prints_parent_first_with_children_in_start_order) {
  TraceAssembler tree(options_, stats_);
  // Arrival = end order: the grandchild, then the children, the root last.
  tree.add(span(1, 4, 3, 40, 50, "grandchild"), now_, ready_);
  tree.add(span(1, 2, 1, 10, 20, "first child"), now_, ready_);
  tree.add(span(1, 3, 1, 30, 60, "second child"), now_, ready_);
  EXPECT_TRUE(ready_.empty());
  tree.add(span(1, 1, 0, 0, 100, "root"), now_, ready_);
  ASSERT_EQ(ready_.size(), 1u);
  EXPECT_EQ(ready_[0].reason, PrintReason::kComplete);
  const auto lines = lines_of(print(ready_));
  ASSERT_EQ(lines.size(), 5u) << print(ready_);
  EXPECT_EQ(lines[0].rfind("trace 7e00000000000000000000000000000" "1  demo  root  4 spans  100.0us", 0), 0u) << lines[0];
  EXPECT_EQ(name_column(lines[1]), "root");
  EXPECT_EQ(name_column(lines[2]), "├─ first child");
  EXPECT_EQ(name_column(lines[3]), "└─ second child");
  EXPECT_EQ(name_column(lines[4]), "   └─ grandchild");
  EXPECT_NE(lines[3].find("+30.0us"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("30.0us ▕"), std::string::npos) << lines[3];
  EXPECT_EQ(tree.held_spans(), 0u);
}

TEST_F(TreeTest, bars_are_scaled_to_the_root) {
  TraceAssembler tree(options_, stats_);
  tree.add(span(1, 2, 1, 50, 100, "second half"), now_, ready_);
  tree.add(span(1, 1, 0, 0, 100, "root"), now_, ready_);
  const auto lines = lines_of(print(ready_));
  ASSERT_EQ(lines.size(), 3u);
  // 24 cells: the root fills them, the child the last 12.
  EXPECT_NE(lines[1].find("▕" + [] { std::string s; for (int i = 0; i < 24; ++i) s += "█"; return s; }() + "▏"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find("▕            " + [] { std::string s; for (int i = 0; i < 12; ++i) s += "█"; return s; }() +
                          "▏"),
            std::string::npos)
      << lines[2];
}

TEST_F(TreeTest, remote_parent_makes_a_root_and_unknown_parent_an_orphan_placeholder) {
  TraceAssembler tree(options_, stats_);
  SpanRecord server = span(1, 1, 9, 0, 100, "server");
  server.parent_remote = true;  // the caller's span, from traceparent
  tree.add(span(1, 2, 1, 10, 20, "child"), now_, ready_);
  tree.add(span(1, 3, 8, 30, 40, "lost parent"), now_, ready_);  // parent 8 never seen
  tree.add(server, now_, ready_);
  ASSERT_EQ(ready_.size(), 1u);
  const std::string text = print(ready_);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 5u) << text;
  EXPECT_EQ(name_column(lines[1]), "server");
  EXPECT_EQ(name_column(lines[2]), "└─ child");
  EXPECT_NE(lines[3].find("? parent 5a00000000000008 not seen (1 span)"), std::string::npos) << lines[3];
  EXPECT_EQ(name_column(lines[4]), "└─ lost parent");
}

TEST_F(TreeTest, open_children_hold_the_trace_until_they_arrive) {
  TraceAssembler tree(options_, stats_);
  SpanRecord root = span(1, 1, 0, 0, 100, "root");
  root.open_children = 2;  // two children were still open when the root ended
  tree.add(root, now_, ready_);
  tree.add(span(1, 2, 1, 10, 120, "late child"), now_, ready_);
  EXPECT_TRUE(ready_.empty());
  SpanRecord second = span(1, 3, 1, 20, 130, "later child");
  second.open_children = 1;
  tree.add(second, now_, ready_);
  EXPECT_TRUE(ready_.empty());
  tree.add(span(1, 4, 3, 25, 140, "grandchild"), now_, ready_);
  ASSERT_EQ(ready_.size(), 1u);
  EXPECT_EQ(ready_[0].reason, PrintReason::kComplete);
  EXPECT_EQ(ready_[0].spans.size(), 4u);
}

TEST_F(TreeTest, settle_time_prints_with_open_parts_marked) {
  options_.settle = milliseconds(500);
  TraceAssembler tree(options_, stats_);
  SpanRecord root = span(1, 1, 0, 0, 100, "root");
  root.open_children = 1;
  tree.add(root, now_, ready_);
  tree.expire(now_ + milliseconds(499), ready_);
  EXPECT_TRUE(ready_.empty());
  EXPECT_EQ(tree.next_expiry(), now_ + milliseconds(500));
  tree.expire(now_ + milliseconds(500), ready_);
  ASSERT_EQ(ready_.size(), 1u);
  EXPECT_EQ(ready_[0].reason, PrintReason::kSettled);
  const std::string text = print(ready_);
  EXPECT_NE(text.find("(1 span still open after the settle time)"), std::string::npos) << text;
  EXPECT_NE(text.find("└─ … 1 child span still open"), std::string::npos) << text;
}

TEST_F(TreeTest, trace_without_root_is_printed_after_max_hold_and_late_spans_as_continuation) {
  options_.max_hold = milliseconds(2000);
  options_.settle = milliseconds(100);
  TraceAssembler tree(options_, stats_);
  SpanRecord child = span(1, 2, 1, 10, 20, "child of an open root");
  tree.add(child, now_, ready_);
  tree.expire(now_ + milliseconds(1999), ready_);
  EXPECT_TRUE(ready_.empty());
  tree.expire(now_ + milliseconds(2000), ready_);
  ASSERT_EQ(ready_.size(), 1u);
  EXPECT_EQ(ready_[0].reason, PrintReason::kRootMissing);
  EXPECT_NE(print(ready_).find("(root not ended within the hold time)"), std::string::npos);
  ready_.clear();
  // The root ends later: a continuation, printed at once (it is a root).
  tree.add(span(1, 1, 0, 0, 100, "root"), now_ + milliseconds(3000), ready_);
  ASSERT_EQ(ready_.size(), 1u);
  EXPECT_TRUE(ready_[0].continued);
  EXPECT_NE(print(ready_).find("(continued)"), std::string::npos);
  ready_.clear();
  // A late span of a printed trace waits only the settle time.
  tree.add(span(1, 5, 1, 10, 20, "straggler"), now_ + milliseconds(4000), ready_);
  tree.expire(now_ + milliseconds(4100), ready_);
  ASSERT_EQ(ready_.size(), 1u);
  EXPECT_NE(print(ready_).find("(continued: spans that ended after the trace was printed)"), std::string::npos);
}

TEST_F(TreeTest, bounds_print_the_oldest_trace_early_and_count_it) {
  options_.max_traces = 2;
  TraceAssembler tree(options_, stats_);
  for (uint8_t t = 1; t <= 5; ++t) tree.add(span(t, 2, 1, 0, 10, "child"), now_, ready_);
  EXPECT_EQ(tree.held_traces(), 2u);
  ASSERT_EQ(ready_.size(), 3u);
  for (const HeldTrace& trace : ready_) EXPECT_EQ(trace.reason, PrintReason::kEarly);
  EXPECT_EQ(ready_[0].trace_id, tid(1));  // oldest first
  EXPECT_NE(print({ready_[0]}).find("(printed early: the tree view's limits were reached)"), std::string::npos);

  TreeOptions by_spans;
  by_spans.max_spans = 100;
  TreeStats stats;
  TraceAssembler spans(by_spans, stats);
  std::vector<HeldTrace> out;
  for (int i = 0; i < 1000; ++i) {
    spans.add(span(static_cast<uint8_t>(i % 7), static_cast<uint8_t>(i), 1, 0, 10, "x"), now_, out);
    ASSERT_LE(spans.held_spans(), 100u);
  }
  size_t printed = 0;
  for (const HeldTrace& trace : out) printed += trace.spans.size();
  EXPECT_EQ(printed + spans.held_spans(), 1000u);  // nothing lost
}

TEST_F(TreeTest, held_bytes_stay_under_the_memory_bound_with_huge_attributes) {
  options_.max_bytes = 256 << 10;
  TraceAssembler tree(options_, stats_);
  const std::string big(100'000, 'x');
  SpanRecord s = span(1, 1, 0xff, 0, 10, big);  // one record, ids changed per span
  s.status_message = big;
  for (int a = 0; a < 50; ++a) s.attributes.set_string("key" + std::to_string(a), big);
  size_t printed = 0;
  for (int i = 0; i < 20'000; ++i) {
    s.trace_id = tid(static_cast<uint8_t>(i % 251));
    s.trace_id[1] = static_cast<uint8_t>(i >> 8);
    s.span_id = sid(static_cast<uint8_t>(i % 250 + 1));
    s.span_id[1] = static_cast<uint8_t>(i >> 8);
    tree.add(s, now_, ready_);
    ASSERT_LE(tree.held_bytes(), options_.max_bytes);
    for (const HeldTrace& trace : ready_) printed += trace.spans.size();
    ready_.clear();
  }
  EXPECT_EQ(printed + tree.held_spans(), 20'000u);
  EXPECT_LE(stats_.peak_held_bytes.load(), options_.max_bytes);
}

TEST_F(TreeTest, drain_at_exit_marks_incomplete_traces) {
  TraceAssembler tree(options_, stats_);
  SpanRecord root = span(1, 1, 0, 0, 100, "root");
  root.open_children = 1;
  tree.add(root, now_, ready_);
  SpanRecord open = span(2, 2, 0, 0, 100, "open at exit");
  open.attributes.set_string("bpftrace_otel.incomplete", "shutdown");
  tree.add(span(3, 3, 1, 0, 100, "orphan"), now_, ready_);
  tree.drain(ready_);
  ASSERT_EQ(ready_.size(), 2u);
  const std::string text = print(ready_);
  EXPECT_NE(text.find("(incomplete at exit: 1 span still open)"), std::string::npos) << text;
  EXPECT_NE(text.find("(incomplete at exit: root not ended)"), std::string::npos) << text;
  ready_.clear();
  TraceAssembler other(options_, stats_);
  other.add(open, now_, ready_);
  EXPECT_NE(print(ready_).find("(open when emitted)"), std::string::npos) << print(ready_);
}

TEST_F(TreeTest, colour_only_when_asked_and_status_shown) {
  TraceAssembler tree(options_, stats_);
  SpanRecord failed = span(1, 1, 0, 0, 100, "GET /x");
  failed.status = StatusCode::kError;
  failed.status_message = "HTTP 500";
  tree.add(failed, now_, ready_);
  const std::string plain = print(ready_, false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_NE(plain.find("GET /x [internal] error (HTTP 500)"), std::string::npos) << plain;
  const std::string colored = print(ready_, true);
  EXPECT_NE(colored.find("\x1b[31merror (HTTP 500)\x1b[0m"), std::string::npos) << colored;
}

TEST_F(TreeTest, deep_nesting_and_parent_cycles_are_printed_without_recursion) {
  HeldTrace trace;
  trace.trace_id = tid(1);
  trace.has_root = true;
  SpanId previous{};
  for (uint32_t i = 0; i < 20'000; ++i) {
    SpanRecord s;
    s.span_id[0] = static_cast<uint8_t>(i >> 8);
    s.span_id[1] = static_cast<uint8_t>(i);
    s.span_id[7] = 1;
    s.parent_span_id = previous;
    previous = s.span_id;
    s.start_time_unix_ns = kT0 + i;
    s.end_time_unix_ns = kT0 + 100'000;
    s.name = "level";
    hold_span(trace, s);
  }
  // Two spans naming each other: no top-level entry reaches them.
  SpanRecord a = span(1, 200, 201, 0, 1, "cycle a");
  SpanRecord b = span(1, 201, 200, 0, 1, "cycle b");
  hold_span(trace, a);
  hold_span(trace, b);
  std::string out;
  const size_t lines = format_trace_tree(trace, TreeStyle{}, out);
  EXPECT_EQ(lines, 20'002u);
  EXPECT_NE(out.find("cycle a"), std::string::npos);
  EXPECT_NE(out.find("cycle b"), std::string::npos);
}

TEST_F(TreeTest, names_and_attributes_are_escaped_and_cut) {
  TraceAssembler tree(options_, stats_);
  SpanRecord s = span(1, 1, 0, 0, 100, "GET /\x1b[2J\x1b]0;title\x07\nnext");
  s.attributes.set_string("http.url", std::string(1000, 'u'));
  tree.add(s, now_, ready_);
  const std::string text = print(ready_);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("GET /\\e[2J\\e]0;title\\x07\\nnext"), std::string::npos) << text;
  EXPECT_NE(text.find("http.url=\"" + std::string(120, 'u') + "…\""), std::string::npos) << text;
}

}  // namespace
}  // namespace bto
