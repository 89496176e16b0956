// A spool segment as a crash, a failing disk or someone else left it: the
// input is the file (the first byte picks whether a valid segment header is
// put in front, so both the header check and the records get explored).
// Opening the spool and draining it must never crash and must hand out only
// records whose checksums hold; every byte of the file is either a record
// handed out, a record already settled, or counted as damaged; a drained
// spool leaves no segment behind. Invariant failures abort (fuzz_support.h).

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "export/spool.h"
#include "export/spool_format.h"
#include "fuzz_support.h"

namespace {

// In memory (/dev/shm) where there is one: the target is file I/O bound.
const std::string& spool_dir() {
  static const std::string dir = [] {
    std::string pattern = std::filesystem::is_directory("/dev/shm") ? "/dev/shm/bto-fuzz-spool.XXXXXX"
                                                                     : "/tmp/bto-fuzz-spool.XXXXXX";
    const char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) std::abort();
    return std::string(made);
  }();
  static const bool cleaned_at_exit = std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(spool_dir(), ignored);
  }) == 0;
  (void)cleaned_at_exit;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bto;
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  if (size == 0) return 0;
  const std::string& dir = spool_dir();
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ignored)) {
    if (entry.path().filename() != "lock") std::filesystem::remove(entry.path(), ignored);
  }
  std::string file;
  if (data[0] & 1) {
    char head[kSpoolSegmentHeaderBytes];
    spool_format::write_segment_header(head);
    file.assign(head, sizeof head);
  }
  file.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::ofstream(dir + "/segment-00000000000000000001.spool", std::ios::binary) << file;

  SpoolStats stats;
  SpoolOptions options;
  options.dir = dir;
  options.max_bytes = 1 << 30;
  {
    auto spool = open_spool(options, stats);
    SpooledRequest request;
    uint64_t handed_out_bytes = 0;
    int claims = 0;
    while (spool->claim(request)) {
      BTO_FUZZ_CHECK(++claims <= static_cast<int>(file.size() / kSpoolRecordHeaderBytes));
      BTO_FUZZ_CHECK(request.offset >= kSpoolSegmentHeaderBytes);
      BTO_FUZZ_CHECK(request.offset + kSpoolRecordHeaderBytes + request.body.size() <= file.size());
      // The bytes handed out are the file's bytes at that place.
      BTO_FUZZ_CHECK(file.compare(request.offset + kSpoolRecordHeaderBytes, request.body.size(), request.body) == 0);
      handed_out_bytes += kSpoolRecordHeaderBytes + request.body.size();
      // Alternate the two ways a claim ends, and once give one back.
      if (claims == 2) {
        spool->give_back(request);
        BTO_FUZZ_CHECK(spool->claim(request));
        BTO_FUZZ_CHECK(file.compare(request.offset + kSpoolRecordHeaderBytes, request.body.size(), request.body) == 0);
      }
      spool->settle(request, claims % 2 == 0);
    }
    BTO_FUZZ_CHECK(!spool->has_pending());
    BTO_FUZZ_CHECK(handed_out_bytes + stats.corrupt_bytes <= file.size());
    BTO_FUZZ_CHECK(stats.bytes == 0);  // drained: nothing left on disk
    // A second look finds nothing either.
    BTO_FUZZ_CHECK(!spool->claim(request));
    // And the spool still takes new requests.
    BTO_FUZZ_CHECK(spool->append(RequestEncoding::kProtobuf, 1, "x"));
    BTO_FUZZ_CHECK(spool->claim(request) && request.body == "x");
    spool->settle(request, true);
  }
  return 0;
}
