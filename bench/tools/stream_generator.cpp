#include "stream_generator.h"

#include <array>
#include <chrono>
#include <thread>
#include <string_view>
#include <vector>

namespace bto::bench {
namespace {

// xorshift64*: fast, deterministic, good enough for picking shapes and slots.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed == 0 ? 0x9E3779B97F4A7C15ull : seed) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  double unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

enum class Family { kHttp, kDial, kTls, kJob };

struct OpenSpan {
  Family family;
  uint64_t id;
  uint64_t parent;  // 0 = root
  uint32_t tid;
  uint32_t pid = 0;
  std::vector<uint32_t> children;  // slots of open children (HTTP parents only)
  uint32_t parent_slot = 0;
};

// One event: name plus (key, value) pairs, values pre-rendered as JSON.
struct Field {
  std::string_view key;
  std::string value;  // JSON text: a number or a quoted string
  bool is_string;
};

class Writer {
 public:
  Writer(const StreamOptions& options, std::FILE* out, StreamCounts& counts)
      : options_(options), out_(out), counts_(counts), rng_(options.seed) {}

  bool run();

 private:
  void emit(std::string_view name, const std::vector<Field>& fields);
  void emit_garbage();
  void write_line(const std::string& line) {
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size()) ok_ = false;
    counts_.lines++;
    counts_.bytes += line.size();
    if (options_.rate > 0 && counts_.lines % 64 == 0) pace();
  }
  // --rate: the lines written so far are due at start + lines / rate; a
  // reader that falls behind is not caught up with bursts beyond one second.
  void pace() {
    const auto now = std::chrono::steady_clock::now();
    if (counts_.lines == 64) paced_start_ = now;
    const auto due = paced_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(static_cast<double>(counts_.lines) / options_.rate));
    if (due > now) {
      if (std::fflush(out_) != 0) ok_ = false;  // the reader went away (EPIPE): stop
      std::this_thread::sleep_until(due);
    } else if (now - due > std::chrono::seconds(1)) {
      paced_start_ += now - due - std::chrono::seconds(1);
    }
  }
  std::chrono::steady_clock::time_point paced_start_{};
  Shape pick_shape() {
    if (options_.shape != Shape::kMix) return options_.shape;
    const uint64_t r = rng_.below(10);  // tuples dominate real streams
    return r < 6 ? Shape::kTuple : (r < 9 ? Shape::kPrintf : Shape::kRaw);
  }
  std::string sized(std::string base) {
    if (options_.attr_bytes == 0) return base;
    if (base.size() > options_.attr_bytes) base.resize(options_.attr_bytes);
    while (base.size() < options_.attr_bytes) base.push_back(static_cast<char>('a' + base.size() % 26));
    return base;
  }
  static std::string quote(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q.push_back('"');
    q.append(s);
    q.push_back('"');
    return q;
  }
  static Field num(std::string_view key, uint64_t v) { return {key, std::to_string(v), false}; }
  static Field str(std::string_view key, std::string_view v) { return {key, quote(v), true}; }

  void start_span();
  void end_span(uint32_t slot);
  void free_slot(uint32_t slot);
  uint32_t new_slot();
  uint64_t tick() { return now_ += 1 + rng_.below(40000); }

  const StreamOptions& options_;
  std::FILE* out_;
  StreamCounts& counts_;
  Rng rng_;
  bool ok_ = true;
  uint64_t now_ = 1'386'457'858'944;  // CLOCK_MONOTONIC ns, as bpftrace's nsecs
  uint64_t next_http_id_ = 1;
  std::vector<OpenSpan> slots_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> open_;      // slots of open spans, any order
  std::vector<uint32_t> open_pos_;  // slot -> index in open_
  std::vector<uint32_t> http_open_;  // slots of open HTTP spans (may hold closed ones lazily: checked)
  std::string line_;
  uint32_t current_pid_ = 0;  // of the span whose event is being written
};

uint32_t Writer::new_slot() {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    open_pos_.push_back(0);
  }
  open_pos_[slot] = static_cast<uint32_t>(open_.size());
  open_.push_back(slot);
  return slot;
}

void Writer::free_slot(uint32_t slot) {
  const uint32_t pos = open_pos_[slot];
  const uint32_t last = open_.back();
  open_[pos] = last;
  open_pos_[last] = pos;
  open_.pop_back();
  slots_[slot].children.clear();
  slots_[slot].id = 0;
  free_.push_back(slot);
}

void Writer::start_span() {
  const uint64_t ts = tick();
  // A child needs an open HTTP parent; pick one at random among the open spans.
  uint32_t parent_slot = UINT32_MAX;
  if (!open_.empty() && rng_.unit() < options_.nesting) {
    for (int tries = 0; tries < 4; ++tries) {
      const uint32_t candidate = open_[rng_.below(open_.size())];
      if (slots_[candidate].family == Family::kHttp) {
        parent_slot = candidate;
        break;
      }
    }
  }
  const uint32_t slot = new_slot();
  OpenSpan& span = slots_[slot];
  span.children.clear();
  if (parent_slot == UINT32_MAX) {
    span.family = Family::kHttp;
    span.id = next_http_id_++;
    span.parent = 0;
    span.tid = 22400 + static_cast<uint32_t>(rng_.below(64));
    span.pid = options_.pids == 0 ? 0 : 31000 + static_cast<uint32_t>(rng_.below(options_.pids));
    current_pid_ = span.pid;
    static constexpr std::array<std::string_view, 6> kUris = {"/api/users", "/api/orders", "/api/slow",
                                                              "/api/error", "/api/items/", "/api/nope"};
    static constexpr std::array<std::string_view, 2> kMethods = {"GET", "POST"};
    std::string uri(kUris[rng_.below(kUris.size())]);
    if (uri.back() == '/') uri += std::to_string(span.id);
    char traceparent[64];
    std::snprintf(traceparent, sizeof traceparent, "00-%016llx%016llx-%016llx-01",
                  static_cast<unsigned long long>(rng_.next()), static_cast<unsigned long long>(rng_.next()),
                  static_cast<unsigned long long>(rng_.next() | 1));
    emit("http_request_start", {num("request_id", span.id), str("method", kMethods[rng_.below(2)]),
                                str("uri", sized(uri)), str("traceparent", traceparent), num("timestamp", ts),
                                num("tid", span.tid)});
    return;
  }
  OpenSpan& parent = slots_[parent_slot];
  span.parent = parent.id;
  span.parent_slot = parent_slot;
  span.tid = parent.tid;
  span.pid = parent.pid;
  current_pid_ = span.pid;
  parent.children.push_back(slot);
  switch (rng_.below(3)) {
    case 0:
      span.family = Family::kDial;
      span.id = ts;
      emit("net_dial_start", {num("request_id", ts), num("parent_id", parent.id), str("peer", "127.0.0.1"),
                              num("port", 45123), num("timestamp", ts), num("tid", span.tid)});
      break;
    case 1:
      span.family = Family::kTls;
      span.id = ts;
      emit("tls_handshake_start", {num("request_id", ts), num("parent_id", parent.id),
                                   str("server_name", sized("payments.local")), num("timestamp", ts),
                                   num("tid", span.tid)});
      break;
    default:
      span.family = Family::kJob;
      span.id = 1'000'000'000'000ull + next_http_id_++;  // job ids share the server's counter
      emit("request_start", {num("request_id", span.id), num("parent_id", parent.id),
                             str("name", sized("charge-order")), num("timestamp", ts), num("tid", span.tid)});
      break;
  }
}

void Writer::end_span(uint32_t slot) {
  // Children end before their parent, as in the demo server.
  while (!slots_[slot].children.empty()) {
    const uint32_t child = slots_[slot].children.back();
    slots_[slot].children.pop_back();
    slots_[child].parent_slot = UINT32_MAX;  // detached: don't touch the parent's list again
    end_span(child);
  }
  OpenSpan& span = slots_[slot];
  if (span.parent != 0 && span.parent_slot != UINT32_MAX) {
    auto& siblings = slots_[span.parent_slot].children;
    for (size_t i = 0; i < siblings.size(); ++i) {
      if (siblings[i] == slot) {
        siblings[i] = siblings.back();
        siblings.pop_back();
        break;
      }
    }
  }
  const uint64_t ts = tick();
  current_pid_ = span.pid;
  switch (span.family) {
    case Family::kHttp: {
      static constexpr std::array<uint64_t, 5> kCodes = {200, 200, 201, 404, 500};
      emit("http_request_end", {num("request_id", span.id), num("status_code", kCodes[rng_.below(kCodes.size())]),
                                num("timestamp", ts), num("tid", span.tid)});
      break;
    }
    case Family::kDial:
      emit("net_dial_end", {num("request_id", span.id), num("errno", rng_.below(50) == 0 ? 111 : 0),
                            num("timestamp", ts), num("tid", span.tid)});
      break;
    case Family::kTls:
      emit("tls_handshake_end", {num("request_id", span.id), str("version", "TLSv1.3"), num("result", 1),
                                 num("timestamp", ts), num("tid", span.tid)});
      break;
    case Family::kJob:
      emit("request_end", {num("request_id", span.id), num("status_code", 0), num("timestamp", ts),
                           num("tid", span.tid)});
      break;
  }
  counts_.spans++;
  free_slot(slot);
}

void Writer::emit(std::string_view name, const std::vector<Field>& given) {
  std::vector<Field> with_pid;
  if (options_.pids != 0) {
    with_pid = given;
    with_pid.push_back(num("pid", current_pid_));
  }
  const std::vector<Field>& fields = options_.pids != 0 ? with_pid : given;
  if (options_.garbage_pct > 0 && rng_.unit() * 100.0 < options_.garbage_pct) emit_garbage();
  line_.clear();
  switch (pick_shape()) {
    case Shape::kTuple:
    case Shape::kMix:
      line_ += R"({"type": "value", "data": [")";
      line_ += name;
      line_ += '"';
      for (const Field& f : fields) {
        line_ += ",\"";
        line_ += f.key;
        line_ += "\",";
        line_ += f.value;
      }
      line_ += "]}\n";
      break;
    case Shape::kPrintf:
      // bpftrace escapes the printed text as a JSON string: quotes become \".
      line_ += R"({"type": "printf", "data": "{\"event\":\")";
      line_ += name;
      line_ += "\\\"";
      for (const Field& f : fields) {
        line_ += ",\\\"";
        line_ += f.key;
        line_ += "\\\":";
        if (f.is_string) {
          line_ += "\\\"";
          line_.append(f.value, 1, f.value.size() - 2);
          line_ += "\\\"";
        } else {
          line_ += f.value;
        }
      }
      line_ += "}\\n\"}\n";
      break;
    case Shape::kRaw:
      line_ += R"({"event":")";
      line_ += name;
      line_ += '"';
      for (const Field& f : fields) {
        line_ += ",\"";
        line_ += f.key;
        line_ += "\":";
        line_ += f.value;
      }
      line_ += "}\n";
      break;
  }
  write_line(line_);
  counts_.events++;
}

void Writer::emit_garbage() {
  static constexpr std::array<std::string_view, 10> kGarbage = {
      // truncated tuple (a partial write)
      R"({"type": "value", "data": ["http_request_start","request_id",77,"method","GE)",
      // printf whose %s held a quote: invalid inner JSON
      R"({"type": "printf", "data": "{\"event\":\"http_request_start\",\"uri\":\"/a\"b\"}\n"})",
      // printf debug text, not JSON
      R"({"type": "printf", "data": "starting worker 3\n"})",
      // plain text (bpftrace warning on stdout)
      "WARNING: could not resolve symbol",
      // event is not a string
      R"({"event":42,"request_id":1})",
      // no event
      R"({"request_id":5,"status_code":200})",
      // top-level array
      R"([1,2,3])",
      // tuple not starting with a name
      R"({"type": "value", "data": [42,"request_id",1]})",
      // invalid UTF-8 inside a string (decoded with U+FFFD, still an event)
      "{\"type\": \"value\", \"data\": [\"cache_miss\",\"key\",\"\xff\xfe\x41\",\"tid\",1]}",
      // trailing text after the document
      R"({"event":"cache_miss","key":"a"} trailing)"};
  line_.clear();
  line_ += kGarbage[rng_.below(kGarbage.size())];
  line_ += '\n';
  write_line(line_);
  counts_.garbage++;
}

bool Writer::run() {
  write_line("{\"type\": \"attached_probes\", \"data\": {\"probes\": 10}}\n");
  const uint64_t target_open = options_.open == 0 ? 1 : options_.open;
  slots_.reserve(target_open + 16);
  // Each span is two events; stop starting spans once the open ones use up the rest.
  while (counts_.events < options_.events && ok_) {
    const uint64_t remaining = options_.events - counts_.events;
    const bool must_close = open_.size() * 2 >= remaining || open_.size() >= target_open;
    if (!must_close && (open_.size() < target_open)) {
      // Ramp up quickly, then keep the window full: start when below target.
      start_span();
      continue;
    }
    if (open_.empty()) break;
    // Close a random open span (server concurrency: any request may finish next).
    end_span(open_[rng_.below(open_.size())]);
  }
  while (!open_.empty()) end_span(open_.back());
  std::fflush(out_);
  return ok_ && !std::ferror(out_);
}

}  // namespace

bool parse_shape(const std::string& text, Shape& shape) {
  if (text == "tuple") shape = Shape::kTuple;
  else if (text == "printf") shape = Shape::kPrintf;
  else if (text == "raw") shape = Shape::kRaw;
  else if (text == "mix") shape = Shape::kMix;
  else return false;
  return true;
}

bool generate_stream(const StreamOptions& options, std::FILE* out, StreamCounts& counts) {
  Writer writer(options, out, counts);
  return writer.run();
}

}  // namespace bto::bench
