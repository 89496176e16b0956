// Printing one held trace as a tree (the console's tree view). Runs per span
// at replay speed: no formatting library, no allocation per span beyond the
// output's growth.

#include <algorithm>
#include <charconv>
#include <cstring>

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
constexpr uint32_t kNone = UINT32_MAX;
// Eighths of a cell, for the bar's last cell.
constexpr const char* kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};

uint64_t id_key(const SpanId& id) noexcept {
  uint64_t key = 0;
  std::memcpy(&key, id.data(), sizeof key);
  return key;
}

void append_count(std::string& out, uint64_t n, std::string_view noun) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
  out += ' ';
  out += noun;
  if (n != 1) out += 's';
}

// `text` right-aligned in `width` columns (ASCII).
void append_right(std::string& out, std::string_view text, size_t width) {
  if (text.size() < width) out.append(width - text.size(), ' ');
  out += text;
}

void append_hex(std::string& out, std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
}

// A top-level entry: a root (no parent, or a remote one), or the orphans
// sharing a parent that is not in the trace, under a placeholder.
struct TopLevel {
  uint64_t start = 0;
  uint32_t span = kNone;    // a root
  uint32_t orphans = kNone; // first orphan (chained through next_sibling)
  SpanId missing_parent{};
  size_t orphan_count = 0;
};

struct Frame {
  uint32_t span;  // kNone: the "still open" note of the parent above
  size_t depth;
  bool last;
  uint16_t open;
};

// What printing one trace needs, kept per thread: no allocation per trace
// once the vectors have grown.
struct Scratch {
  std::vector<uint32_t> first_child, next_sibling;
  std::vector<bool> printed;
  std::vector<TopLevel> tops;
  std::vector<bool> guides;  // per depth: a later sibling follows, draw "│"
  std::vector<Frame> stack;
  std::string text;  // one column's text
};

class TreePrinter {
 public:
  TreePrinter(const HeldTrace& trace, const TreeStyle& style, std::string& out, Scratch& scratch)
      : trace_(trace),
        spans_(trace.spans),
        style_(style),
        out_(out),
        first_child_(scratch.first_child),
        next_sibling_(scratch.next_sibling),
        printed_(scratch.printed),
        tops_(scratch.tops),
        guides_(scratch.guides),
        stack_(scratch.stack),
        text_(scratch.text) {
    tops_.clear();
    guides_.clear();
  }

  size_t print() {
    link();
    header();
    for (const TopLevel& top : tops_) {
      if (top.span != kNone) {
        print_subtree(top.span, 0, true);
      } else {
        placeholder(top.missing_parent, top.orphan_count);
        for (uint32_t s = top.orphans; s != kNone; s = next_sibling_[s]) {
          print_subtree(s, 1, next_sibling_[s] == kNone);
        }
      }
    }
    // What no top-level entry reaches (parent links in a cycle) still gets printed.
    for (uint32_t i = 0; i < spans_.size(); ++i) {
      if (!printed_[i]) {
        placeholder(spans_[i].parent_id, 1);
        print_subtree(i, 1, true);
      }
    }
    return lines_;
  }

 private:
  // Children lists in start order (first_child / next_sibling), top-level entries.
  void link() {
    const size_t n = spans_.size();
    // Per thread and reused: printing a trace allocates only while they grow.
    thread_local std::vector<uint32_t> by_start;
    thread_local std::vector<std::pair<uint64_t, uint32_t>> ids;
    thread_local std::vector<uint32_t> last_child;
    thread_local std::vector<std::pair<uint64_t, size_t>> groups;  // missing parent -> tops_ index
    by_start.resize(n);
    for (uint32_t i = 0; i < n; ++i) by_start[i] = i;
    std::sort(by_start.begin(), by_start.end(), [this](uint32_t a, uint32_t b) {
      return spans_[a].start_ns != spans_[b].start_ns ? spans_[a].start_ns < spans_[b].start_ns : a < b;
    });
    ids.resize(n);
    for (uint32_t i = 0; i < n; ++i) ids[i] = {id_key(spans_[i].span_id), i};
    std::sort(ids.begin(), ids.end());
    const auto find = [](uint64_t key) -> uint32_t {
      const auto it = std::lower_bound(ids.begin(), ids.end(), std::make_pair(key, uint32_t{0}));
      return it != ids.end() && it->first == key ? it->second : kNone;
    };
    first_child_.assign(n, kNone);
    next_sibling_.assign(n, kNone);
    printed_.assign(n, false);
    last_child.assign(n, kNone);
    groups.clear();
    for (const uint32_t i : by_start) {
      const HeldSpan& span = spans_[i];
      start_ = std::min(start_, span.start_ns);
      end_ = std::max(end_, span.end_ns);
      const uint32_t parent = span.has_parent() ? find(id_key(span.parent_id)) : kNone;
      if (parent != kNone && parent != i) {
        (last_child[parent] == kNone ? first_child_[parent] : next_sibling_[last_child[parent]]) = i;
        last_child[parent] = i;
      } else if (!span.has_parent() || span.parent_remote) {
        tops_.push_back({span.start_ns, i, kNone, {}, 0});
        if (root_ == kNone) root_ = i;
      } else {
        const uint64_t key = id_key(span.parent_id);
        auto group = std::find_if(groups.begin(), groups.end(), [key](const auto& g) { return g.first == key; });
        if (group == groups.end()) {
          groups.emplace_back(key, tops_.size());
          tops_.push_back({span.start_ns, kNone, i, span.parent_id, 1});
          last_child.push_back(i);  // the group's tail, at index n + group number
        } else {
          TopLevel& top = tops_[group->second];
          const size_t tail = n + static_cast<size_t>(group - groups.begin());
          next_sibling_[last_child[tail]] = i;
          last_child[tail] = i;
          ++top.orphan_count;
        }
      }
    }
    // Spans arrived in start order above, so tops_ is already sorted.
    if (root_ == kNone && n != 0) root_ = by_start.front();
  }

  void color(const char* code) {
    if (style_.color) out_ += code;
  }

  void header() {
    color(kBold);
    out_ += "trace ";
    append_hex(out_, trace_.trace_id);
    color(kReset);
    if (!style_.service_name.empty()) {
      out_ += "  ";
      append_terminal_safe(out_, style_.service_name, 64);
    }
    if (root_ != kNone) {
      out_ += "  ";
      out_ += trace_.name(spans_[root_]);
    }
    out_ += "  ";
    append_count(out_, spans_.size(), "span");
    out_ += "  ";
    append_duration_ns(out_, end_ - start_);
    const size_t mark_at = out_.size();
    header_mark();
    if (out_.size() != mark_at && style_.color) {
      out_.insert(mark_at, kYellow);
      out_ += kReset;
    }
    out_ += '\n';
  }

  void header_mark() {
    const uint32_t open = trace_.missing;
    const auto still_open = [&] { append_count(out_, open, "span"); out_ += " still open"; };
    switch (trace_.reason) {
      case PrintReason::kComplete:
        if (trace_.continued) out_ += "  (continued)";
        return;
      case PrintReason::kSettled:
        out_ += "  (";
        still_open();
        out_ += " after the settle time)";
        return;
      case PrintReason::kRootMissing:
        out_ += trace_.continued ? "  (continued: spans that ended after the trace was printed)"
                                 : "  (root not ended within the hold time)";
        return;
      case PrintReason::kEarly: out_ += "  (printed early: the tree view's limits were reached)"; return;
      case PrintReason::kAtExit:
        if (!trace_.has_root) {
          out_ += "  (incomplete at exit: root not ended)";
          return;
        }
        out_ += "  (incomplete at exit";
        if (open != 0) {
          out_ += ": ";
          still_open();
        }
        out_ += ')';
        return;
    }
  }

  // "+offset duration ▕bar▏ " for a span, or blank columns.
  void columns(const HeldSpan* span) {
    const int width = std::max(style_.bar_width, 4);
    if (span == nullptr) {
      out_.append(20, ' ');
      out_ += "▕";
      out_.append(static_cast<size_t>(width), ' ');
      out_ += "▏ ";
      return;
    }
    text_.assign("+");
    append_duration_ns(text_, span->start_ns - start_);
    append_right(out_, text_, 10);
    out_ += ' ';
    text_.clear();
    append_duration_ns(text_, span->end_ns - span->start_ns);
    append_right(out_, text_, 8);
    out_ += ' ';
    const double total = static_cast<double>(std::max<uint64_t>(end_ - start_, 1));
    const int first = std::min(width - 1, static_cast<int>(static_cast<double>(span->start_ns - start_) / total * width));
    int eighths = static_cast<int>(static_cast<double>(span->end_ns - span->start_ns) / total * width * 8 + 0.5);
    eighths = std::clamp(eighths, 1, (width - first) * 8);
    out_ += "▕";
    out_.append(static_cast<size_t>(first), ' ');
    color(span->status == StatusCode::kError ? kRed : kCyan);
    static const std::string kBlocks = [] {
      std::string blocks;
      for (int i = 0; i < 256; ++i) blocks += "█";
      return blocks;
    }();
    out_.append(kBlocks, 0, std::min<size_t>(static_cast<size_t>(eighths / 8), 256) * 3);
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

  void span_line(uint32_t i, size_t depth, bool last) {
    const HeldSpan& span = spans_[i];
    columns(&span);
    indent(depth, last);
    out_ += trace_.name(span);
    out_ += " [";
    out_ += kind_name(span.kind);
    out_ += ']';
    if (span.status == StatusCode::kError) {
      out_ += ' ';
      color(kRed);
      out_ += "error";
      if (span.status_size != 0) {
        out_ += " (";
        out_ += trace_.status_message(span);
        out_ += ')';
      }
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
    if (span.attributes_size != 0) {
      out_ += ' ';
      color(kDim);
      out_ += trace_.attributes(span);
      color(kReset);
    }
    out_ += '\n';
    ++lines_;
  }

  void print_subtree(uint32_t i, size_t depth, bool last) {
    // Iterative: a trace may nest thousands of levels deep.
    stack_.assign(1, {i, depth, last, 0});
    while (!stack_.empty()) {
      const Frame frame = stack_.back();
      stack_.pop_back();
      if (frame.span == kNone) {
        open_note(frame.open, frame.depth);
        continue;
      }
      if (printed_[frame.span]) continue;
      printed_[frame.span] = true;
      if (guides_.size() <= frame.depth) guides_.resize(frame.depth + 1, false);
      span_line(frame.span, frame.depth, frame.last);
      guides_[frame.depth] = !frame.last;
      const uint16_t open = spans_[frame.span].missing_children;
      if (open > 0) stack_.push_back({kNone, frame.depth + 1, true, open});  // printed after the children
      // Children pushed last-first, so the first pops first.
      const size_t mark = stack_.size();
      for (uint32_t c = first_child_[frame.span]; c != kNone; c = next_sibling_[c]) {
        stack_.push_back({c, frame.depth + 1, open == 0 && next_sibling_[c] == kNone, 0});
      }
      std::reverse(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    }
  }

  void open_note(uint16_t count, size_t depth) {
    columns(nullptr);
    indent(depth, true);
    color(kYellow);
    out_ += "… ";
    append_count(out_, count, "child span");
    out_ += " still open";
    color(kReset);
    out_ += '\n';
  }

  void placeholder(const SpanId& parent, size_t count) {
    columns(nullptr);
    color(kYellow);
    out_ += "? parent ";
    append_hex(out_, parent);
    out_ += " not seen (";
    append_count(out_, count, "span");
    out_ += ')';
    color(kReset);
    out_ += '\n';
    if (guides_.size() < 2) guides_.resize(2, false);
  }

  const HeldTrace& trace_;
  const std::vector<HeldSpan>& spans_;
  const TreeStyle& style_;
  std::string& out_;
  std::vector<uint32_t>& first_child_;
  std::vector<uint32_t>& next_sibling_;
  std::vector<bool>& printed_;
  std::vector<TopLevel>& tops_;
  std::vector<bool>& guides_;
  std::vector<Frame>& stack_;
  std::string& text_;
  uint32_t root_ = kNone;
  uint64_t start_ = UINT64_MAX;
  uint64_t end_ = 0;
  size_t lines_ = 0;
};

}  // namespace

size_t format_trace_tree(const HeldTrace& trace, const TreeStyle& style, std::string& out) {
  if (trace.spans.empty()) return 0;
  thread_local Scratch scratch;
  return TreePrinter(trace, style, out, scratch).print();
}

}  // namespace bto
