#include "spans/route_normalizer.h"

#include <gtest/gtest.h>

#include <string>

namespace bto {
namespace {

struct Case {
  const char* uri;
  const char* route;
};

// The documented rules (src/spans/route_normalizer.h, docs/metrics.md), one row each.
constexpr Case kCases[] = {
    {"/", "/"},
    {"", "/"},
    {"/users", "/users"},
    {"/users/", "/users/"},
    {"/users/123", "/users/{id}"},
    {"/users/123/orders/456?x=1#frag", "/users/{id}/orders/{id}"},
    {"/users/0", "/users/{id}"},
    {"/items/123e4567-e89b-12d3-a456-426614174000", "/items/{id}"},
    {"/items/123E4567-E89B-12D3-A456-426614174000/parts", "/items/{id}/parts"},
    {"/items/123e4567-e89b-12d3-a456-42661417400", "/items/{id}"},  // not a UUID, but a long token
    {"/items/e89b-12d3", "/items/e89b-12d3"},                         // short, and '-' is not hex
    {"/blob/5f8d0d55b54764421b7156c9", "/blob/{id}"},
    {"/commit/deadbeef", "/commit/{id}"},
    {"/commit/deadbee", "/commit/deadbee"},  // 7 hex digits: too short
    {"/api/v2/users", "/api/v2/users"},
    {"/oauth2/token", "/oauth2/token"},
    {"/t/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/t/{id}"},       // ULID
    {"/s/aB3dE5fG7hJ9kL1m", "/s/{id}"},                  // 16 chars, letters and digits
    {"/s/aB3dE5fG7hJ9kL1", "/s/aB3dE5fG7hJ9kL1"},        // 15 chars
    {"/invoice-2024-01-15-0042", "/{id}"},
    {"/files/report.pdf", "/files/report.pdf"},
    {"/session/abcdefghijklmnopqrstuvwxyz", "/session/abcdefghijklmnopqrstuvwxyz"},  // no digit
    {"/a/b%2Fc/d", "/a/b%2Fc/d"},
    {"/users/-1", "/users/-1"},
    {"/a//b/", "/a//b/"},
    {"?only=query", "/"},
    {"#fragment", "/"},
    {"*", "*"},
    {"http://example.com:8080/a/42?q=1", "/a/{id}"},
    {"https://user:pw@example.com", "/"},
    {"https://example.com?x=1", "/"},
    {"/redirect?to=http://x/1", "/redirect"},
};

TEST(RouteNormalizer, follows_the_documented_rules) {
  std::string out = "previous content";
  for (const Case& c : kCases) {
    normalize_route(c.uri, out);
    EXPECT_EQ(out, c.route) << "uri: " << c.uri;
  }
}

TEST(RouteNormalizer, does_not_allocate_once_the_output_has_capacity) {
  std::string out;
  out.reserve(128);
  const char* data = out.data();
  for (const Case& c : kCases) {
    normalize_route(c.uri, out);
    EXPECT_EQ(out.data(), data);
  }
}

TEST(RouteNormalizer, bytes_outside_ascii_are_kept) {
  std::string out;
  normalize_route("/caf\xc3\xa9/\xff\x00/1", out);
  EXPECT_EQ(out, "/caf\xc3\xa9/\xff");  // the C string stops at the NUL
  normalize_route(std::string_view("/a\0b/7", 6), out);
  EXPECT_EQ(out, std::string_view("/a\0b/{id}", 9));
}

}  // namespace
}  // namespace bto
