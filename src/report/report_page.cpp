#include "report/report_page.h"

#include <fmt/format.h>

#include <libdeflate.h>

#include <memory>

#include "common/json_writer.h"
#include "report/report_assets.h"

namespace bto::report {
namespace {

constexpr char kHex[] = "0123456789abcdef";

template <size_t N>
std::string hex(const std::array<uint8_t, N>& bytes) {
  std::string out;
  out.reserve(2 * N);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Comma-separated numbers, flat: the page reads them by stride.
class Numbers {
 public:
  explicit Numbers(std::string& out) : out_(out) {}
  void add(uint64_t value) {
    if (!first_) out_.push_back(',');
    first_ = false;
    append_json_uint(out_, value);
  }
  void add_signed(int64_t value) {
    if (!first_) out_.push_back(',');
    first_ = false;
    append_json_int(out_, value);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// The page's data, in the columns report.js reads (its header comment): two
// JSON documents, one per line: what the lists need, then the details.
void write_data(const Model& model, const PageOptions& options, std::string& out) {
  std::string traces, rows, attrs, events, event_attrs, trace_ids, span_ids;
  Numbers trace_numbers(traces), row_numbers(rows), attr_numbers(attrs), event_numbers(events),
      event_attr_numbers(event_attrs);
  std::vector<std::string> missing_parents;  // hex ids of parents not in the files, after the model's strings
  std::unordered_map<uint64_t, uint32_t> row_of;  // span id -> page row, within the current trace
  const uint64_t base = model.traces.empty() ? 0 : model.traces.front().start;
  const auto base_strings = static_cast<int64_t>(model.strings.strings().size());
  const auto add_attributes = [&](Numbers& numbers, uint32_t begin, uint32_t count) {
    for (uint32_t a = begin; a < begin + count; ++a) {
      numbers.add(static_cast<uint64_t>(model.attributes[a].key) * 3 + static_cast<uint64_t>(model.attributes[a].kind));
      numbers.add(model.attributes[a].value);
    }
  };
  uint32_t row_index = 0;  // the page's rows follow the traces' (time) order
  for (const Trace& trace : model.traces) {
    trace_ids += hex(trace.id);
    trace_numbers.add(row_index);
    trace_numbers.add(trace.rows);
    trace_numbers.add(model.spans[trace.root].name);
    trace_numbers.add(model.spans[trace.root].service);
    trace_numbers.add((trace.start - base) / 1000);
    trace_numbers.add(trace.end - trace.start);
    trace_numbers.add(trace.errors);
    row_of.clear();
    for (uint32_t r = trace.first_row; r < trace.first_row + trace.rows; ++r) {
      row_of[model.spans[model.rows[r].span].span_id_key()] = row_index + (r - trace.first_row);
    }
    for (uint32_t r = trace.first_row; r < trace.first_row + trace.rows; ++r, ++row_index) {
      const Row& row = model.rows[r];
      const Span& span = model.spans[row.span];
      span_ids += hex(span.span_id);
      row_numbers.add(span.name);
      row_numbers.add(span.service);
      row_numbers.add(span.kind);
      row_numbers.add(span.start - trace.start);
      row_numbers.add(span.end - span.start);
      row_numbers.add(span.status);
      row_numbers.add(span.status_message);
      row_numbers.add(row.depth);
      // Parent: -1 none, a row index, or -2 - k for the k-th string after the model's (not in the files).
      const auto parent = span.has_parent() ? row_of.find(span.parent_id_key()) : row_of.end();
      if (!span.has_parent()) {
        row_numbers.add_signed(-1);
      } else if (parent != row_of.end() && !row.parent_missing) {
        row_numbers.add(parent->second);
      } else {
        row_numbers.add_signed(-2 - (base_strings + static_cast<int64_t>(missing_parents.size())));
        missing_parents.push_back(hex(span.parent_id));
      }
      row_numbers.add(span.attributes_count);
      row_numbers.add(span.events_count);
      add_attributes(attr_numbers, span.attributes_begin, span.attributes_count);
      for (uint32_t e = span.events_begin; e < span.events_begin + span.events_count; ++e) {
        const Event& event = model.events[e];
        event_numbers.add(event.name);
        event_numbers.add(event.time_unix_ns > trace.start ? event.time_unix_ns - trace.start : 0);
        event_numbers.add(event.attributes_count);
        add_attributes(event_attr_numbers, event.attributes_begin, event.attributes_count);
      }
    }
  }
  out += "{\"version\":2,\"title\":";
  append_json_string(out, options.title);
  out += ",\"generated\":";
  append_json_string(out, options.generated);
  fmt::format_to(std::back_inserter(out), ",\"baseMs\":{}.{:06},\"duplicates\":{}", base / 1'000'000,
                 base % 1'000'000, model.duplicates);
  out += ",\"files\":[";
  for (size_t i = 0; i < model.files.size(); ++i) {
    const FileSummary& f = model.files[i];
    if (i != 0) out += ',';
    out += "{\"path\":";
    append_json_string(out, f.path);
    fmt::format_to(std::back_inserter(out), ",\"lines\":{},\"spans\":{},\"skipped\":{},\"metrics\":{}}}", f.lines,
                   f.spans, f.skipped, f.metrics_lines);
  }
  out += "],\"strings\":[";
  bool first = true;
  for (const std::string& text : model.strings.strings()) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, text);
  }
  for (const std::string& text : missing_parents) {
    out += ",\"" + text + '"';
  }
  out += "],\"traceIds\":\"" + trace_ids + "\",\"spanIds\":\"" + span_ids + "\",\"traces\":[" + traces +
         "],\"rows\":[" + rows + "]}";
  // The details (attributes, events) on a line of their own: the page parses
  // them on the first click, not while it opens. JSON has no raw newline.
  out += "\n{\"attrs\":[" + attrs + "],\"events\":[" + events + "],\"eventAttrs\":[" + event_attrs + "]}";
}

// Large data is gzipped and base64-encoded: a quarter of the bytes for the
// browser to read and tokenize; the page inflates it with DecompressionStream.
constexpr size_t kCompressAbove = 1 << 20;

std::string gzip_base64(std::string_view data) {
  std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> compressor(
      libdeflate_alloc_compressor(6), libdeflate_free_compressor);
  if (!compressor) return {};
  std::string packed(libdeflate_gzip_compress_bound(compressor.get(), data.size()), '\0');
  const size_t size = libdeflate_gzip_compress(compressor.get(), data.data(), data.size(), packed.data(), packed.size());
  if (size == 0) return {};
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const uint32_t n = static_cast<uint8_t>(packed[i]) << 16 | static_cast<uint8_t>(packed[i + 1]) << 8 |
                       static_cast<uint8_t>(packed[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < size) {
    const uint32_t n = static_cast<uint8_t>(packed[i]) << 16 | (i + 1 < size ? static_cast<uint8_t>(packed[i + 1]) << 8 : 0);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

void write_page(const Model& model, const PageOptions& options, std::string& out) {
  std::string data;
  write_data(model, options, data);
  // Inside <script>: no "</script>" may appear. '<' only occurs inside JSON
  // strings, where \u003c means the same.
  std::string safe;
  std::string encoding = "json";
  if (data.size() > kCompressAbove) {
    safe = gzip_base64(data);
    if (!safe.empty()) encoding = "gzip-base64";
  }
  if (safe.empty()) {
    safe.reserve(data.size() + data.size() / 64);
    for (char c : data) {
      if (c == '<') {
        safe += "\\u003c";
      } else {
        safe.push_back(c);
      }
    }
  }
  // One pass over the template: a marker's text is never searched again,
  // whatever the title or the data hold.
  const std::string title = html_escape(options.title);
  const std::pair<std::string_view, std::string_view> parts[] = {
      {"/*BTO_TITLE*/", title},
      {"/*BTO_STYLE*/", assets::report_css},
      {"/*BTO_SCRIPT*/", assets::report_js},
      {"/*BTO_ENCODING*/", encoding},
      {"/*BTO_DATA*/", safe},
  };
  const std::string_view page = assets::report_html;
  out.clear();
  out.reserve(page.size() + safe.size() + assets::report_js.size() + assets::report_css.size());
  size_t at = 0;
  for (;;) {
    const size_t next = page.find("/*BTO_", at);
    if (next == std::string_view::npos) break;
    out.append(page.substr(at, next - at));
    at = next;
    for (const auto& [marker, text] : parts) {
      if (page.substr(next, marker.size()) == marker) {
        out.append(text);
        at = next + marker.size();
        break;
      }
    }
    if (at == next) {  // not one of ours: keep it
      out.append("/*");
      at += 2;
    }
  }
  out.append(page.substr(at));
}

}  // namespace bto::report
