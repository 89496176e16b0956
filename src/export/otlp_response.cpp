#include "export/otlp_response.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/log.h"
#include "export/protobuf_reader.h"

namespace bto {
namespace {

// ---- JSON: just enough to pick a few fields out of a small object ----------

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) noexcept : text_(text) {}

  void ws() noexcept {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool consume(char c) noexcept {
    ws();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() noexcept {
    ws();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  bool string(std::string& out) {
    out.clear();
    if (!consume('"')) return false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char e = text_[pos_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          if (text_.size() - pos_ < 4) return false;
          unsigned code = 0;
          for (int i = 0; i < 4; ++i) {
            const char h = text_[pos_++];
            code <<= 4;
            if (h >= '0' && h <= '9') code |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') code |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') code |= static_cast<unsigned>(h - 'A' + 10);
            else return false;
          }
          // Only for a log line: non-ASCII code points become '?'.
          out.push_back(code < 0x80 ? static_cast<char>(code) : '?');
          break;
        }
        default: out.push_back(e);
      }
    }
    return false;
  }

  // Skips any value, bounded nesting.
  bool skip_value(int depth = 0) {
    if (depth > 32) return false;
    const char c = peek();
    std::string scratch;
    if (c == '"') return string(scratch);
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      if (consume(close)) return true;
      do {
        if (c == '{') {
          if (!string(scratch) || !consume(':')) return false;
        }
        if (!skip_value(depth + 1)) return false;
      } while (consume(','));
      return consume(close);
    }
    // number, true, false, null
    const size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '-' || text_[pos_] == '+' || text_[pos_] == '.')) {
      ++pos_;
    }
    return pos_ > start;
  }

  // A number or a string holding one.
  bool integer(int64_t& out) {
    std::string digits;
    if (peek() == '"') {
      if (!string(digits)) return false;
    } else {
      while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '-')) {
        digits.push_back(text_[pos_++]);
      }
    }
    if (digits.empty() || digits.size() > 19) return false;
    int64_t v = 0;
    bool negative = false;
    size_t i = 0;
    if (digits[0] == '-') {
      negative = true;
      i = 1;
    }
    if (i == digits.size()) return false;
    for (; i < digits.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(digits[i]))) return false;
      const int digit = digits[i] - '0';
      if (v > (INT64_MAX - digit) / 10) return false;  // does not fit in int64
      v = v * 10 + digit;
    }
    out = negative ? -v : v;
    return true;
  }

  // Calls on_member(key) for each member of an object; on_member consumes the value.
  template <typename F>
  bool object(F&& on_member) {
    if (!consume('{')) return false;
    if (consume('}')) return true;
    std::string key;
    do {
      if (!string(key) || !consume(':')) return false;
      if (!on_member(key)) return false;
    } while (consume(','));
    return consume('}');
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

bool parse_partial_success_protobuf(std::string_view body, PartialSuccess& out) noexcept {
  out = PartialSuccess{};
  ProtobufReader response(body);
  while (!response.done()) {
    uint32_t number, wire;
    uint64_t value = 0;
    std::string_view bytes;
    if (!response.field(number, wire, value, bytes)) {
      out = PartialSuccess{};  // the contract: nothing half-parsed on failure
      return false;
    }
    if (number != 1 || wire != 2) continue;
    ProtobufReader partial(bytes);
    while (!partial.done()) {
      std::string_view inner;
      if (!partial.field(number, wire, value, inner)) {
        out = PartialSuccess{};
        return false;
      }
      if (number == 1 && wire == 0) {
        // int64 on the wire; a hostile varint above INT64_MAX must not turn negative.
        out.rejected_spans = static_cast<int64_t>(std::min<uint64_t>(value, INT64_MAX));
      }
      if (number == 2 && wire == 2) {
        try {
          out.error_message.assign(inner);
        } catch (...) {
          return false;
        }
      }
    }
  }
  return true;
}

bool parse_partial_success_json(std::string_view body, PartialSuccess& out) noexcept {
  out = PartialSuccess{};
  try {
    JsonReader reader(body);
    if (reader.peek() == '\0') return true;  // an empty body is a full success
    const bool ok = reader.object([&](const std::string& key) {
      if (key != "partialSuccess" && key != "partial_success") return reader.skip_value();
      if (reader.peek() == 'n') return reader.skip_value();  // null
      return reader.object([&](const std::string& inner) {
        if (inner == "rejectedSpans" || inner == "rejected_spans") return reader.integer(out.rejected_spans);
        if (inner == "errorMessage" || inner == "error_message") return reader.string(out.error_message);
        return reader.skip_value();
      });
    });
    if (!ok) out = PartialSuccess{};
    return ok;
  } catch (...) {
    out = PartialSuccess{};
    return false;
  }
}

std::string error_message_from_body(std::string_view body, std::string_view content_type) {
  constexpr size_t kMaxShown = 256;
  if (body.empty()) return {};
  if (content_type.find("protobuf") != std::string_view::npos) {
    ProtobufReader status(body);
    while (!status.done()) {
      uint32_t number, wire;
      uint64_t value = 0;
      std::string_view bytes;
      if (!status.field(number, wire, value, bytes)) break;
      if (number == 2 && wire == 2) return '"' + quote_bytes(bytes, kMaxShown) + '"';
    }
    return "(unparsable protobuf status, " + std::to_string(body.size()) + " bytes)";
  }
  if (content_type.find("json") != std::string_view::npos) {
    JsonReader reader(body);
    std::string message;
    reader.object([&](const std::string& key) {
      if (key == "message") return reader.string(message);
      return reader.skip_value();
    });
    if (!message.empty()) return '"' + quote_bytes(message, kMaxShown) + '"';
  }
  return '"' + quote_bytes(body, kMaxShown) + '"';
}

}  // namespace bto
