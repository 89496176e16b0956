#include "parse_floor.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "bare_parse.h"

namespace bto::bench {
namespace {

namespace od = simdjson::ondemand;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class Floor {
 public:
  Floor() : scratch_(std::make_unique<char[]>(kScratch + simdjson::SIMDJSON_PADDING)) {}

  // One line: the outer record, then (printf) each line of its unescaped data.
  void line(const char* data, size_t size, size_t capacity, FloorResult& r) {
    ++r.lines;
    od::document doc;
    if (outer_.iterate(data, size, capacity).get(doc)) return;
    od::object object;
    if (doc.get_object().get(object)) return;  // not an object: tried, count as touched
    std::string_view type;
    bool is_printf = false;
    for (auto member : object) {
      od::field field;
      if (std::move(member).get(field)) return;
      std::string_view key;
      if (field.unescaped_key().get(key)) return;
      r.checksum += key.size();
      if (key == "type") {
        if (!field.value().get_string().get(type)) {
          r.checksum += type.size();
          is_printf = type == "printf";
        }
      } else if (key == "data" && is_printf) {
        std::string_view text;
        if (field.value().get_string().get(text)) return;
        inner(text, r);
      } else {
        r.checksum += touch(field.value());
      }
    }
    ++r.documents;
  }

 private:
  static constexpr size_t kScratch = 1 << 20;

  void inner(std::string_view text, FloorResult& r) {
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      const std::string_view one = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (one.empty() || one.size() > kScratch) continue;
      std::memcpy(scratch_.get(), one.data(), one.size());
      if (parse_and_touch(inner_, scratch_.get(), one.size(), kScratch + simdjson::SIMDJSON_PADDING, r.checksum)) {
        ++r.documents;
      }
    }
  }

  od::parser outer_;
  od::parser inner_;
  std::unique_ptr<char[]> scratch_;
};

}  // namespace

bool measure_floor(const std::string& path, int repeats, FloorResult& best) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  ::fstat(fd, &st);
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return false;
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return false;
  const char* base = static_cast<const char*>(map);
  // Lines near the end lack readable padding after them: copy those.
  auto tail = std::make_unique<char[]>(64 * 1024 + simdjson::SIMDJSON_PADDING);
  Floor floor;
  best = FloorResult{};
  best.cpu_seconds = 1e300;
  for (int rep = 0; rep < repeats; ++rep) {
    FloorResult r;
    const double t0 = thread_cpu_seconds();
    size_t pos = 0;
    while (pos < size) {
      const char* nl = static_cast<const char*>(std::memchr(base + pos, '\n', size - pos));
      const size_t end = nl ? static_cast<size_t>(nl - base) : size;
      const size_t len = end - pos;
      if (len > 0) {
        if (size - end > simdjson::SIMDJSON_PADDING) {
          floor.line(base + pos, len, len + simdjson::SIMDJSON_PADDING, r);
        } else if (len <= 64 * 1024) {
          std::memcpy(tail.get(), base + pos, len);
          floor.line(tail.get(), len, len + simdjson::SIMDJSON_PADDING, r);
        }
      }
      pos = end + 1;
    }
    r.cpu_seconds = thread_cpu_seconds() - t0;
    if (r.cpu_seconds < best.cpu_seconds) best = r;
  }
  // The On-Demand code inlined here (builtin_implementation() would name the library's).
#define BTO_STRINGIFY2(x) #x
#define BTO_STRINGIFY(x) BTO_STRINGIFY2(x)
  best.implementation = BTO_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
  ::munmap(map, size);
  return true;
}

}  // namespace bto::bench
