#pragma once
// Redaction of secrets in a process's command line, for everything we log or
// export about a process (process.command_args, the "starting bpftrace ..."
// log line). One rule, used everywhere:
//
// An argument's *name* is secret-looking when, lower-cased with '-' and '.'
// read as '_', it contains one of kSecretWords (password, passwd, passphrase,
// secret, token, apikey, api_key, accesskey, access_key, privatekey,
// private_key, credential, cookie, sessionid, session_id, signature) or has a
// segment between '_' that is exactly one of pass, pwd, auth, authorization,
// key, sig.
// Then the *value* becomes "REDACTED"; the name stays, so the reader still
// sees what was configured:
//
//   --password=hunter2        -> --password=REDACTED
//   --api-key hunter2         -> --api-key REDACTED     (the next argument,
//                                unless it starts with "--": then it is an option)
//   PGPASSWORD=hunter2        -> PGPASSWORD=REDACTED    (env-style NAME=VALUE)
//   "Authorization: Bearer x" -> "Authorization: REDACTED"   (header-style NAME: VALUE)
//   https://u:pw@h/p?token=x&a=1 -> https://REDACTED:REDACTED@h/p?token=REDACTED&a=1
//
// URLs are recognised anywhere in an argument (scheme "://"): user
// information is replaced (both user and password, as the OTel semantic
// conventions ask for url.full), and so is every query parameter whose name
// is secret-looking. Values are replaced whole, so their length is not
// revealed either. A value glued to a short option (mysql -phunter2) cannot
// be told from other options and is NOT redacted: pass secrets in files or
// in the environment, never on a command line (`ps` shows it to every user).

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bto {

inline constexpr std::string_view kRedacted = "REDACTED";

// The rule above for one name (without leading dashes).
bool is_secret_name(std::string_view name);

// Each argument redacted, argv[0] included; the count never changes.
std::vector<std::string> redact_command_args(std::span<const std::string> args);

// `args` redacted and joined with single spaces (the log lines).
std::string redact_command_line(std::span<const std::string> args);

// Redacts one argument on its own (URLs, NAME=VALUE, NAME: VALUE); it cannot
// see a value that follows in the next argument.
std::string redact_argument(std::string_view arg);

}  // namespace bto
