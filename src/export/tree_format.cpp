// Printing one held trace as a tree (the console's tree view).

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "export/terminal_text.h"
#include "export/trace_tree.h"

namespace bto {
namespace {

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kCyan = "\x1b[36m";
constexpr size_t kMaxIndent = 24;  // deeper levels are drawn at this depth
// Eighths of a cell, for the bar's last cell.
constexpr const char* kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};

uint64_t id_key(const SpanId& id) noexcept {
  uint64_t key = 0;
  std::memcpy(&key, id.data(), sizeof key);
  return key;
}

std::string_view kind_name(SpanKind kind) {
  switch (kind) {
    case SpanKind::kInternal: return "internal";
    case SpanKind::kServer: return "server";
    case SpanKind::kClient: return "client";
    case SpanKind::kProducer: return "producer";
    case SpanKind::kConsumer: return "consumer";
    case SpanKind::kUnspecified: break;
  }
  return "unspecified";
}

// One top-level entry: a root (or a span whose parent is remote), or a group
// of orphans sharing a parent that is not in the trace.
struct TopLevel {
  uint64_t start = 0;
  size_t span = SIZE_MAX;  // a root
  SpanId missing_parent{};  // a placeholder
  std::vector<size_t> orphans;
};

class TreePrinter {
 public:
  TreePrinter(const HeldTrace& trace, const TreeStyle& style, std::string& out)
      : trace_(trace), style_(style), out_(out), children_(trace.spans.size()), printed_(trace.spans.size(), false) {}

  size_t print() {
    link();
    header();
    for (const TopLevel& top : tops_) {
      if (top.span != SIZE_MAX) {
        print_subtree(top.span, 0);
      } else {
        placeholder(top.missing_parent, top.orphans.size());
        for (size_t i = 0; i < top.orphans.size(); ++i) print_subtree(top.orphans[i], 1, i + 1 == top.orphans.size());
      }
    }
    // What no top-level entry reaches (parent links in a cycle) still gets printed.
    for (size_t i = 0; i < trace_.spans.size(); ++i) {
      if (!printed_[i]) {
        placeholder(trace_.spans[i].parent_id, 1);
        print_subtree(i, 1, true);
      }
    }
    return lines_;
  }

 private:
  void link() {
    const auto& spans = trace_.spans;
    std::unordered_map<uint64_t, size_t> index;
    index.reserve(spans.size());
    for (size_t i = 0; i < spans.size(); ++i) index.emplace(id_key(spans[i].span_id), i);
    std::unordered_map<uint64_t, size_t> groups;  // missing parent -> tops_ index
    for (size_t i = 0; i < spans.size(); ++i) {
      const HeldSpan& span = spans[i];
      start_ = std::min(start_, span.start_ns);
      end_ = std::max(end_, span.end_ns);
      const auto parent = span.has_parent() ? index.find(id_key(span.parent_id)) : index.end();
      if (parent != index.end() && parent->second != i) {
        children_[parent->second].push_back(i);
      } else if (!span.has_parent() || span.parent_remote) {
        tops_.push_back({span.start_ns, i, {}, {}});
        if (root_ == SIZE_MAX) root_ = i;
      } else {
        auto [group, added] = groups.emplace(id_key(span.parent_id), tops_.size());
        if (added) tops_.push_back({span.start_ns, SIZE_MAX, span.parent_id, {}});
        TopLevel& top = tops_[group->second];
        top.orphans.push_back(i);
        top.start = std::min(top.start, span.start_ns);
      }
    }
    const auto by_start = [&](size_t a, size_t b) {
      return spans[a].start_ns != spans[b].start_ns ? spans[a].start_ns < spans[b].start_ns : a < b;
    };
    for (auto& list : children_) std::sort(list.begin(), list.end(), by_start);
    for (TopLevel& top : tops_) std::sort(top.orphans.begin(), top.orphans.end(), by_start);
    std::stable_sort(tops_.begin(), tops_.end(), [](const TopLevel& a, const TopLevel& b) { return a.start < b.start; });
    if (root_ == SIZE_MAX && !spans.empty()) root_ = tops_.empty() ? 0 : (tops_[0].span != SIZE_MAX ? tops_[0].span : tops_[0].orphans[0]);
  }

  void color(const char* code) {
    if (style_.color) out_ += code;
  }

  void header() {
    color(kBold);
    out_ += "trace ";
    out_ += to_hex(trace_.trace_id);
    color(kReset);
    if (!style_.service_name.empty()) {
      out_ += "  ";
      append_terminal_safe(out_, style_.service_name, 64);
    }
    if (root_ != SIZE_MAX) {
      out_ += "  ";
      out_ += trace_.spans[root_].name;
    }
    fmt::format_to(std::back_inserter(out_), "  {} span{}  {}", trace_.spans.size(),
                   trace_.spans.size() == 1 ? "" : "s", format_duration_ns(end_ - start_));
    const std::string mark = header_mark();
    if (!mark.empty()) {
      out_ += "  ";
      color(kYellow);
      out_ += mark;
      color(kReset);
    }
    out_ += '\n';
  }

  std::string header_mark() const {
    const uint32_t open = trace_.missing;
    const std::string still_open = open == 0 ? "" : fmt::format("{} span{} still open", open, open == 1 ? "" : "s");
    switch (trace_.reason) {
      case PrintReason::kComplete: return trace_.continued ? "(continued)" : "";
      case PrintReason::kSettled: return "(" + still_open + " after the settle time)";
      case PrintReason::kRootMissing:
        return trace_.continued ? "(continued: spans that ended after the trace was printed)"
                                : "(root not ended within the hold time)";
      case PrintReason::kEarly: return "(printed early: the tree view's limits were reached)";
      case PrintReason::kAtExit:
        if (!trace_.has_root) return "(incomplete at exit: root not ended)";
        return "(incomplete at exit" + (open == 0 ? std::string() : ": " + still_open) + ")";
    }
    return "";
  }

  // "+offset duration ▕bar▏ " for a span, or blank columns.
  void columns(const HeldSpan* span) {
    const int width = std::max(style_.bar_width, 4);
    if (span == nullptr) {
      out_.append(19, ' ');
      out_ += "▕";
      out_.append(static_cast<size_t>(width), ' ');
      out_ += "▏ ";
      return;
    }
    fmt::format_to(std::back_inserter(out_), "{:>10} {:>8} ", "+" + format_duration_ns(span->start_ns - start_),
                   format_duration_ns(span->end_ns - span->start_ns));
    const double total = static_cast<double>(std::max<uint64_t>(end_ - start_, 1));
    const int first = std::min(width - 1, static_cast<int>(static_cast<double>(span->start_ns - start_) / total * width));
    int eighths = static_cast<int>(static_cast<double>(span->end_ns - span->start_ns) / total * width * 8 + 0.5);
    eighths = std::clamp(eighths, 1, (width - first) * 8);
    out_ += "▕";
    out_.append(static_cast<size_t>(first), ' ');
    color(span->status == StatusCode::kError ? kRed : kCyan);
    for (int i = 0; i < eighths / 8; ++i) out_ += "█";
    out_ += kEighths[eighths % 8];
    color(kReset);
    const int used = first + eighths / 8 + (eighths % 8 != 0 ? 1 : 0);
    out_.append(static_cast<size_t>(width - used), ' ');
    out_ += "▏ ";
  }

  void indent(size_t depth, bool last) {
    const size_t shown = std::min(depth, kMaxIndent);
    for (size_t level = 1; level < shown; ++level) out_ += level < guides_.size() && guides_[level] ? "│  " : "   ";
    if (shown > 0) out_ += last ? "└─ " : "├─ ";
  }

  void span_line(size_t i, size_t depth, bool last) {
    const HeldSpan& span = trace_.spans[i];
    columns(&span);
    indent(depth, last);
    out_ += span.name;
    out_ += " [";
    out_ += kind_name(span.kind);
    out_ += ']';
    if (span.status == StatusCode::kError) {
      out_ += ' ';
      color(kRed);
      out_ += "error";
      if (!span.status_message.empty()) out_ += " (" + span.status_message + ")";
      color(kReset);
    } else if (span.status == StatusCode::kOk) {
      out_ += ' ';
      color(kGreen);
      out_ += "ok";
      color(kReset);
    }
    if (span.incomplete) {
      out_ += ' ';
      color(kYellow);
      out_ += "(open when emitted)";
      color(kReset);
    }
    if (!span.attributes.empty()) {
      out_ += ' ';
      color(kDim);
      out_ += span.attributes;
      color(kReset);
    }
    out_ += '\n';
    ++lines_;
  }

  void print_subtree(size_t i, size_t depth, bool last = true) {
    // Iterative: a trace may nest thousands of levels deep.
    struct Frame {
      size_t span;  // SIZE_MAX: the "still open" note of the parent above
      size_t depth;
      bool last;
      uint16_t open = 0;
    };
    std::vector<Frame> stack{{i, depth, last}};
    while (!stack.empty()) {
      const Frame frame = stack.back();
      stack.pop_back();
      if (frame.span == SIZE_MAX) {
        open_note(frame.open, frame.depth);
        continue;
      }
      if (printed_[frame.span]) continue;
      printed_[frame.span] = true;
      if (guides_.size() <= frame.depth) guides_.resize(frame.depth + 1, false);
      span_line(frame.span, frame.depth, frame.last);
      guides_[frame.depth] = !frame.last;
      const auto& kids = children_[frame.span];
      const uint16_t open = trace_.spans[frame.span].missing_children;
      if (open > 0) stack.push_back({SIZE_MAX, frame.depth + 1, true, open});
      for (size_t k = kids.size(); k-- > 0;) {
        stack.push_back({kids[k], frame.depth + 1, open == 0 && k + 1 == kids.size()});
      }
    }
  }

  void open_note(uint16_t count, size_t depth) {
    columns(nullptr);
    indent(depth, true);
    color(kYellow);
    fmt::format_to(std::back_inserter(out_), "… {} child span{} still open", count, count == 1 ? "" : "s");
    color(kReset);
    out_ += '\n';
  }

  void placeholder(const SpanId& parent, size_t count) {
    columns(nullptr);
    color(kYellow);
    fmt::format_to(std::back_inserter(out_), "? parent {} not seen ({} span{})", to_hex(parent), count,
                   count == 1 ? "" : "s");
    color(kReset);
    out_ += '\n';
    if (guides_.size() < 2) guides_.resize(2, false);
  }

  const HeldTrace& trace_;
  const TreeStyle& style_;
  std::string& out_;
  std::vector<std::vector<size_t>> children_;
  std::vector<bool> printed_;
  std::vector<TopLevel> tops_;
  std::vector<bool> guides_;  // per depth: a later sibling follows, draw "│"
  size_t root_ = SIZE_MAX;
  uint64_t start_ = UINT64_MAX;
  uint64_t end_ = 0;
  size_t lines_ = 0;
};

}  // namespace

size_t format_trace_tree(const HeldTrace& trace, const TreeStyle& style, std::string& out) {
  if (trace.spans.empty()) return 0;
  return TreePrinter(trace, style, out).print();
}

}  // namespace bto
