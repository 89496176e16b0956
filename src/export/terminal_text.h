#pragma once
// Text from traced programs (span names, URIs, attribute values) on a
// terminal: control characters and escape sequences would move the cursor,
// clear the screen or set the window title, and bidirectional overrides would
// reorder what is shown. The console's text and tree views print them escaped.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spans/span_record.h"

namespace bto {

// Appends `text` (valid UTF-8) with C0 controls, DEL, C1 controls (U+0080 to
// U+009F) and the bidirectional embedding/override/isolate characters escaped
// as \n, \r, \t, \e, \xNN or \u{NNNN}. When `max_bytes` is exceeded, the text
// is cut at a character boundary and "…" appended. Returns whether it was cut.
bool append_terminal_safe(std::string& out, std::string_view text, size_t max_bytes = std::string::npos);

// Whether append_terminal_safe would change `text` (other than cutting it).
bool needs_terminal_escape(std::string_view text) noexcept;

// Attribute values in the text view: bare when they are one plain word,
// otherwise quoted ("...") with `"` and `\` escaped as well.
void append_text_value_quoted(std::string& out, std::string_view text, size_t max_bytes = std::string::npos);

// "server", "client", ...; "ok", "error", "unset": as the console shows them.
std::string_view kind_name(SpanKind kind) noexcept;
std::string_view status_name(StatusCode status) noexcept;

// 950ns, 39.7us, 1.83ms, 2.50s: the console's durations.
std::string format_duration_ns(uint64_t ns);
void append_duration_ns(std::string& out, uint64_t ns);

}  // namespace bto
