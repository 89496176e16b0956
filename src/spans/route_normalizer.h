#pragma once
// URI -> low-cardinality route, for metric attributes (http.route) and span
// names ("GET /users/{id}"). Pure and allocation-free once `out` has grown.
//
// Rules (docs/metrics.md has the table of examples):
//   - "scheme://authority" in front is dropped, then the query ("?...") and
//     the fragment ("#...") are cut; an empty path becomes "/".
//   - every '/'-separated segment that looks like an identifier becomes
//     "{id}":
//       * a decimal number                     42, 2024
//       * a UUID (8-4-4-4-12 hex digits)        123e4567-e89b-12d3-a456-426614174000
//       * a hex string of at least 8 digits     5f8d0d55b547, deadbeef
//       * a token of at least 16 characters from [A-Za-z0-9_.~-] with at
//         least one digit and one letter       (ULIDs, base62/base64url ids,
//                                               "invoice-2024-01-15-0042")
//   - everything else is kept byte for byte (short words with digits such as
//     "v2" or "oauth2" are route structure, not ids).

#include <string>
#include <string_view>

namespace bto {

// Replaces `out` with the route of `path`.
void normalize_route(std::string_view path, std::string& out);

}  // namespace bto
