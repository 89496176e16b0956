#pragma once
// Reads the [[family]] array of a TOML config file (see family_config.h).

#include <string>

#include <toml++/toml.h>

#include "config/family_config.h"

namespace bto {

// `node` is the value of the top-level key "family". Throws StartupError
// naming "file PATH:LINE", the family and the problem for every invalid
// definition (unknown key, bad kind or type, unparsable rule or template,
// duplicate family, empty key list, ...).
DeclaredFamilies parse_families(const toml::node& node, const std::string& path);

}  // namespace bto
