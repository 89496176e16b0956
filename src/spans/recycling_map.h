#pragma once
// Private to spans/: an unordered_map whose erased nodes are kept and reused
// by later inserts (node handles, C++17 extract/insert), so a table whose
// size hovers around a steady level stops allocating. String keys reuse the
// node's string capacity; lookups take string_view without building a key.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bto {

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class RecyclingMap {
 public:
  using Map = std::unordered_map<Key, Value, Hash, std::equal_to<>>;

  template <typename K>
  Value* find(const K& key) noexcept {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }

  // Precondition: `key` is absent.
  template <typename K>
  void insert(const K& key, Value value) {
    if (!free_.empty()) {
      typename Map::node_type node = std::move(free_.back());
      free_.pop_back();
      node.key() = key;
      node.mapped() = value;
      map_.insert(std::move(node));
      return;
    }
    map_.emplace(Key(key), value);
  }

  template <typename K>
  bool erase(const K& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return false;
    free_.push_back(map_.extract(it));
    return true;
  }

  size_t size() const noexcept { return map_.size(); }
  bool empty() const noexcept { return map_.empty(); }
  void reserve(size_t count) {
    map_.reserve(count);
    free_.reserve(count);
  }

 private:
  Map map_;
  std::vector<typename Map::node_type> free_;
};

}  // namespace bto
