#pragma once
// The page's source files, embedded at build time (cmake/embed_text.cmake)
// from src/report/assets/.

#include <string_view>

namespace bto::report::assets {

extern const std::string_view report_html;
extern const std::string_view report_css;
extern const std::string_view report_js;

}  // namespace bto::report::assets
