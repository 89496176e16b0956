#pragma once
// The OTLP resource a span belongs to: which process produced it. Without
// --pid every traced process has its own (process.*, container and pod,
// its own service name), built once by src/resource/ and shared by all spans
// of that process; the encoders group a batch by it (one ResourceSpans each).
//
// A Resource is immutable once handed out. It is reference counted because
// the process may exit, and its cache entry go, while spans of it still wait
// in the export queue and its metrics wait for their last export: the last
// reference frees it, on whichever thread drops it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spans/attributes.h"

namespace bto {

// A string[] attribute (process.command_args). Only resources have them.
struct StringArrayAttribute {
  std::string key;
  std::vector<std::string> values;
};

class Resource {
 public:
  AttributeList attributes;                  // every attribute but the arrays
  std::vector<StringArrayAttribute> arrays;  // encoded after `attributes`
  int64_t pid = 0;                           // the process described; 0: none

  // References held right now (the cache's, spans', metrics'); exact only
  // while no other thread copies or drops one.
  uint32_t use_count() const noexcept { return refs_.load(std::memory_order_acquire); }

 private:
  friend class ResourceRef;
  mutable std::atomic<uint32_t> refs_{0};
};

// An owning pointer to a shared, immutable Resource (intrusive count: one
// word in every SpanRecord, one atomic increment per span).
class ResourceRef {
 public:
  ResourceRef() noexcept = default;
  explicit ResourceRef(std::unique_ptr<Resource> resource) noexcept : p_(resource.release()) { acquire(); }
  ResourceRef(const ResourceRef& other) noexcept : p_(other.p_) { acquire(); }
  ResourceRef(ResourceRef&& other) noexcept : p_(other.p_) { other.p_ = nullptr; }
  ResourceRef& operator=(const ResourceRef& other) noexcept {
    if (p_ != other.p_) {
      other.acquire();
      release();
      p_ = other.p_;
    }
    return *this;
  }
  ResourceRef& operator=(ResourceRef&& other) noexcept {
    if (this != &other) {
      release();
      p_ = other.p_;
      other.p_ = nullptr;
    }
    return *this;
  }
  ~ResourceRef() { release(); }

  void reset() noexcept {
    release();
    p_ = nullptr;
  }
  // For a holder that keeps it in a tagged word (OpenSpan's OpenRecord): the
  // reference leaves this object without being dropped, and comes back.
  Resource* release_raw() noexcept {
    Resource* const p = p_;
    p_ = nullptr;
    return p;
  }
  static ResourceRef adopt_raw(Resource* p) noexcept {
    ResourceRef ref;
    ref.p_ = p;
    return ref;
  }

  const Resource* get() const noexcept { return p_; }
  const Resource* operator->() const noexcept { return p_; }
  const Resource& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  friend bool operator==(const ResourceRef& a, const ResourceRef& b) noexcept { return a.p_ == b.p_; }

 private:
  void acquire() const noexcept {
    if (p_ != nullptr) p_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    if (p_ != nullptr && p_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p_;
  }

  Resource* p_ = nullptr;
};

// Where the correlator gets a span's resource (implemented by src/resource/).
class ResourceResolver {
 public:
  virtual ~ResourceResolver() = default;
  // The resource of the process `pid` (an event's `pid` field; 0 when the
  // event has none). Reader thread, once per span: a hash hit once the
  // process has been seen. An empty reference means the exporter's own
  // resource (ResourceInfo). The returned reference is valid until the next
  // call; copy it.
  virtual const ResourceRef& resource_of(int64_t pid) = 0;
};

}  // namespace bto
