// --console-format tree on the recorded demo (issue 19's "done when"): every
// trace printed once, parent first, children in start order, with the same
// spans as the JSON console view of the same stream. The expected tree is
// built here from the JSON view's ids, not from the tree printer's code.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "app_process.h"

namespace bto::apptest {
namespace {

int null_in() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
int file_out(const std::string& path) { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); }

struct ViewSpan {
  std::string span_id, parent_id, name;
  uint64_t start = 0;
};

// One printed line of a trace: its span's name and depth in the tree.
struct TreeLine {
  std::string name;
  size_t depth = 0;
  bool operator==(const TreeLine&) const = default;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

// Parent first, children by start time (ties: the JSON view's order).
std::vector<TreeLine> expected_tree(const std::vector<ViewSpan>& spans) {
  std::set<std::string> ids;
  for (const ViewSpan& s : spans) ids.insert(s.span_id);
  std::map<std::string, std::vector<const ViewSpan*>> children;
  std::vector<const ViewSpan*> tops;
  for (const ViewSpan& s : spans) {
    (ids.count(s.parent_id) != 0 ? children[s.parent_id] : tops).push_back(&s);
  }
  const auto by_start = [](const ViewSpan* a, const ViewSpan* b) { return a->start < b->start; };
  std::stable_sort(tops.begin(), tops.end(), by_start);
  for (auto& [id, list] : children) std::stable_sort(list.begin(), list.end(), by_start);
  std::vector<TreeLine> out;
  std::vector<std::pair<const ViewSpan*, size_t>> stack;
  for (auto it = tops.rbegin(); it != tops.rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    const auto [span, depth] = stack.back();
    stack.pop_back();
    out.push_back({span->name, depth});
    const auto& kids = children[span->span_id];
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.emplace_back(*it, depth + 1);
  }
  return out;
}

constexpr int kBarWidth = 24;  // the tree view's default bar

// A span line: 20 columns, the bar between ▕ and ▏, then the tree guides
// (3 columns per level: "│  ", "   ", "├─ ", "└─ "), the name and " [kind]".
bool parse_span_line(const std::string& line, TreeLine& parsed) {
  // The bar is kBarWidth cells; its last cell may be "▏" (one eighth) too,
  // so the closing "▏ " is found by counting cells, not by searching.
  const std::string bar_start = "▕", bar_end = "▏ ";
  size_t at = line.find(bar_start);
  if (at == std::string::npos) return false;
  at += bar_start.size();
  for (int cell = 0; cell < kBarWidth && at < line.size(); ++cell) {
    do ++at; while (at < line.size() && (static_cast<unsigned char>(line[at]) & 0xC0) == 0x80);
  }
  if (line.compare(at, bar_end.size(), bar_end) != 0) return false;
  at += bar_end.size();
  size_t depth = 0;
  for (;;) {
    const std::string_view rest(line.data() + at, line.size() - at);
    if (rest.starts_with("├─ ") || rest.starts_with("└─ ")) {
      ++depth;
      at += std::string_view("├─ ").size();
      break;
    }
    if (rest.starts_with("│  ")) {
      at += std::string_view("│  ").size();
    } else if (rest.starts_with("   ")) {
      at += 3;
    } else {
      break;
    }
    ++depth;
  }
  for (const char* kind : {" [server]", " [client]", " [internal]", " [producer]", " [consumer]", " [unspecified]"}) {
    const size_t end = line.find(kind, at);
    if (end != std::string::npos) {
      parsed.name = line.substr(at, end - at);
      parsed.depth = depth;
      return true;
    }
  }
  return false;
}

TEST(TreeView, recorded_demo_prints_each_trace_parent_first_with_the_json_views_spans) {
  TempDir dir;
  const std::string demo = source_path("tests/data/recorded-demo.jsonl");
  const std::string json_path = dir.file("view.jsonl"), tree_path = dir.file("tree.txt");
  Process json_run = Process::start({exporter_path(), "--input", demo, "--console-format", "json"},
                                    {null_in(), file_out(json_path), dir.file("json.err")});
  ASSERT_EQ(json_run.wait_for(milliseconds(30000)), std::optional<int>(0));
  Process tree_run = Process::start({exporter_path(), "--input", demo, "--console-format", "tree"},
                                    {null_in(), file_out(tree_path), dir.file("tree.err")});
  ASSERT_EQ(tree_run.wait_for(milliseconds(30000)), std::optional<int>(0)) << read_file(dir.file("tree.err"));

  std::map<std::string, std::vector<ViewSpan>> view;  // by trace id
  size_t view_spans = 0;
  simdjson::dom::parser parser;
  for (const std::string& line : lines_of(read_file(json_path))) {
    simdjson::dom::element s = parser.parse(line);
    ViewSpan span{std::string(s["span_id"].get_string().value()), std::string(s["parent_span_id"].get_string().value()),
                  std::string(s["name"].get_string().value()), s["start_time_unix_nano"].get_uint64().value()};
    view[std::string(s["trace_id"].get_string().value())].push_back(std::move(span));
    ++view_spans;
  }
  ASSERT_EQ(view_spans, 414u);

  // The tree output, trace by trace: "trace <id> ... N spans ..." then its lines.
  const std::string tree_text = read_file(tree_path);
  EXPECT_EQ(tree_text.find('\x1b'), std::string::npos) << "colour on a file";
  std::map<std::string, std::vector<TreeLine>> printed;
  std::map<std::string, long> header_counts;
  std::string current;
  size_t tree_spans = 0, headers = 0;
  for (const std::string& line : lines_of(tree_text)) {
    if (line.starts_with("trace ")) {
      current = line.substr(6, 32);
      ++headers;
      EXPECT_EQ(printed.count(current), 0u) << "trace printed twice: " << line;
      size_t spans_at = line.find(" spans  ");
      if (spans_at == std::string::npos) spans_at = line.find(" span  ");
      ASSERT_NE(spans_at, std::string::npos) << line;
      const size_t count_at = line.rfind("  ", spans_at - 1);
      header_counts[current] = std::stol(line.substr(count_at + 2, spans_at - count_at - 2));
      EXPECT_EQ(line.find("incomplete"), std::string::npos) << line;
      EXPECT_EQ(line.find("still open"), std::string::npos) << line;
      continue;
    }
    if (line.empty()) continue;
    TreeLine parsed;
    ASSERT_TRUE(parse_span_line(line, parsed)) << "not a span line: " << line;
    ASSERT_FALSE(current.empty());
    printed[current].push_back(parsed);
    ++tree_spans;
  }
  EXPECT_EQ(tree_spans, view_spans);
  EXPECT_EQ(headers, view.size());
  ASSERT_EQ(printed.size(), view.size());
  // Ids are generated per run (only traces joined through traceparent keep
  // theirs), so the two runs are compared as multisets of trees: each printed
  // trace's (name, depth) sequence must be one the JSON view's ids give.
  using Shape = std::vector<std::pair<std::string, size_t>>;
  const auto shape = [](const std::vector<TreeLine>& lines) {
    Shape out;
    for (const TreeLine& l : lines) out.emplace_back(l.name, l.depth);
    return out;
  };
  std::map<Shape, int> expected_shapes, printed_shapes;
  size_t nested = 0;
  for (const auto& [trace, spans] : view) ++expected_shapes[shape(expected_tree(spans))];
  for (const auto& [trace, lines] : printed) {
    ++printed_shapes[shape(lines)];
    EXPECT_EQ(header_counts[trace], static_cast<long>(lines.size())) << trace;
    EXPECT_EQ(lines.front().depth, 0u) << "trace " << trace << " does not start with its root";
    nested += std::count_if(lines.begin(), lines.end(), [](const TreeLine& l) { return l.depth >= 1; });
  }
  EXPECT_EQ(printed_shapes.size(), expected_shapes.size());
  for (const auto& [tree, count] : expected_shapes) {
    std::string text;
    for (const auto& [name, depth] : tree) text += std::string(2 * depth, ' ') + name + "\n";
    EXPECT_EQ(printed_shapes[tree], count) << "traces shaped\n" << text;
  }
  EXPECT_GT(nested, 0u) << "the demo nests dial, TLS and job spans under requests";

  // The trace joined through traceparent keeps its id: compared directly.
  const std::string known = "82a843f81f59029615e5a1defa876f9f";
  ASSERT_EQ(printed.count(known), 1u);
  ASSERT_EQ(view.count(known), 1u);
  EXPECT_EQ(printed[known], expected_tree(view[known]));
  EXPECT_EQ(printed[known], (std::vector<TreeLine>{{"HTTP POST /api/orders", 0}, {"net.Dial", 1},
                                                   {"TLS Handshake", 1}, {"Request", 1}}));
}

}  // namespace
}  // namespace bto::apptest
