# Every dependency is a Debian 12 package; a missing one stops the configure step and names
# the package to install (scripts/install-deps.sh installs them all).
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(rollcall_require_pkg name module debian)
  pkg_check_modules(${name} IMPORTED_TARGET ${module})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debian}")
  endif()
endfunction()

rollcall_require_pkg(CURL libcurl libcurl4-openssl-dev)
rollcall_require_pkg(CJSON libcjson libcjson-dev)
rollcall_require_pkg(GPS libgps libgps-dev)
rollcall_require_pkg(SQLITE3 sqlite3 libsqlite3-dev)
rollcall_require_pkg(MHD libmicrohttpd libmicrohttpd-dev)
rollcall_require_pkg(PQ libpq libpq-dev)
rollcall_require_pkg(ZLIB zlib zlib1g-dev)
rollcall_require_pkg(XLSXWRITER xlsxwriter libxlsxwriter-dev)
# Argon2id for people's passwords (server/http/password.c): the reference implementation.
rollcall_require_pkg(ARGON2 libargon2 libargon2-dev)
# OpenSSL's libcrypto: SHA-256 of recording files uses the CPU's SHA extensions (agent/record.c),
# ECDSA verification of batch signatures is ~35x faster than mbedTLS 2.28 (core/crypto.c);
# libcurl4-openssl-dev depends on it anyway.
rollcall_require_pkg(LIBCRYPTO libcrypto libssl-dev)
# sd_notify (READY, WATCHDOG, STOPPING) for Type=notify units: the collector's serve and the
# kiosk daemon. libgps already maps libsystemd.so.0 into the daemon, so it costs nothing there.
rollcall_require_pkg(SYSTEMD libsystemd libsystemd-dev)
rollcall_require_pkg(PROJ proj libproj-dev)  # Karney geodesics (geodesic.h)
# core/geodesy.c loads PROJ with dlopen on first need (it is not linked; see there): the
# soname comes from the library pkg-config points at (libproj.so -> libproj.so.25.x).
find_library(PROJ_LIBRARY_FILE proj HINTS ${PROJ_LIBRARY_DIRS})
if(PROJ_LIBRARY_FILE)
  file(REAL_PATH ${PROJ_LIBRARY_FILE} _proj_real)
  get_filename_component(_proj_name ${_proj_real} NAME)
  string(REGEX MATCH "^libproj\\.so\\.[0-9]+" PROJ_SONAME "${_proj_name}")
endif()
if(NOT PROJ_SONAME)
  message(FATAL_ERROR "cannot work out libproj's soname from '${PROJ_LIBRARY_FILE}': apt-get install libproj-dev")
endif()

# mbedTLS 2.28 ships no pkg-config file on Debian 12.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/version.h)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto)
find_library(MBEDX509_LIBRARY mbedx509)
find_library(MBEDTLS_LIBRARY mbedtls)
if(NOT MBEDTLS_INCLUDE_DIR OR NOT MBEDCRYPTO_LIBRARY OR NOT MBEDX509_LIBRARY OR NOT MBEDTLS_LIBRARY)
  message(FATAL_ERROR "mbedTLS not found: apt-get install libmbedtls-dev")
endif()
add_library(mbedtls::crypto UNKNOWN IMPORTED)
set_target_properties(mbedtls::crypto PROPERTIES IMPORTED_LOCATION ${MBEDCRYPTO_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${MBEDTLS_INCLUDE_DIR})
add_library(mbedtls::x509 UNKNOWN IMPORTED)
set_target_properties(mbedtls::x509 PROPERTIES IMPORTED_LOCATION ${MBEDX509_LIBRARY}
  INTERFACE_LINK_LIBRARIES mbedtls::crypto)
add_library(mbedtls::tls UNKNOWN IMPORTED)
set_target_properties(mbedtls::tls PROPERTIES IMPORTED_LOCATION ${MBEDTLS_LIBRARY}
  INTERFACE_LINK_LIBRARIES mbedtls::x509)

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
