# Installation of everything but the binary (src/CMakeLists.txt installs that),
# and the Debian package:
#
#   cmake --install build                 # prefix /usr/local by default
#   (cd build && cpack -G DEB)            # bpftrace-otel_<version>_<arch>.deb, prefix /usr
#
# Included from the top-level CMakeLists.txt after project().
include_guard(GLOBAL)
include(GNUInstallDirs)

set(BTO_PACKAGE_MAINTAINER "bpftrace-otel maintainers <maintainers@bpftrace-otel.invalid>"
    CACHE STRING "Maintainer field of the Debian package")
# Fixed, not under the prefix: the unit's EnvironmentFile= names it.
set(BTO_DEFAULT_FILE "/etc/default/bpftrace-otel")

set(_bto_source ${PROJECT_SOURCE_DIR})
set(_bto_generated ${PROJECT_BINARY_DIR}/packaging)

# ---- systemd unit, with ExecStart= pointing at the installed binary. The prefix
# is only known at install time (/usr/local for cmake --install, /usr for the
# .deb), so the unit is written then.
install(CODE "
  file(READ \"${_bto_source}/deploy/systemd/bpftrace-otel.service\" _bto_unit)
  string(REPLACE \"ExecStart=/usr/bin/bpftrace-otel\"
                 \"ExecStart=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/bpftrace-otel\"
                 _bto_unit \"\${_bto_unit}\")
  file(WRITE \"${_bto_generated}/bpftrace-otel.service\" \"\${_bto_unit}\")
")
install(FILES ${_bto_generated}/bpftrace-otel.service
        DESTINATION lib/systemd/system)

# ---- /etc/default/bpftrace-otel: root-only (it may hold OTLP header secrets).
# cmake --install never overwrites an edited copy; the .deb marks it a conffile.
install(CODE "
  if(EXISTS \"\$ENV{DESTDIR}${BTO_DEFAULT_FILE}\")
    message(STATUS \"Keeping existing: \$ENV{DESTDIR}${BTO_DEFAULT_FILE}\")
  else()
    # file(INSTALL) prepends DESTDIR itself.
    file(INSTALL \"${_bto_source}/deploy/systemd/bpftrace-otel.default\"
         DESTINATION /etc/default
         RENAME bpftrace-otel
         PERMISSIONS OWNER_READ OWNER_WRITE)
  endif()
")

# ---- Example scripts, and the target finder used by the container images.
install(DIRECTORY ${_bto_source}/examples/scripts/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bpftrace-otel/scripts
        FILES_MATCHING PATTERN "*.bt")
install(PROGRAMS ${_bto_source}/deploy/bto-find-target
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bpftrace-otel)

# ---- Documentation (the helpers' brief is not user documentation).
file(GLOB _bto_docs ${_bto_source}/docs/*.md)
list(FILTER _bto_docs EXCLUDE REGEX "HELPERS-BRIEF\\.md$")
foreach(_bto_doc ${_bto_source}/README.md ${_bto_source}/LICENSE)
  if(EXISTS ${_bto_doc})
    list(APPEND _bto_docs ${_bto_doc})
  endif()
endforeach()
install(FILES ${_bto_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- CPack: Debian package
set(CPACK_PACKAGE_NAME "bpftrace-otel")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "bpftrace-otel")
set(CPACK_PACKAGE_CONTACT "${BTO_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "bpftrace to OpenTelemetry traces exporter")
set(CPACK_PACKAGE_DESCRIPTION
    "Runs a bpftrace script against a process (USDT probes, uprobes, tracepoints),\n\
pairs the start and end events it prints into spans, and exports them as\n\
OpenTelemetry traces over OTLP/HTTP (protobuf or JSON) or to the console.\n\
Ships example scripts and a hardened systemd unit.")
set(CPACK_GENERATOR "DEB")
set(CPACK_STRIP_FILES ON)
# The .deb installs to /usr, and /etc/default is an absolute destination:
# install with DESTDIR into the staging tree so both land where they belong.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${BTO_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "utils")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Shared-library Depends computed by dpkg-shlibdeps from the binary (libcurl4,
# libsimdjson14, libspdlog1.10, libfmt9, zlib1g, libstdc++6, libc6, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# bpftrace is run, not linked: live tracing (the main use) cannot work without
# it, so it is a Depends, not a Recommends. 0.17 is the version tested.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "bpftrace (>= 0.17)")
# To verify an https:// collector.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")

# Maintainer scripts: tell systemd about the unit; never start it (it needs a
# BPF_SCRIPT first). conffiles keeps an edited /etc/default file on upgrade.
file(WRITE ${_bto_generated}/conffiles "${BTO_DEFAULT_FILE}\n")
file(WRITE ${_bto_generated}/postinst
"#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
")
file(WRITE ${_bto_generated}/postrm
"#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
")
file(WRITE ${_bto_generated}/prerm
"#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ \"$1\" = remove ]; then
  systemctl stop bpftrace-otel.service >/dev/null 2>&1 || true
fi
exit 0
")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_bto_generated}/conffiles ${_bto_generated}/postinst ${_bto_generated}/postrm
    ${_bto_generated}/prerm)
# Gives the maintainer scripts mode 0755 and conffiles 0644, as dpkg expects.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
